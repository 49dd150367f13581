"""Meta's webhook payloads as one event model for WhatsApp and Messenger.

A ``POST /webhooks/meta`` carries ``{"object": ..., "entry": [...]}``:

* ``whatsapp_business_account`` (WhatsApp Cloud API): each entry has ``changes``; a change with
  ``field: messages`` has ``value.metadata.phone_number_id``, ``value.contacts`` (name and
  ``wa_id``), ``value.messages`` (text, interactive ``button_reply``/``list_reply``, a template's
  quick-reply ``button``, image, audio (``voice: true`` for a voice note), video, document,
  sticker, location, reaction, ...) and ``value.statuses`` (``sent``/``delivered``/``read``/
  ``failed`` of our messages, failures with ``errors``). Timestamps are Unix seconds as strings.
* ``page`` (Messenger Platform): each entry has ``messaging`` (or ``standby`` while another app
  holds the thread) with events: ``message`` (text, ``quick_reply``, ``attachments``; an
  ``is_echo`` message is one the page sent), ``postback``, ``delivery`` (``mids`` and a
  ``watermark``) and ``read`` (a ``watermark``). Timestamps are Unix milliseconds.

:func:`parse_webhook` turns one body into :class:`Batch`: every entry and every message of a
batch becomes an event (Rasa's connector keeps only the first). What it cannot read is listed in
``Batch.skipped`` with the reason, never raised, so one odd item does not lose the others.

Text from the payload is cleaned for storage (:func:`clean_text`): NUL removed, lone surrogates
replaced, length capped; PostgreSQL refuses NUL and surrogates. Ids are checked against a
conservative pattern so a forged id cannot smuggle anything into logs or URLs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Final

# The longest text Meta sends: WhatsApp text bodies have at most 4,096 characters, Messenger
# messages 2,000; a longer text was not sent by Meta and is cut.
MAX_TEXT: Final = 4096
# Ids of contacts, accounts and messages: wa_id (digits), PSID/page id (digits), wamid (base64
# with "." "=" "_" "-"), Messenger mid ("m_" + base64url). 512 characters leave room for all.
_ID = re.compile(r"[A-Za-z0-9._=:+/-]{1,512}")
# Timestamps before 2000 or after 2100 are not Meta's; they would be read as a wrong day.
_MIN_EPOCH_S: Final = 946_684_800
_MAX_EPOCH_S: Final = 4_102_444_800
_SURROGATE = re.compile("[\ud800-\udfff]")


class Channel(str, Enum):
    """Where a conversation takes place (``conversations.channel`` in phase 2)."""

    WEB = "web"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"


class MessageKind(str, Enum):
    """What a customer sent; only TEXT and REPLY carry words the assistant can understand."""

    TEXT = "text"
    REPLY = "reply"  # a reply button, list row, quick reply or postback: see ``payload``
    IMAGE = "image"
    AUDIO = "audio"
    VOICE = "voice"  # a voice note recorded in the app
    VIDEO = "video"
    DOCUMENT = "document"
    STICKER = "sticker"
    LOCATION = "location"
    REACTION = "reaction"
    CONTACTS = "contacts"
    UNSUPPORTED = "unsupported"

    @property
    def is_media(self) -> bool:
        """Whether the message is a file (its URL expires after minutes, see the Graph client)."""
        return self in _MEDIA_KINDS


_MEDIA_KINDS: Final = frozenset(
    {
        MessageKind.IMAGE,
        MessageKind.AUDIO,
        MessageKind.VOICE,
        MessageKind.VIDEO,
        MessageKind.DOCUMENT,
        MessageKind.STICKER,
    }
)


class DeliveryState(str, Enum):
    """The delivery state of one of our messages, from the statuses Meta reports."""

    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"

    @staticmethod
    def advance(current: DeliveryState | None, new: DeliveryState) -> DeliveryState:
        """Return the state after ``new`` was reported while the message was ``current``.

        Statuses come out of order (``read`` before ``delivered``) and more than once, so a
        state only moves forward: sent < delivered < read. ``failed`` replaces only ``sent``
        (or nothing): a message the customer has received or read did not fail.
        """
        if current is None:
            return new
        if new is DeliveryState.FAILED:
            return new if current is DeliveryState.SENT else current
        if current is DeliveryState.FAILED:
            # Delivered/read after failed: Meta retried and succeeded. A late "sent" is older.
            return current if new is DeliveryState.SENT else new
        return new if _RANK[new] > _RANK[current] else current


_RANK: Final = {DeliveryState.SENT: 1, DeliveryState.DELIVERED: 2, DeliveryState.READ: 3}


@dataclass(frozen=True)
class Media:
    """A file of a message.

    WhatsApp gives an id (the URL comes from the Graph API and expires after minutes),
    Messenger a URL directly (it expires too).

    Attributes:
        media_id: WhatsApp's media id.
        url: Messenger's attachment URL.
        mime_type: e.g. ``image/jpeg``, ``audio/ogg; codecs=opus``.
        sha256: WhatsApp's checksum of the file.
        filename: a document's file name.
    """

    media_id: str | None = None
    url: str | None = None
    mime_type: str | None = None
    sha256: str | None = None
    filename: str | None = None


@dataclass(frozen=True)
class Location:
    """A shared location (degrees, WGS 84), with the place's name and address when given."""

    latitude: float
    longitude: float
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class ErrorInfo:
    """An error Meta reports in a webhook (a failed status, an unsupported message).

    Attributes:
        code: Meta's error code, e.g. 131047 (more than 24 hours since the customer's last
            message), 131026 (message undeliverable), 131051 (unsupported message type).
        title: Meta's short title.
        details: ``error_data.details``, the explanation.
    """

    code: int
    title: str = ""
    details: str = ""


@dataclass(frozen=True)
class InboundMessage:
    """A message a customer sent.

    Attributes:
        channel: WHATSAPP or MESSENGER.
        account_id: our side: the WhatsApp phone number id or the Messenger page id.
        contact_id: the customer: ``wa_id`` (their phone number, personal data) or PSID.
        message_id: ``wamid...`` or ``m_...``; the key of "processed once".
        timestamp: when the customer sent it (UTC).
        kind: what was sent.
        text: the words: the text, a reply's title, a media caption (may be empty).
        payload: for REPLY: the button's id, the list row's id, the quick reply's or
            postback's payload (our Rasa payloads, e.g. ``/faq_gaspreisbremse``).
        contact_name: WhatsApp's profile name (personal data; Messenger sends none).
        media: the file of a media message; Messenger can send several.
        location: a LOCATION's coordinates.
        reply_to: the id of the message this one answers or reacts to (WhatsApp ``context``,
            Messenger ``reply_to``, a reaction's ``message_id``).
        errors: why Meta could not pass on an UNSUPPORTED message.
    """

    channel: Channel
    account_id: str
    contact_id: str
    message_id: str
    timestamp: datetime
    kind: MessageKind
    text: str = ""
    payload: str | None = None
    contact_name: str | None = None
    media: tuple[Media, ...] = ()
    location: Location | None = None
    reply_to: str | None = None
    errors: tuple[ErrorInfo, ...] = ()

    @property
    def words(self) -> str | None:
        """What to send to the assistant: a reply's payload, else the text; None if neither."""
        if self.kind is MessageKind.REPLY and self.payload:
            return self.payload
        if self.kind is MessageKind.TEXT and self.text:
            return self.text
        return None


@dataclass(frozen=True)
class StatusUpdate:
    """Meta reports the delivery of one of our messages.

    WhatsApp reports each message (``message_id``). Messenger reports ``delivery`` with the
    delivered ``mids`` (one event each) and ``read`` with only a watermark: every message to
    the contact sent at or before ``watermark`` was read (``message_id`` is None).

    Attributes:
        channel: WHATSAPP or MESSENGER.
        account_id: phone number id or page id.
        contact_id: the recipient: wa_id or PSID.
        message_id: our message's id; None for a Messenger watermark.
        state: the new state (see :meth:`DeliveryState.advance`).
        timestamp: when Meta observed it (UTC).
        watermark: Messenger: all messages up to this moment have this state.
        errors: why a FAILED message failed.
    """

    channel: Channel
    account_id: str
    contact_id: str
    message_id: str | None
    state: DeliveryState
    timestamp: datetime
    watermark: datetime | None = None
    errors: tuple[ErrorInfo, ...] = ()


@dataclass(frozen=True)
class Echo:
    """A message the Messenger page sent, reported back (``is_echo``).

    Our own sends come back with the ``message_id`` the Send API returned (stored with the
    message) and our ``app_id``: skip them. Any other echo was written by a person in Meta's own
    inbox (Business Suite): show it in the conversation as the page's words. An echo is never a
    customer message, whether text or attachment.

    Attributes:
        channel: MESSENGER.
        account_id: the page id.
        contact_id: the customer's PSID (the echo's recipient).
        message_id: the mid.
        timestamp: when it was sent (UTC).
        text: the text (empty for an attachment).
        app_id: the app that sent it; None when sent from Meta's inbox.
        has_attachments: whether files or templates were sent.
    """

    channel: Channel
    account_id: str
    contact_id: str
    message_id: str
    timestamp: datetime
    text: str = ""
    app_id: str | None = None
    has_attachments: bool = False


Event = InboundMessage | StatusUpdate | Echo


@dataclass(frozen=True)
class Batch:
    """The events of one webhook request, in the order Meta listed them.

    Attributes:
        channel: WHATSAPP or MESSENGER, by the body's ``object``; None for another object.
        events: everything understood; Meta batches entries and messages, and delivers out of
            order, so sort by timestamp per contact before answering.
        skipped: one line per item not understood (for the log; no personal data).
    """

    channel: Channel | None
    events: tuple[Event, ...] = ()
    skipped: tuple[str, ...] = field(default=())

    @property
    def messages(self) -> tuple[InboundMessage, ...]:
        """The customers' messages of the batch."""
        return tuple(e for e in self.events if isinstance(e, InboundMessage))


class PayloadError(ValueError):
    """The body is not a JSON object (a signed body that is not JSON is a bug at Meta's end)."""


# --- helpers ------------------------------------------------------------------------------------


def mask_contact(contact_id: str) -> str:
    """A contact id for logs: wa_id (a phone number) and PSID are personal data.

    Keeps the last three characters so a log line can still be matched by someone who has the
    conversation: ``"4915112345678"`` -> ``"…678"``.
    """
    return "…" + contact_id[-3:] if len(contact_id) > 3 else "…"


def clean_text(value: Any, limit: int = MAX_TEXT) -> str:
    """Return ``value`` as storable text: str only, NUL removed, lone surrogates as U+FFFD."""
    if not isinstance(value, str):
        return ""
    text = _SURROGATE.sub("\ufffd", value.replace("\x00", ""))
    return text[:limit]


def _opt_text(value: Any, limit: int = 1024) -> str | None:
    text = clean_text(value, limit)
    return text or None


def _id(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and _ID.fullmatch(value):
        return value
    return None


def _time(value: Any, *, millis: bool) -> datetime | None:
    """A Unix timestamp (seconds, as a string or number; or milliseconds) as an aware UTC time."""
    if isinstance(value, str) and value.isdigit() and len(value) <= 16:
        number: float = int(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = value
    else:
        return None
    seconds = number / 1000 if millis else number
    if not _MIN_EPOCH_S <= seconds <= _MAX_EPOCH_S:  # also rejects NaN
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _errors(value: Any) -> tuple[ErrorInfo, ...]:
    found: list[ErrorInfo] = []
    for item in _list(value):
        item = _dict(item)
        code = item.get("code")
        if isinstance(code, int) and not isinstance(code, bool) and abs(code) < 10**12:
            details = _dict(item.get("error_data")).get("details", item.get("message", ""))
            found.append(
                ErrorInfo(code, clean_text(item.get("title"), 200), clean_text(details, 1000))
            )
    return tuple(found)


def _degrees(value: Any) -> float | None:
    """A coordinate in degrees (|x| <= 180), from a number or a numeric string."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if number == number and abs(number) <= 180 else None


# --- WhatsApp -----------------------------------------------------------------------------------

# Media message types and their kind; ``audio`` becomes VOICE when flagged as a voice note.
_WA_MEDIA: Final = {
    "image": MessageKind.IMAGE,
    "audio": MessageKind.AUDIO,
    "voice": MessageKind.VOICE,
    "video": MessageKind.VIDEO,
    "document": MessageKind.DOCUMENT,
    "sticker": MessageKind.STICKER,
}


def _wa_message(
    item: Mapping[str, Any], account_id: str, names: Mapping[str, str], skipped: list[str]
) -> InboundMessage | None:
    message_id = _id(item.get("id"))
    contact_id = _id(item.get("from"))
    when = _time(item.get("timestamp"), millis=False)
    kind_name = item.get("type")
    if message_id is None or contact_id is None or when is None:
        skipped.append(f"whatsapp message of type {str(kind_name)[:30]!r}: id, from or timestamp")
        return None
    base: dict[str, Any] = {
        "channel": Channel.WHATSAPP,
        "account_id": account_id,
        "contact_id": contact_id,
        "message_id": message_id,
        "timestamp": when,
        "contact_name": names.get(contact_id),
        "reply_to": _id(_dict(item.get("context")).get("id")),
    }
    if kind_name == "text":
        return InboundMessage(
            kind=MessageKind.TEXT, text=clean_text(_dict(item.get("text")).get("body")), **base
        )
    if kind_name == "interactive":
        interactive = _dict(item.get("interactive"))
        reply = _dict(interactive.get(str(interactive.get("type"))))
        if interactive.get("type") in ("button_reply", "list_reply") and _id(reply.get("id")):
            return InboundMessage(
                kind=MessageKind.REPLY,
                text=clean_text(reply.get("title"), 200),
                payload=clean_text(reply.get("id"), 256),
                **base,
            )
    elif kind_name == "button":  # a quick-reply button of a template message
        button = _dict(item.get("button"))
        payload = clean_text(button.get("payload"), 1000)
        return InboundMessage(
            kind=MessageKind.REPLY,
            text=clean_text(button.get("text"), 200),
            payload=payload or None,
            **base,
        )
    elif isinstance(kind_name, str) and kind_name in _WA_MEDIA:
        data = _dict(item.get(kind_name))
        kind = _WA_MEDIA[kind_name]
        if kind is MessageKind.AUDIO and data.get("voice") is True:
            kind = MessageKind.VOICE
        media = Media(
            media_id=_id(data.get("id")),
            mime_type=_opt_text(data.get("mime_type"), 100),
            sha256=_opt_text(data.get("sha256"), 100),
            filename=_opt_text(data.get("filename"), 255),
        )
        return InboundMessage(
            kind=kind, text=clean_text(data.get("caption"), 1024), media=(media,), **base
        )
    elif kind_name == "location":
        data = _dict(item.get("location"))
        latitude, longitude = _degrees(data.get("latitude")), _degrees(data.get("longitude"))
        if latitude is not None and longitude is not None and abs(latitude) <= 90:
            name, address = _opt_text(data.get("name"), 200), _opt_text(data.get("address"))
            location = Location(latitude, longitude, name, address)
            return InboundMessage(kind=MessageKind.LOCATION, location=location, **base)
    elif kind_name == "reaction":
        data = _dict(item.get("reaction"))
        return InboundMessage(
            kind=MessageKind.REACTION,
            text=clean_text(data.get("emoji"), 16),
            **{**base, "reply_to": _id(data.get("message_id"))},
        )
    elif kind_name == "contacts":
        return InboundMessage(kind=MessageKind.CONTACTS, **base)
    # "unsupported", "unknown", "system", "order" and types Meta adds later: a message we
    # cannot show, but one the customer sent: answer it politely rather than drop it.
    return InboundMessage(kind=MessageKind.UNSUPPORTED, errors=_errors(item.get("errors")), **base)


def _wa_status(item: Mapping[str, Any], account_id: str, skipped: list[str]) -> StatusUpdate | None:
    message_id = _id(item.get("id"))
    contact_id = _id(item.get("recipient_id"))
    when = _time(item.get("timestamp"), millis=False)
    try:
        state = DeliveryState(item.get("status"))
    except ValueError:
        # e.g. "deleted" or "warning": nothing to store for a delivery state.
        skipped.append(f"whatsapp status {str(item.get('status'))[:30]!r}")
        return None
    if message_id is None or contact_id is None or when is None:
        skipped.append(f"whatsapp status {state.value}: id, recipient_id or timestamp")
        return None
    return StatusUpdate(
        channel=Channel.WHATSAPP,
        account_id=account_id,
        contact_id=contact_id,
        message_id=message_id,
        state=state,
        timestamp=when,
        errors=_errors(item.get("errors")),
    )


def _whatsapp(body: Mapping[str, Any], events: list[Event], skipped: list[str]) -> None:
    for entry in _list(body.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            change = _dict(change)
            if change.get("field") != "messages":
                skipped.append(f"whatsapp change field {str(change.get('field'))[:40]!r}")
                continue
            value = _dict(change.get("value"))
            account_id = _id(_dict(value.get("metadata")).get("phone_number_id"))
            if account_id is None:
                skipped.append("whatsapp change without metadata.phone_number_id")
                continue
            names: dict[str, str] = {}
            for contact in _list(value.get("contacts")):
                contact = _dict(contact)
                wa_id, name = _id(contact.get("wa_id")), _dict(contact.get("profile")).get("name")
                if wa_id and isinstance(name, str):
                    names[wa_id] = clean_text(name, 200)
            for item in _list(value.get("messages")):
                message = _wa_message(_dict(item), account_id, names, skipped)
                if message is not None:
                    events.append(message)
            for item in _list(value.get("statuses")):
                status = _wa_status(_dict(item), account_id, skipped)
                if status is not None:
                    events.append(status)


# --- Messenger ----------------------------------------------------------------------------------

_MS_ATTACHMENTS: Final = {
    "image": MessageKind.IMAGE,
    "audio": MessageKind.AUDIO,
    "video": MessageKind.VIDEO,
    "file": MessageKind.DOCUMENT,
}


def _ms_message(
    event: Mapping[str, Any], account_id: str, when: datetime, skipped: list[str]
) -> Event | None:
    message = _dict(event.get("message"))
    message_id = _id(message.get("mid"))
    sender = _id(_dict(event.get("sender")).get("id"))
    recipient = _id(_dict(event.get("recipient")).get("id"))
    if message_id is None or sender is None or recipient is None:
        skipped.append("messenger message: mid, sender or recipient")
        return None
    attachments = _list(message.get("attachments"))
    if message.get("is_echo") is True:
        app_id = message.get("app_id")
        return Echo(
            channel=Channel.MESSENGER,
            account_id=account_id,
            contact_id=recipient,
            message_id=message_id,
            timestamp=when,
            text=clean_text(message.get("text")),
            app_id=_id(app_id) if app_id is not None else None,
            has_attachments=bool(attachments),
        )
    base: dict[str, Any] = {
        "channel": Channel.MESSENGER,
        "account_id": account_id,
        "contact_id": sender,
        "message_id": message_id,
        "timestamp": when,
        "reply_to": _id(_dict(message.get("reply_to")).get("mid")),
    }
    text = clean_text(message.get("text"))
    quick_reply = _dict(message.get("quick_reply"))
    if quick_reply.get("payload"):
        return InboundMessage(
            kind=MessageKind.REPLY,
            text=text,
            payload=clean_text(quick_reply.get("payload"), 1000),
            **base,
        )
    if text:
        return InboundMessage(kind=MessageKind.TEXT, text=text, **base)
    if attachments:
        kinds: list[MessageKind] = []
        media: list[Media] = []
        location: Location | None = None
        for attachment in attachments:
            attachment = _dict(attachment)
            payload = _dict(attachment.get("payload"))
            kind_name = attachment.get("type")
            if payload.get("sticker_id") is not None:
                kinds.append(MessageKind.STICKER)
            elif kind_name == "location":
                coordinates = _dict(payload.get("coordinates"))
                latitude = _degrees(coordinates.get("lat"))
                longitude = _degrees(coordinates.get("long"))
                if latitude is not None and longitude is not None:
                    location = Location(latitude, longitude)
                    kinds.append(MessageKind.LOCATION)
                continue
            elif isinstance(kind_name, str) and kind_name in _MS_ATTACHMENTS:
                kinds.append(_MS_ATTACHMENTS[kind_name])
            else:  # "fallback" (a shared link), "template", "reel", "ig_reel", later types
                kinds.append(MessageKind.UNSUPPORTED)
            url = payload.get("url")
            media.append(Media(url=clean_text(url, 2000) if isinstance(url, str) else None))
        kind = kinds[0] if kinds else MessageKind.UNSUPPORTED
        if kind is MessageKind.UNSUPPORTED:
            media = []
        return InboundMessage(kind=kind, media=tuple(media), location=location, **base)
    return InboundMessage(kind=MessageKind.UNSUPPORTED, **base)


def _ms_postback(
    event: Mapping[str, Any], account_id: str, when: datetime, skipped: list[str]
) -> InboundMessage | None:
    postback = _dict(event.get("postback"))
    sender = _id(_dict(event.get("sender")).get("id"))
    payload = clean_text(postback.get("payload"), 1000)
    # A postback has a mid since 2020; without one it cannot be deduplicated.
    message_id = _id(postback.get("mid"))
    if sender is None or message_id is None or not payload:
        skipped.append("messenger postback: mid, sender or payload")
        return None
    return InboundMessage(
        channel=Channel.MESSENGER,
        account_id=account_id,
        contact_id=sender,
        message_id=message_id,
        timestamp=when,
        kind=MessageKind.REPLY,
        text=clean_text(postback.get("title"), 200),
        payload=payload,
    )


def _messenger(body: Mapping[str, Any], events: list[Event], skipped: list[str]) -> None:
    for entry in _list(body.get("entry")):
        entry = _dict(entry)
        account_id = _id(entry.get("id"))
        if account_id is None:
            skipped.append("messenger entry without id")
            continue
        items = _list(entry.get("messaging")) + _list(entry.get("standby"))
        for item in items:
            event = _dict(item)
            when = _time(event.get("timestamp"), millis=True)
            if when is None:
                skipped.append("messenger event without a valid timestamp")
                continue
            if "message" in event:
                found = _ms_message(event, account_id, when, skipped)
                if found is not None:
                    events.append(found)
            elif "postback" in event:
                postback = _ms_postback(event, account_id, when, skipped)
                if postback is not None:
                    events.append(postback)
            elif "delivery" in event or "read" in event:
                _ms_receipt(event, account_id, when, events, skipped)
            else:  # reactions, referrals, optins, handovers: not part of the conversation
                kinds = sorted(k for k in event if k not in ("sender", "recipient", "timestamp"))
                skipped.append(f"messenger event {','.join(kinds)[:60]!r}")


def _ms_receipt(
    event: Mapping[str, Any],
    account_id: str,
    when: datetime,
    events: list[Event],
    skipped: list[str],
) -> None:
    contact_id = _id(_dict(event.get("sender")).get("id"))
    if contact_id is None:
        skipped.append("messenger receipt without sender")
        return
    if "delivery" in event:
        delivery = _dict(event.get("delivery"))
        watermark = _time(delivery.get("watermark"), millis=True)
        mids = [m for m in (_id(v) for v in _list(delivery.get("mids"))) if m]
        for mid in mids:
            events.append(
                StatusUpdate(
                    Channel.MESSENGER, account_id, contact_id, mid, DeliveryState.DELIVERED, when,
                    watermark,
                )
            )
        if not mids and watermark is not None:
            events.append(
                StatusUpdate(
                    Channel.MESSENGER, account_id, contact_id, None, DeliveryState.DELIVERED,
                    when, watermark,
                )
            )
        return
    watermark = _time(_dict(event.get("read")).get("watermark"), millis=True)
    if watermark is None:
        skipped.append("messenger read without watermark")
        return
    events.append(
        StatusUpdate(
            Channel.MESSENGER, account_id, contact_id, None, DeliveryState.READ, when, watermark
        )
    )


# --- entry point --------------------------------------------------------------------------------


def parse_webhook(body: bytes | str | Mapping[str, Any]) -> Batch:
    """Read one webhook body into events.

    Args:
        body: the raw body (after the signature check) or its parsed JSON.

    Returns:
        The batch; an ``object`` other than WhatsApp's or Messenger's gives channel None and no
        events.

    Raises:
        PayloadError: the body is not JSON (or nested too deeply to parse) or not an object.
    """
    if isinstance(body, (bytes, str)):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
            raise PayloadError(f"webhook body is not JSON: {type(error).__name__}") from None
    else:
        data = body
    if not isinstance(data, Mapping):
        raise PayloadError("webhook body is not a JSON object")
    events: list[Event] = []
    skipped: list[str] = []
    kind = data.get("object")
    if kind == "whatsapp_business_account":
        _whatsapp(data, events, skipped)
        return Batch(Channel.WHATSAPP, tuple(events), tuple(skipped))
    if kind == "page":
        _messenger(data, events, skipped)
        return Batch(Channel.MESSENGER, tuple(events), tuple(skipped))
    return Batch(None, (), (f"object {str(kind)[:40]!r}",))
