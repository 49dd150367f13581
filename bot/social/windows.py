"""The messaging windows: when a business may still write to a customer, and how.

* **WhatsApp** (customer service window): free-form messages (text, buttons, media) only
  within 24 hours of the customer's last message; afterwards the Cloud API refuses them
  with error 131047 and only an approved **template** may be sent, which opens a new window
  once the customer answers.
* **Messenger** (standard messaging): 24 hours after the customer's last message; a reply by
  a **person** may still be sent up to **7 days** after it with the tag ``HUMAN_AGENT``
  (never for the assistant's automatic answers). Afterwards nothing may be sent (10/2018278).
* **Web**: the widget has no window.

Whatever the channel, a **callback** (the ticket form of the web app, answered by phone or
e-mail) stays possible when the customer left a contact, so the console offers it instead of
failing silently.

Every function takes ``now`` (an aware datetime): the web app's clock is injectable.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Final

from bot.social.events import Channel

WHATSAPP_WINDOW: Final = timedelta(hours=24)
MESSENGER_WINDOW: Final = timedelta(hours=24)
MESSENGER_HUMAN_AGENT_WINDOW: Final = timedelta(days=7)
HUMAN_AGENT_TAG: Final = "HUMAN_AGENT"
_BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


class Sender(str, Enum):
    """Who writes: the assistant (automatic) or a person in the agents' console."""

    ASSISTANT = "assistant"
    AGENT = "agent"


class Alternative(str, Enum):
    """What is still possible once free-form messages are no longer allowed."""

    TEMPLATE = "template"  # WhatsApp: an approved message template
    CALLBACK = "callback"  # a callback ticket: phone or e-mail, outside the channel


@dataclass(frozen=True)
class Window:
    """Whether a message may be sent now, and until when.

    Attributes:
        channel: the conversation's channel.
        open: free-form messages by this sender are allowed now.
        closes_at: when that ends (None: never, or no customer message yet).
        tag: the Messenger tag the message must carry (``HUMAN_AGENT``), else None.
        alternatives: what to offer while closed (empty while open).
    """

    channel: Channel
    open: bool
    closes_at: datetime | None
    tag: str | None = None
    alternatives: tuple[Alternative, ...] = ()

    def remaining(self, now: datetime) -> timedelta | None:
        """Time left while open (None without an end)."""
        if not self.open or self.closes_at is None:
            return None
        return max(self.closes_at - now, timedelta(0))

    def describe(self, now: datetime, zone: zoneinfo.ZoneInfo = _BERLIN) -> str:
        """German text for the agents' console.

        For example ``"Antwort möglich bis 14:32 Uhr (noch 3 Std. 5 Min.)"`` while open, or
        what is still possible once the window has closed.
        """
        if self.channel is Channel.WEB:
            return "Webchat: Antwort jederzeit möglich"
        if self.open:
            if self.closes_at is None:
                return "Antwort möglich"
            span = _span(self.remaining(now) or timedelta(0))
            local = self.closes_at.astimezone(zone)
            day = "" if local.date() == now.astimezone(zone).date() else f" {local:%d.%m.},"
            tagged = " (als persönliche Antwort)" if self.tag else ""
            return f"Antwort möglich{tagged} bis{day} {local:%H:%M} Uhr (noch {span})"
        offers = {
            Alternative.TEMPLATE: "eine freigegebene Vorlage senden",
            Alternative.CALLBACK: "einen Rückruf anlegen",
        }
        possible = " oder ".join(offers[a] for a in self.alternatives)
        closed = "Antwortfenster geschlossen"
        if self.closes_at is not None:
            local = self.closes_at.astimezone(zone)
            closed += f" seit {local:%d.%m. %H:%M} Uhr"
        return f"{closed} – möglich: {possible}" if possible else closed


def _span(left: timedelta) -> str:
    """German duration: "25 Min.", "3 Std. 5 Min.", "1 Tag 4 Std.", "5 Tage"."""
    minutes = int(left.total_seconds()) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        text = f"{days} {'Tag' if days == 1 else 'Tage'}"
        return f"{text} {hours} Std." if hours else text
    return f"{hours} Std. {minutes} Min." if hours else f"{minutes} Min."


def window(
    channel: Channel,
    last_customer_message_at: datetime | None,
    now: datetime,
    sender: Sender = Sender.ASSISTANT,
) -> Window:
    """The window for a message by ``sender`` to a customer of ``channel`` at ``now``.

    Args:
        channel: the conversation's channel.
        last_customer_message_at: when the customer last wrote (aware); None if never.
        now: the current time (aware).
        sender: the assistant or a person.

    Raises:
        ValueError: a naive datetime.
    """
    for moment in (now, last_customer_message_at):
        if moment is not None and moment.utcoffset() is None:
            raise ValueError("times must be timezone-aware")
    if channel is Channel.WEB:
        return Window(channel, True, None)
    if last_customer_message_at is None:
        closed_alternatives = (
            (Alternative.TEMPLATE, Alternative.CALLBACK)
            if channel is Channel.WHATSAPP
            else (Alternative.CALLBACK,)
        )
        return Window(channel, False, None, alternatives=closed_alternatives)
    if channel is Channel.WHATSAPP:
        closes = last_customer_message_at + WHATSAPP_WINDOW
        if now < closes:
            return Window(channel, True, closes)
        return Window(
            channel, False, closes, alternatives=(Alternative.TEMPLATE, Alternative.CALLBACK)
        )
    standard = last_customer_message_at + MESSENGER_WINDOW
    if now < standard:
        return Window(channel, True, standard)
    human = last_customer_message_at + MESSENGER_HUMAN_AGENT_WINDOW
    if sender is Sender.AGENT and now < human:
        return Window(channel, True, human, tag=HUMAN_AGENT_TAG)
    closes = human if sender is Sender.AGENT else standard
    return Window(channel, False, closes, alternatives=(Alternative.CALLBACK,))
