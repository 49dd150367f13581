"""Settings of the social channels, read once from the environment (``shared/contracts.md`` 5).

While ``META_APP_SECRET`` is unset the channels are off (:func:`get_meta_settings` returns None
and the webhook routes answer ``404``). Once it is set, the other variables are required; a
missing one is reported with its name rather than failing later at the first message.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

# The Graph API version is part of GRAPH_API_URL (".../v24.0"): Meta changes payloads between
# versions, so an unversioned URL would silently follow the newest one.
_VERSIONED = re.compile(r"https?://[^/\s]+(/[^\s]*)?/v[0-9]+\.[0-9]+")
DEFAULT_GRAPH_API_URL: Final = "https://graph.facebook.com/v24.0"


class MetaSettingsError(ValueError):
    """A Meta setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class MetaSettings:
    """The Meta app, the WhatsApp number and the Messenger page.

    Attributes:
        app_secret: ``META_APP_SECRET``, the key of the webhook signatures.
        verify_token: ``META_VERIFY_TOKEN``, echoed check when the webhook is registered.
        access_token: ``META_ACCESS_TOKEN``, the bearer token of every Graph API call.
        graph_api_url: ``GRAPH_API_URL`` with the pinned version, no trailing slash.
        whatsapp_phone_number_id: ``WHATSAPP_PHONE_NUMBER_ID``; None: WhatsApp is off.
        messenger_page_id: ``MESSENGER_PAGE_ID``; None: Messenger is off.
    """

    app_secret: str
    verify_token: str
    access_token: str
    graph_api_url: str = DEFAULT_GRAPH_API_URL
    whatsapp_phone_number_id: str | None = None
    messenger_page_id: str | None = None
    # WHATSAPP_TEMPLATES: names of approved templates the console offers once the 24-hour
    # window has closed (comma-separated); ABUSE_BLOCK_HOURS: an agent's default block.
    whatsapp_templates: tuple[str, ...] = ()
    block_hours: float = 168.0

    @property
    def api_version(self) -> str:
        """The pinned version, e.g. ``v24.0``."""
        return self.graph_api_url.rsplit("/", 1)[-1]

    def __repr__(self) -> str:
        # The secrets never reach a log or a traceback.
        return (
            f"MetaSettings(graph_api_url={self.graph_api_url!r}, "
            f"whatsapp_phone_number_id={self.whatsapp_phone_number_id!r}, "
            f"messenger_page_id={self.messenger_page_id!r}, secrets=***)"
        )


def meta_settings_from(environ: Mapping[str, str]) -> MetaSettings | None:
    """Read the settings from ``environ``.

    Returns:
        None while ``META_APP_SECRET`` is unset or empty (the channels are off).

    Raises:
        MetaSettingsError: a required variable is missing, ``GRAPH_API_URL`` has no pinned
            version, or neither a phone number id nor a page id is set.
    """
    secret = environ.get("META_APP_SECRET", "").strip()
    if not secret:
        return None
    problems: list[str] = []
    verify_token = environ.get("META_VERIFY_TOKEN", "").strip()
    access_token = environ.get("META_ACCESS_TOKEN", "").strip()
    for name, value in (("META_VERIFY_TOKEN", verify_token), ("META_ACCESS_TOKEN", access_token)):
        if not value:
            problems.append(f"{name} must be set when META_APP_SECRET is set")
    url = environ.get("GRAPH_API_URL", "").strip().rstrip("/") or DEFAULT_GRAPH_API_URL
    if not _VERSIONED.fullmatch(url):
        problems.append(
            f"GRAPH_API_URL must end with the pinned API version, e.g. {DEFAULT_GRAPH_API_URL}"
        )
    phone_id = environ.get("WHATSAPP_PHONE_NUMBER_ID", "").strip() or None
    page_id = environ.get("MESSENGER_PAGE_ID", "").strip() or None
    if phone_id is None and page_id is None:
        problems.append("set WHATSAPP_PHONE_NUMBER_ID, MESSENGER_PAGE_ID or both")
    for name, number in (("WHATSAPP_PHONE_NUMBER_ID", phone_id), ("MESSENGER_PAGE_ID", page_id)):
        if number is not None and not number.isdigit():
            problems.append(f"{name} must be the numeric id Meta shows, not {number[:20]!r}")
    templates = tuple(
        name.strip() for name in environ.get("WHATSAPP_TEMPLATES", "").split(",") if name.strip()
    )
    block_hours = 168.0
    raw_hours = environ.get("ABUSE_BLOCK_HOURS", "").strip()
    if raw_hours:
        try:
            block_hours = float(raw_hours)
        except ValueError:
            block_hours = 0.0
        if not 0 < block_hours <= 90 * 24:
            problems.append("ABUSE_BLOCK_HOURS must be a number of hours from 1 to 2160")
    if problems:
        raise MetaSettingsError("; ".join(problems))
    return MetaSettings(
        whatsapp_templates=templates,
        block_hours=block_hours,
        app_secret=secret,
        verify_token=verify_token,
        access_token=access_token,
        graph_api_url=url,
        whatsapp_phone_number_id=phone_id,
        messenger_page_id=page_id,
    )


@lru_cache(maxsize=1)
def get_meta_settings() -> MetaSettings | None:
    """The settings of this process (read from the environment on first call)."""
    return meta_settings_from(os.environ)
