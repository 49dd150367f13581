"""Masking of personal data in every customer message the Rasa server receives (issue 6).

The web app relays customer texts masked (``bot.privacy.mask``), but Rasa's REST channels can be
used directly (``/webhooks/rest/webhook``, ``/webhooks/rest_meta/webhook``, the HTTP API's
``POST /conversations/{id}/messages``): their texts would reach the tracker store, and with it
PostgreSQL, as typed. :func:`install` makes every ``UserMessage`` mask its text when it is
created, whichever channel created it, so the tracker, slot values and NLU only ever see
``[IBAN]``, ``[E-Mail]``, ``[Telefon]`` and the like. Masking is idempotent: a text the web app
masked already passes unchanged.

Not covered: events posted as such through Rasa's HTTP API (``POST``/``PUT
/conversations/{id}/tracker/events``), an operators' tool that requires ``RASA_TOKEN`` when set.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import UserMessage

from bot.privacy import mask

_rasa_init = UserMessage.__init__
_MARK = "_stadtwerk_masking"


def _init(self: UserMessage, text: str | None = None, *args: Any, **kwargs: Any) -> None:
    """Rasa's ``UserMessage.__init__`` with the text masked."""
    _rasa_init(self, mask(text) if isinstance(text, str) else text, *args, **kwargs)


def install() -> None:
    """Mask the text of every ``UserMessage`` in this process (idempotent)."""
    if getattr(UserMessage.__init__, _MARK, False):
        return
    setattr(_init, _MARK, True)
    UserMessage.__init__ = _init
