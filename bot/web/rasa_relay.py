"""The web app's client of the Rasa server (the ``rest_meta`` channel).

One ``httpx.AsyncClient`` per app, ``timeout=`` on every call, one retry on a connection error
(a restarting Rasa server). Errors::

    RasaError
     ├── RasaUnavailable   Rasa cannot be reached, timed out, or answered 5xx
     └── RasaRejected      Rasa answered 4xx (the web app sent something invalid)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

# A turn includes NLU, the action server and possibly the calculator: normally < 0.1 s, but a
# cold model or a slow calculator (3 s client timeout plus retries) may take a few seconds.
TIMEOUT = httpx.Timeout(15.0, connect=2.0)
_CONTENT = ("text", "buttons", "image", "custom")


class RasaError(Exception):
    """The Rasa server could not handle a message."""


class RasaUnavailable(RasaError):
    """Rasa cannot be reached, timed out, or failed (5xx)."""


class RasaRejected(RasaError):
    """Rasa answered 4xx."""


@dataclass(frozen=True)
class BotMessage:
    """One bot message of a turn, with its metadata (``faq_id``, ``handoff``, ``decision``, …)."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)


class RasaRelay:
    """Sends a customer message to Rasa and returns the bot's messages."""

    def __init__(self, base_url: str, client: httpx.AsyncClient | None = None) -> None:
        self._url = base_url.rstrip("/") + "/webhooks/rest_meta/webhook"
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT)

    async def send(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        """Relay one message; returns the bot's answer messages in order."""
        body = {"sender": sender, "message": text, "metadata": metadata or {}}
        for attempt in (1, 2):
            try:
                response = await self._client.post(self._url, json=body, timeout=TIMEOUT)
                break
            except httpx.ConnectError as exc:
                if attempt == 2:
                    raise RasaUnavailable(f"Rasa not reachable: {exc}") from exc
            except httpx.HTTPError as exc:
                raise RasaUnavailable(f"Rasa failed: {exc}") from exc
        if response.status_code >= 500:
            raise RasaUnavailable(f"Rasa answered {response.status_code}")
        if response.status_code >= 400:
            raise RasaRejected(f"Rasa answered {response.status_code}: {response.text[:200]}")
        try:
            items = response.json()
        except ValueError as exc:
            raise RasaUnavailable("Rasa answered no JSON") from exc
        messages = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not item.get("text"):
                continue
            messages.append(
                BotMessage(
                    text=str(item["text"]),
                    buttons=[b for b in item.get("buttons") or [] if isinstance(b, dict)],
                    metadata=dict(item.get("metadata") or {}),
                )
            )
        return messages

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()
