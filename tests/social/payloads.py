"""Webhook bodies shaped as Meta sends them (WhatsApp Cloud API, Messenger Platform).

The shapes follow Meta's published examples: WhatsApp ``entry[].changes[].value`` with
``metadata``, ``contacts``, ``messages`` / ``statuses`` and timestamps in seconds as strings;
Messenger ``entry[].messaging[]`` with ``sender``, ``recipient`` and timestamps in
milliseconds.
"""

from __future__ import annotations

import itertools
from typing import Any

PHONE_NUMBER_ID = "106540352242922"
WABA_ID = "102290129340398"
PAGE_ID = "1234567890123"
APP_ID = "4455667788"

_counter = itertools.count(1)


def wamid() -> str:
    return f"wamid.HBgLNDkxNTExMjM0NTY3FQIAEhggQjk{next(_counter):06d}AA=="


def mid() -> str:
    return (
        f"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_{next(_counter)}"
    )


def whatsapp(*values: dict[str, Any]) -> dict[str, Any]:
    """A WhatsApp body: one entry, one ``messages`` change per value."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": WABA_ID, "changes": [{"value": value, "field": "messages"} for value in values]}
        ],
    }


def wa_value(
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    contacts: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930123456", "phone_number_id": PHONE_NUMBER_ID},
    }
    if contacts:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": wa} for wa, name in contacts]
    if messages is not None:
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return value


def wa_message(
    wa_id: str, ts: int, kind: str, content: Any, msg_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    message = {"from": wa_id, "id": msg_id or wamid(), "timestamp": str(ts), "type": kind}
    if content is not None:
        message[kind] = content
    message.update(extra)
    return message


def wa_text(
    wa_id: str,
    text: str,
    ts: int = 1_790_000_000,
    msg_id: str | None = None,
    name: str = "Erika Mustermann",
) -> dict[str, Any]:
    """A whole body with one text message."""
    return whatsapp(
        wa_value([wa_message(wa_id, ts, "text", {"body": text}, msg_id)], contacts=[(wa_id, name)])
    )


def wa_status(
    msg_id: str,
    wa_id: str,
    status: str,
    ts: int = 1_790_000_100,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": msg_id,
        "status": status,
        "timestamp": str(ts),
        "recipient_id": wa_id,
    }
    if status != "failed":
        item["conversation"] = {"id": "CONVERSATION_ID", "origin": {"type": "service"}}
        item["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    if errors:
        item["errors"] = errors
    return item


def messenger(*events: dict[str, Any], standby: bool = False) -> dict[str, Any]:
    key = "standby" if standby else "messaging"
    return {
        "object": "page",
        "entry": [{"id": PAGE_ID, "time": 1_790_000_000_000, key: list(events)}],
    }


def ms_event(psid: str, ts_ms: int, *, echo: bool = False, **body: Any) -> dict[str, Any]:
    sender, recipient = (PAGE_ID, psid) if echo else (psid, PAGE_ID)
    return {"sender": {"id": sender}, "recipient": {"id": recipient}, "timestamp": ts_ms, **body}


def ms_text(
    psid: str, text: str, ts_ms: int = 1_790_000_000_000, msg_id: str | None = None, **message: Any
) -> dict[str, Any]:
    """A whole Messenger body with one text message."""
    return messenger(
        ms_event(psid, ts_ms, message={"mid": msg_id or mid(), "text": text, **message})
    )
