"""What a typed "ja" answers: the offer in the assistant's last message.

Customers often type "ja, bitte" instead of pressing the button the assistant just offered
("Wenn Sie möchten, verbinde ich Sie mit einer Kollegin …" → "ja gerne"). Answering that with
"Gern. Was möchten Sie wissen?" ignores what they agreed to. The offer is read from the bot
messages of the turn before the "ja" (Rasa's ``bot`` events, whose ``data`` holds the buttons):

* the last message offers exactly one thing (one button): the "ja" takes it, as a click would;
  except under a FAQ answer that does not ask about it: there the button is an offer beside the
  answer, and "ja" more likely means "ok, verstanden" (so it is asked, as for several);
* it offers several: ask which one, with the same buttons again;
* it offers nothing: a plain "ja" without anything to agree to.

"Nichts davon" (``/out_of_scope``) is never what a "ja" agrees to.

Plain Python; ``actions/affirm.py`` turns the result into events.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bot.dialogue.facets import fold

NONE_OF_THESE = "/out_of_scope"
# A message that asks about its offer: a question, "Wenn Sie möchten, rechne ich …",
# "Möchten Sie …", "Soll ich …".
_INVITES = re.compile(r"\?|wenn sie\b[^.!?]*\bmoechten|moechten sie|soll ich")


@dataclass(frozen=True)
class Agreement:
    """What the "ja" agrees to.

    Attributes:
        kind: ``take`` (the one offer, ``payload``), ``choose`` (one of ``buttons``) or
            ``nothing`` (no offer was open).
        payload: the offer taken (a button payload such as ``/human_handoff``).
        buttons: the offers to choose from (``title``/``payload`` mappings).
    """

    kind: Literal["take", "choose", "nothing"]
    payload: str | None = None
    buttons: tuple[Mapping[str, str], ...] = ()


def _buttons(event: Mapping[str, Any]) -> list[Mapping[str, str]]:
    data = event.get("data") or {}
    buttons = data.get("buttons") if isinstance(data, Mapping) else None
    return [
        b
        for b in buttons or []
        if isinstance(b, Mapping)
        and isinstance(b.get("payload"), str)
        and b["payload"].startswith("/")
        and b["payload"] != NONE_OF_THESE
    ]


def last_offer(events: Sequence[Mapping[str, Any]]) -> Agreement:
    """The offer a "ja" (the newest user event of ``events``) agrees to."""
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if not users:
        return Agreement("nothing")
    previous_user = users[-2] if len(users) > 1 else -1
    bots = [e for e in events[previous_user + 1 : users[-1]] if e.get("event") == "bot"]
    if not bots:
        return Agreement("nothing")
    last = bots[-1]
    offers = _buttons(last)
    metadata = last.get("metadata") or {}
    beside_an_answer = isinstance(metadata, Mapping) and bool(metadata.get("faq_id"))
    asks = bool(_INVITES.search(fold(str(last.get("text") or ""))))
    if len(offers) == 1 and (asks or not beside_an_answer):
        return Agreement("take", payload=str(offers[0]["payload"]))
    if offers:
        return Agreement("choose", buttons=tuple(offers))
    return Agreement("nothing")
