"""Send API bodies for WhatsApp and Messenger: text, reply buttons, lists, quick replies.

The assistant answers with Markdown text and buttons (title + Rasa payload), as in the web
widget. :func:`reply_messages` turns one such answer into the messages a channel can show,
within Meta's limits:

WhatsApp (Cloud API, ``interactive`` messages):
    * up to 3 **reply buttons**, titles at most 20 characters, ids at most 256;
    * 4 to 10 choices as a **list message**: a button (at most 20 characters) opens up to 10
      rows, row titles at most 24 characters, descriptions 72 (a longer title moves there);
    * the body of an interactive message has at most 1,024 characters, a text message 4,096:
      a longer answer goes first as text, the choices follow with a short prompt.
Messenger (Send API):
    * up to 13 **quick replies**, titles at most 20 characters, payloads at most 1,000;
    * text at most 2,000 characters;
    * ``messaging_type: RESPONSE`` within 24 hours of the customer's last message; a person's
      reply later (up to 7 days) carries ``MESSAGE_TAG`` with the tag ``HUMAN_AGENT``;
    * an agent's reply can show their alias and avatar as a *persona* (``persona_id``).

Titles are cut at a word where possible and end with "…"; WhatsApp refuses two buttons or
rows with the same title, so duplicates get a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from bot.social.events import Channel
from bot.social.formatting import Style, to_channel_text
from bot.social.graph import Outgoing

WA_TEXT_LIMIT: Final = 4096
WA_INTERACTIVE_BODY_LIMIT: Final = 1024
WA_BUTTON_TITLE_LIMIT: Final = 20
WA_BUTTON_ID_LIMIT: Final = 256
WA_MAX_BUTTONS: Final = 3
WA_LIST_BUTTON_LIMIT: Final = 20
WA_ROW_TITLE_LIMIT: Final = 24
WA_ROW_DESCRIPTION_LIMIT: Final = 72
WA_MAX_ROWS: Final = 10
MS_TEXT_LIMIT: Final = 2000
MS_QUICK_REPLY_TITLE_LIMIT: Final = 20
MS_QUICK_REPLY_PAYLOAD_LIMIT: Final = 1000
MS_MAX_QUICK_REPLIES: Final = 13

# German words of the channel's own controls.
LIST_BUTTON: Final = "Auswahl anzeigen"
LIST_SECTION: Final = "Themen"
CHOICE_PROMPT: Final = "Bitte wählen Sie:"


@dataclass(frozen=True)
class Button:
    """A choice the assistant offers: the words shown and the payload sent back."""

    title: str
    payload: str


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to ``limit`` characters at a word boundary where possible, ending in "…"."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–") + "…"


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into parts of at most ``limit`` characters, at paragraphs, lines or words."""
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", ". ", " "):
            cut = window.rfind(separator, 0, limit)
            if cut > limit // 3:
                cut += 1 if separator == ". " else 0
                break
        if cut <= 0:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def _unique(titles: Sequence[str], limit: int) -> list[str]:
    seen: dict[str, int] = {}
    result: list[str] = []
    for title in titles:
        candidate = title
        while candidate in seen:
            seen[title] += 1
            suffix = f" ({seen[title]})"
            candidate = shorten(title, limit - len(suffix)) + suffix
        seen.setdefault(candidate, 1)
        result.append(candidate)
    return result


# --- WhatsApp -----------------------------------------------------------------------------------


def whatsapp_text(to: str, body: str, *, preview_url: bool = False) -> Outgoing:
    """A WhatsApp text message (``body`` at most 4,096 characters, longer is cut)."""
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body[:WA_TEXT_LIMIT], "preview_url": preview_url},
    }
    return Outgoing(Channel.WHATSAPP, to, payload)


def whatsapp_choices(to: str, body: str, buttons: Sequence[Button]) -> Outgoing:
    """Reply buttons (up to 3) or a list message (4 to 10; more are left out).

    Args:
        to: the customer's wa_id.
        body: the text above the choices, at most 1,024 characters (cut beyond).
        buttons: at least one choice.
    """
    if not buttons:
        raise ValueError("whatsapp_choices needs at least one button")
    body = body[:WA_INTERACTIVE_BODY_LIMIT] or CHOICE_PROMPT
    interactive: dict[str, Any]
    if len(buttons) <= WA_MAX_BUTTONS:
        titles = _unique([shorten(b.title, WA_BUTTON_TITLE_LIMIT) for b in buttons],
                         WA_BUTTON_TITLE_LIMIT)  # fmt: skip
        interactive = {
            "type": "button",
            "body": {"text": body},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": b.payload[:WA_BUTTON_ID_LIMIT], "title": t}}
                    for b, t in zip(buttons, titles, strict=False)
                ]
            },
        }
    else:
        chosen = buttons[:WA_MAX_ROWS]
        titles = _unique([shorten(b.title, WA_ROW_TITLE_LIMIT) for b in chosen], WA_ROW_TITLE_LIMIT)
        rows: list[dict[str, str]] = []
        for button, title in zip(chosen, titles, strict=False):
            row = {"id": button.payload[:WA_BUTTON_ID_LIMIT], "title": title}
            if title != " ".join(button.title.split()):  # cut: the whole title as description
                row["description"] = shorten(button.title, WA_ROW_DESCRIPTION_LIMIT)
            rows.append(row)
        interactive = {
            "type": "list",
            "body": {"text": body},
            "action": {
                "button": LIST_BUTTON[:WA_LIST_BUTTON_LIMIT],
                "sections": [{"title": LIST_SECTION, "rows": rows}],
            },
        }
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "interactive",
        "interactive": interactive,
    }
    return Outgoing(Channel.WHATSAPP, to, payload)


def whatsapp_template(
    to: str, name: str, *, language: str = "de", parameters: Sequence[str] = ()
) -> Outgoing:
    """An approved template: the only message allowed once the 24-hour window has closed.

    Args:
        to: the customer's wa_id.
        name: the template's name as approved in WhatsApp Manager.
        language: the template's language code.
        parameters: texts for the body's ``{{1}}``, ``{{2}}``, ...
    """
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if parameters:
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
        ]
    payload = {"messaging_product": "whatsapp", "to": to, "type": "template", "template": template}
    return Outgoing(Channel.WHATSAPP, to, payload)


# --- Messenger ----------------------------------------------------------------------------------


def messenger_text(
    psid: str,
    text: str,
    *,
    buttons: Sequence[Button] = (),
    human_agent: bool = False,
    persona_id: str | None = None,
) -> Outgoing:
    """A Messenger message, with quick replies when ``buttons`` are given (13 at most).

    Args:
        psid: the customer's page-scoped id.
        text: at most 2,000 characters (cut beyond).
        buttons: choices shown as quick replies.
        human_agent: send with the ``HUMAN_AGENT`` tag (a person's reply after 24 hours).
        persona_id: the agent's persona (alias and avatar) to show as sender.
    """
    message: dict[str, Any] = {"text": text[:MS_TEXT_LIMIT]}
    if buttons:
        chosen = buttons[:MS_MAX_QUICK_REPLIES]
        titles = _unique([shorten(b.title, MS_QUICK_REPLY_TITLE_LIMIT) for b in chosen],
                         MS_QUICK_REPLY_TITLE_LIMIT)  # fmt: skip
        message["quick_replies"] = [
            {
                "content_type": "text",
                "title": t,
                "payload": b.payload[:MS_QUICK_REPLY_PAYLOAD_LIMIT],
            }
            for b, t in zip(chosen, titles, strict=False)
        ]
    payload: dict[str, Any] = {"recipient": {"id": psid}, "message": message}
    if human_agent:
        payload.update(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    else:
        payload["messaging_type"] = "RESPONSE"
    if persona_id:
        payload["persona_id"] = persona_id
    return Outgoing(Channel.MESSENGER, psid, payload)


# --- one answer ---------------------------------------------------------------------------------


def reply_messages(
    channel: Channel,
    contact_id: str,
    markdown: str,
    buttons: Sequence[Button] = (),
    *,
    site_url: str | None = None,
    human_agent: bool = False,
    persona_id: str | None = None,
) -> list[Outgoing]:
    """The messages that carry one answer (Markdown text and buttons) on a channel, in order.

    Args:
        channel: WHATSAPP or MESSENGER.
        contact_id: wa_id or PSID.
        markdown: the answer's text.
        buttons: its choices.
        site_url: the utility's website, for links to its pages.
        human_agent: Messenger: a person's reply sent with the HUMAN_AGENT tag.
        persona_id: Messenger: the agent's persona.

    Returns:
        Text messages (split at the channel's limit), the choices with the last part of the
        text (or a short prompt when that part is too long for an interactive body).
    """
    if channel is Channel.WHATSAPP:
        text = to_channel_text(markdown, Style.WHATSAPP, site_url=site_url)
        parts = split_text(text, WA_TEXT_LIMIT) if text else []
        if not buttons:
            return [whatsapp_text(contact_id, part) for part in parts]
        if parts and len(parts[-1]) <= WA_INTERACTIVE_BODY_LIMIT:
            last = parts.pop()
        else:
            last = CHOICE_PROMPT
        out = [whatsapp_text(contact_id, part) for part in parts]
        out.append(whatsapp_choices(contact_id, last, buttons))
        return out
    if channel is Channel.MESSENGER:
        text = to_channel_text(markdown, Style.PLAIN, site_url=site_url)
        parts = split_text(text, MS_TEXT_LIMIT) if text else []
        if buttons and not parts:
            parts = [CHOICE_PROMPT]
        return [
            messenger_text(
                contact_id,
                part,
                buttons=buttons if index == len(parts) - 1 else (),
                human_agent=human_agent,
                persona_id=persona_id,
            )
            for index, part in enumerate(parts)
        ]
    raise ValueError(f"channel {channel.value} has no Meta messages")
