import json
from datetime import datetime, timezone

import pytest

from bot.social.events import (
    Channel,
    DeliveryState,
    Echo,
    InboundMessage,
    MessageKind,
    PayloadError,
    StatusUpdate,
    clean_text,
    mask_contact,
    parse_webhook,
)
from tests.social.payloads import (
    APP_ID,
    PAGE_ID,
    PHONE_NUMBER_ID,
    messenger,
    mid,
    ms_event,
    ms_text,
    wa_message,
    wa_status,
    wa_text,
    wa_value,
    wamid,
    whatsapp,
)

WA = "4915112345678"
PSID = "6543210987654321"
TS = 1_790_000_000  # 2026-09-21 14:13:20 UTC


def only(batch):
    assert batch.skipped == ()
    assert len(batch.events) == 1
    return batch.events[0]


# --- WhatsApp -----------------------------------------------------------------------------------


def test_whatsapp_text_message():
    message_id = wamid()
    event = only(
        parse_webhook(json.dumps(wa_text(WA, "Wie hoch ist mein Abschlag?", TS, message_id)))
    )
    assert event == InboundMessage(
        channel=Channel.WHATSAPP,
        account_id=PHONE_NUMBER_ID,
        contact_id=WA,
        message_id=message_id,
        timestamp=datetime(2026, 9, 21, 14, 13, 20, tzinfo=timezone.utc),
        kind=MessageKind.TEXT,
        text="Wie hoch ist mein Abschlag?",
        contact_name="Erika Mustermann",
    )
    assert event.words == "Wie hoch ist mein Abschlag?"


@pytest.mark.parametrize(
    ("interactive", "payload", "title"),
    [
        (
            {
                "type": "button_reply",
                "button_reply": {"id": "/faq_gaspreisbremse", "title": "Gaspreisbremse"},
            },
            "/faq_gaspreisbremse",
            "Gaspreisbremse",
        ),
        (
            {
                "type": "list_reply",
                "list_reply": {
                    "id": "/handoff",
                    "title": "Mit einer Person",
                    "description": "Kundenservice",
                },
            },
            "/handoff",
            "Mit einer Person",
        ),
    ],
)
def test_whatsapp_interactive_replies_carry_our_payload(interactive, payload, title):
    body = whatsapp(
        wa_value(
            [
                wa_message(
                    WA,
                    TS,
                    "interactive",
                    interactive,
                    context={"from": "4930123456", "id": "wamid.PREVIOUS"},
                )
            ]
        )
    )
    event = only(parse_webhook(body))
    assert event.kind is MessageKind.REPLY
    assert event.payload == payload
    assert event.text == title
    assert event.words == payload
    assert event.reply_to == "wamid.PREVIOUS"


def test_whatsapp_template_quick_reply_button():
    body = whatsapp(
        wa_value([wa_message(WA, TS, "button", {"payload": "/callback", "text": "Rückruf"})])
    )
    event = only(parse_webhook(body))
    assert (event.kind, event.payload, event.text) == (MessageKind.REPLY, "/callback", "Rückruf")


@pytest.mark.parametrize(
    ("kind", "content", "expected"),
    [
        (
            "image",
            {
                "caption": "Mein Zähler",
                "mime_type": "image/jpeg",
                "sha256": "abc=",
                "id": "1479537139650973",
            },
            MessageKind.IMAGE,
        ),
        (
            "audio",
            {
                "mime_type": "audio/ogg; codecs=opus",
                "sha256": "def=",
                "id": "2479537139650973",
                "voice": True,
            },
            MessageKind.VOICE,
        ),
        (
            "audio",
            {"mime_type": "audio/mpeg", "sha256": "ghi=", "id": "3479537139650973"},
            MessageKind.AUDIO,
        ),
        (
            "voice",
            {"mime_type": "audio/ogg; codecs=opus", "sha256": "jkl=", "id": "4479537139650973"},
            MessageKind.VOICE,
        ),
        (
            "document",
            {
                "filename": "Rechnung.pdf",
                "mime_type": "application/pdf",
                "sha256": "mno=",
                "id": "5479537139650973",
            },
            MessageKind.DOCUMENT,
        ),
        (
            "sticker",
            {
                "mime_type": "image/webp",
                "sha256": "pqr=",
                "id": "6479537139650973",
                "animated": False,
            },
            MessageKind.STICKER,
        ),
        (
            "video",
            {"mime_type": "video/mp4", "sha256": "stu=", "id": "7479537139650973"},
            MessageKind.VIDEO,
        ),
    ],
)
def test_whatsapp_media_messages(kind, content, expected):
    event = only(parse_webhook(whatsapp(wa_value([wa_message(WA, TS, kind, content)]))))
    assert event.kind is expected
    assert event.kind.is_media
    assert event.media[0].media_id == content["id"]
    assert event.media[0].mime_type == content["mime_type"]
    assert event.media[0].filename == content.get("filename")
    assert event.text == content.get("caption", "")
    assert event.words is None  # a caption alone is not sent to the assistant as a question


def test_whatsapp_location():
    content = {"latitude": 51.05, "longitude": 13.74, "name": "Kundenzentrum", "address": "Markt 1"}
    event = only(parse_webhook(whatsapp(wa_value([wa_message(WA, TS, "location", content)]))))
    assert event.kind is MessageKind.LOCATION
    assert (event.location.latitude, event.location.longitude) == (51.05, 13.74)
    assert event.location.name == "Kundenzentrum"


def test_whatsapp_reaction_points_at_the_message():
    content = {"message_id": "wamid.OURS", "emoji": "👍"}
    event = only(parse_webhook(whatsapp(wa_value([wa_message(WA, TS, "reaction", content)]))))
    assert (event.kind, event.text, event.reply_to) == (MessageKind.REACTION, "👍", "wamid.OURS")


def test_whatsapp_unsupported_message_keeps_the_error():
    item = wa_message(
        WA,
        TS,
        "unsupported",
        None,
        errors=[
            {
                "code": 131051,
                "title": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ],
    )
    event = only(parse_webhook(whatsapp(wa_value([item]))))
    assert event.kind is MessageKind.UNSUPPORTED
    assert event.errors[0].code == 131051
    assert event.errors[0].details == "Message type is currently not supported."


@pytest.mark.parametrize("status", ["sent", "delivered", "read"])
def test_whatsapp_statuses(status):
    message_id = wamid()
    event = only(
        parse_webhook(whatsapp(wa_value(statuses=[wa_status(message_id, WA, status, TS)])))
    )
    assert event == StatusUpdate(
        channel=Channel.WHATSAPP,
        account_id=PHONE_NUMBER_ID,
        contact_id=WA,
        message_id=message_id,
        state=DeliveryState(status),
        timestamp=datetime.fromtimestamp(TS, timezone.utc),
    )


def test_whatsapp_failed_status_carries_the_error_code():
    errors = [
        {
            "code": 131047,
            "title": "Re-engagement message",
            "message": "Re-engagement message",
            "error_data": {
                "details": "Message failed to send because more than 24 hours have "
                "passed since the customer last replied to this number."
            },
        }
    ]
    event = only(
        parse_webhook(whatsapp(wa_value(statuses=[wa_status(wamid(), WA, "failed", TS, errors)])))
    )
    assert event.state is DeliveryState.FAILED
    assert event.errors[0].code == 131047
    assert "24 hours" in event.errors[0].details


def test_whatsapp_batch_keeps_every_entry_change_and_message_in_order():
    ids = [wamid() for _ in range(5)]
    first = wa_value(
        [
            wa_message(WA, TS, "text", {"body": "eins"}, ids[0]),
            wa_message("4917000000001", TS + 1, "text", {"body": "zwei"}, ids[1]),
        ],
        contacts=[(WA, "Erika"), ("4917000000001", "Max")],
    )
    second = wa_value(
        [wa_message(WA, TS + 2, "text", {"body": "drei"}, ids[2])],
        statuses=[wa_status(ids[3], WA, "read", TS + 3)],
    )
    body = whatsapp(first, second)
    body["entry"].append(
        {
            "id": "other",
            "changes": [
                {
                    "field": "messages",
                    "value": wa_value([wa_message(WA, TS + 4, "text", {"body": "vier"}, ids[4])]),
                }
            ],
        }
    )
    batch = parse_webhook(body)
    assert batch.skipped == ()
    assert [e.message_id for e in batch.events] == ids[:3] + [ids[3], ids[4]]
    assert [m.text for m in batch.messages] == ["eins", "zwei", "drei", "vier"]
    assert batch.messages[1].contact_name == "Max"
    assert isinstance(batch.events[3], StatusUpdate)


def test_whatsapp_other_fields_are_skipped_not_failed():
    body = whatsapp(wa_value([wa_message(WA, TS, "text", {"body": "hallo"})]))
    body["entry"][0]["changes"].append({"field": "account_update", "value": {"event": "VERIFIED"}})
    batch = parse_webhook(body)
    assert len(batch.messages) == 1
    assert batch.skipped == ("whatsapp change field 'account_update'",)


# --- Messenger ----------------------------------------------------------------------------------


def test_messenger_text_message_in_milliseconds():
    message_id = mid()
    event = only(parse_webhook(ms_text(PSID, "Hallo", 1_790_000_000_123, message_id)))
    assert event == InboundMessage(
        channel=Channel.MESSENGER,
        account_id=PAGE_ID,
        contact_id=PSID,
        message_id=message_id,
        timestamp=datetime(2026, 9, 21, 14, 13, 20, 123000, tzinfo=timezone.utc),
        kind=MessageKind.TEXT,
        text="Hallo",
    )


def test_messenger_quick_reply_carries_the_payload():
    event = only(
        parse_webhook(
            ms_text(PSID, "Gaspreisbremse", quick_reply={"payload": "/faq_gaspreisbremse"})
        )
    )
    assert (event.kind, event.payload, event.words) == (
        MessageKind.REPLY,
        "/faq_gaspreisbremse",
        "/faq_gaspreisbremse",
    )


def test_messenger_postback():
    body = messenger(
        ms_event(
            PSID,
            1_790_000_000_000,
            postback={
                "title": "Mit einer Person chatten",
                "payload": "/handoff",
                "mid": "m_postback1",
            },
        )
    )
    event = only(parse_webhook(body))
    assert (event.kind, event.payload, event.message_id) == (
        MessageKind.REPLY,
        "/handoff",
        "m_postback1",
    )


@pytest.mark.parametrize(
    ("attachment", "expected"),
    [
        (
            {"type": "image", "payload": {"url": "https://scontent.example/img.jpg"}},
            MessageKind.IMAGE,
        ),
        ({"type": "audio", "payload": {"url": "https://cdn.example/voice.mp4"}}, MessageKind.AUDIO),
        ({"type": "file", "payload": {"url": "https://cdn.example/r.pdf"}}, MessageKind.DOCUMENT),
        (
            {
                "type": "image",
                "payload": {"url": "https://cdn.example/like.png", "sticker_id": 369239263222822},
            },
            MessageKind.STICKER,
        ),
        (
            {"type": "fallback", "payload": {"url": "https://example.org", "title": "Link"}},
            MessageKind.UNSUPPORTED,
        ),
    ],
)
def test_messenger_attachments(attachment, expected):
    body = ms_text(PSID, "")
    message = body["entry"][0]["messaging"][0]["message"]
    del message["text"]
    message["attachments"] = [attachment]
    event = only(parse_webhook(body))
    assert event.kind is expected
    if expected is not MessageKind.UNSUPPORTED:
        assert event.media[0].url == attachment["payload"]["url"]


@pytest.mark.parametrize("attachments", [False, True])
def test_messenger_echoes_are_never_customer_messages(attachments):
    message = {"mid": mid(), "is_echo": True, "app_id": int(APP_ID), "text": "Unsere Antwort"}
    if attachments:
        del message["text"]
        message["attachments"] = [
            {"type": "image", "payload": {"url": "https://cdn.example/x.png"}}
        ]
    event = only(
        parse_webhook(messenger(ms_event(PSID, 1_790_000_000_000, echo=True, message=message)))
    )
    assert isinstance(event, Echo)
    assert event.contact_id == PSID  # the echo's recipient is the customer
    assert event.app_id == APP_ID
    assert event.has_attachments is attachments


def test_messenger_echo_from_the_page_inbox_has_no_app_id():
    message = {"mid": mid(), "is_echo": True, "text": "Geschrieben in der Business Suite"}
    event = only(
        parse_webhook(messenger(ms_event(PSID, 1_790_000_000_000, echo=True, message=message)))
    )
    assert isinstance(event, Echo) and event.app_id is None


def test_messenger_delivery_gives_one_status_per_mid_and_read_a_watermark():
    body = messenger(
        ms_event(
            PSID,
            1_790_000_001_000,
            delivery={"mids": ["m_one", "m_two"], "watermark": 1_790_000_000_500},
        ),
        ms_event(PSID, 1_790_000_002_000, read={"watermark": 1_790_000_001_500}),
    )
    batch = parse_webhook(body)
    assert batch.skipped == ()
    one, two, read = batch.events
    assert (one.message_id, one.state, two.message_id) == (
        "m_one",
        DeliveryState.DELIVERED,
        "m_two",
    )
    assert read.message_id is None and read.state is DeliveryState.READ
    assert read.watermark == datetime(2026, 9, 21, 14, 13, 21, 500000, tzinfo=timezone.utc)


def test_messenger_batch_of_entries_and_standby():
    body = ms_text(PSID, "eins")
    body["entry"].append(
        {
            "id": PAGE_ID,
            "time": 1,
            "messaging": [
                ms_event("111", 1_790_000_000_001, message={"mid": "m_a", "text": "zwei"}),
                ms_event("222", 1_790_000_000_002, message={"mid": "m_b", "text": "drei"}),
            ],
        }
    )
    body["entry"].append(
        messenger(
            ms_event("333", 1_790_000_000_003, message={"mid": "m_c", "text": "vier"}), standby=True
        )["entry"][0]
    )
    batch = parse_webhook(body)
    assert [m.text for m in batch.messages] == ["eins", "zwei", "drei", "vier"]
    assert [m.contact_id for m in batch.messages] == [PSID, "111", "222", "333"]


# --- robustness ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"", b"not json", b"[1, 2]", b"\xff\xfe", b"[" * 100_000, b"null"]
)
def test_bodies_that_are_not_json_objects_raise_payload_error(body):
    with pytest.raises(PayloadError):
        parse_webhook(body)


def test_unknown_object_gives_no_events():
    batch = parse_webhook({"object": "instagram", "entry": [{"id": "1"}]})
    assert (batch.channel, batch.events) == (None, ())


@pytest.mark.parametrize(
    "mutate",
    [
        lambda m: m.update(timestamp="99999999999999999999999"),
        lambda m: m.update(timestamp=float("nan")),
        lambda m: m.update(timestamp="-5"),
        lambda m: m.update(id=None),
        lambda m: m.update(id="wamid.<script>"),
        lambda m: m.update(id="x" * 600),
        lambda m: m.pop("from"),
        lambda m: m.update(**{"from": {"nested": 1}}),
    ],
)
def test_hostile_fields_skip_the_message_without_raising(mutate):
    item = wa_message(WA, TS, "text", {"body": "hallo"})
    mutate(item)
    good = wa_message(WA, TS, "text", {"body": "danach"})
    batch = parse_webhook(whatsapp(wa_value([item, good])))
    assert [m.text for m in batch.messages] == ["danach"]
    assert len(batch.skipped) == 1


def test_wrong_types_everywhere_do_not_raise():
    for body in (
        {"object": "whatsapp_business_account", "entry": "x"},
        {
            "object": "whatsapp_business_account",
            "entry": [None, 1, {"changes": [None, {"field": "messages"}]}],
        },
        {"object": "page", "entry": [{"id": PAGE_ID, "messaging": [None, {"timestamp": True}]}]},
        {
            "object": "page",
            "entry": [
                {
                    "id": PAGE_ID,
                    "messaging": [
                        {"timestamp": 1_790_000_000_000, "sender": {"id": PSID}, "message": "text"}
                    ],
                }
            ],
        },
    ):
        batch = parse_webhook(body)
        assert batch.events == ()


def test_text_is_cleaned_for_storage():
    body = json.dumps(wa_text(WA, "a\x00b\ud800c" + "x" * 5000))
    event = parse_webhook(body).messages[0]
    assert event.text.startswith("ab\ufffdc")
    assert len(event.text) == 4096
    assert clean_text(None) == "" and clean_text(5) == ""


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        (None, "sent", "sent"),
        ("sent", "delivered", "delivered"),
        ("read", "delivered", "read"),  # out of order
        ("delivered", "read", "read"),
        ("read", "read", "read"),  # redelivered
        ("sent", "failed", "failed"),
        ("delivered", "failed", "delivered"),
        ("failed", "delivered", "delivered"),
        ("failed", "sent", "failed"),
    ],
)
def test_delivery_state_only_moves_forward(current, new, expected):
    current = DeliveryState(current) if current else None
    assert DeliveryState.advance(current, DeliveryState(new)) is DeliveryState(expected)


def test_contact_ids_are_masked_for_logs():
    assert mask_contact("4915112345678") == "…678"
    assert mask_contact("12") == "…"
