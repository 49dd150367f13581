"""The Graph API client against the fake Graph API over real HTTP."""

import asyncio
import socket

import httpx
import pytest

from bot.social.events import Channel
from bot.social.graph import (
    GraphAuthError,
    GraphClient,
    GraphRequestError,
    GraphUnavailable,
    InvalidRecipient,
    MediaError,
    MediaTooLarge,
    Outgoing,
    RateLimited,
    WindowClosed,
)
from bot.social.outbound import (
    Button,
    messenger_text,
    reply_messages,
    whatsapp_template,
    whatsapp_text,
)

WA = "4915112345678"
PSID = "6543210987654321"


async def test_whatsapp_send_is_recorded_with_the_contract_path_and_token(fake, client):
    fake.customer_wrote("whatsapp", WA)
    sent = await client.send(whatsapp_text(WA, "Hallo"))
    assert sent.channel is Channel.WHATSAPP and sent.message_id.startswith("wamid.")
    assert fake.requests == [("POST", f"/v24.0/{fake.phone_number_id}/messages", 200)]
    assert fake.sent[0].payload["text"]["body"] == "Hallo"
    assert fake.sent[0].message_id == sent.message_id


async def test_messenger_send_goes_to_me_messages(fake, client):
    fake.customer_wrote("messenger", PSID)
    sent = await client.send(messenger_text(PSID, "Hallo"))
    assert sent.message_id.startswith("m_")
    assert fake.requests == [("POST", "/v24.0/me/messages", 200)]
    assert fake.sent[0].payload["recipient"] == {"id": PSID}


async def test_reply_messages_pass_meta_validation_for_every_shape(fake, client):
    fake.customer_wrote("whatsapp", WA)
    fake.customer_wrote("messenger", PSID)
    long = "Ein **Absatz** mit einem [Link](/kundenportal).\n\n" * 120
    for count in (0, 1, 3, 4, 10, 14):
        buttons = [Button(f"Eine recht lange Auswahl Nummer {i}", f"/p{i}") for i in range(count)]
        for channel, contact in ((Channel.WHATSAPP, WA), (Channel.MESSENGER, PSID)):
            for outgoing in reply_messages(
                channel, contact, long, buttons, site_url="https://www.stadtwerke.example"
            ):
                await client.send(outgoing)
    assert all(status == 200 for _, _, status in fake.requests)
    assert len(fake.sent) == len(fake.requests)


async def test_wrong_token_is_an_auth_error_and_nothing_is_sent(fake):
    fake.customer_wrote("whatsapp", WA)
    async with GraphClient(
        fake.api_url, "wrong", whatsapp_phone_number_id=fake.phone_number_id
    ) as bad:
        with pytest.raises(GraphAuthError) as info:
            await bad.send(whatsapp_text(WA, "Hallo"))
    assert (info.value.status, info.value.code) == (401, 190)
    assert fake.sent == []
    assert len(fake.requests) == 1  # a 4xx is not retried


async def test_whatsapp_window_closes_after_24_hours_but_templates_still_go(fake, client):
    fake.customer_wrote("whatsapp", WA)
    fake.clock.advance(hours=23, minutes=59)
    await client.send(whatsapp_text(WA, "noch offen"))
    fake.clock.advance(minutes=1)
    with pytest.raises(WindowClosed) as info:
        await client.send(whatsapp_text(WA, "zu spät"))
    assert info.value.code == 131047
    await client.send(whatsapp_template(WA, "rueckmeldung_kundenservice"))
    assert [s.payload["type"] for s in fake.sent] == ["text", "template"]


async def test_messenger_human_agent_tag_extends_the_window_to_seven_days(fake, client):
    fake.customer_wrote("messenger", PSID)
    fake.clock.advance(days=3)
    with pytest.raises(WindowClosed) as info:
        await client.send(messenger_text(PSID, "Antwort des Assistenten"))
    assert (info.value.code, info.value.subcode) == (10, 2018278)
    await client.send(messenger_text(PSID, "Antwort von Anna", human_agent=True))
    fake.clock.advance(days=4)
    with pytest.raises(WindowClosed):
        await client.send(messenger_text(PSID, "eine Woche später", human_agent=True))


async def test_5xx_is_retried_with_backoff(fake, client):
    fake.customer_wrote("whatsapp", WA)
    fake.fail_next(500, 2, "Service temporarily unavailable", times=2)
    sent = await client.send(whatsapp_text(WA, "Hallo"))
    assert [status for _, _, status in fake.requests[-1:]] == [200]
    assert len(fake.sent) == 1 and fake.sent[0].message_id == sent.message_id
    assert client.pauses == [0.5, 1.0]


async def test_5xx_on_every_attempt_is_unavailable(fake, client):
    fake.customer_wrote("whatsapp", WA)
    fake.fail_next(503, 131016, "Service unavailable", times=3)
    with pytest.raises(GraphUnavailable) as info:
        await client.send(whatsapp_text(WA, "Hallo"))
    assert info.value.status == 503
    assert fake.sent == [] and client.pauses == [0.5, 1.0]


@pytest.mark.parametrize(
    ("status", "code", "subcode", "error"),
    [
        (400, 130429, None, RateLimited),
        (400, 131056, None, RateLimited),
        (400, 80007, None, RateLimited),
        (400, 131026, None, InvalidRecipient),
        (400, 100, 2018001, InvalidRecipient),
        (400, 131009, None, GraphRequestError),
        (400, 10, None, GraphAuthError),
        (403, 200, None, GraphAuthError),
    ],
)
async def test_4xx_errors_map_to_the_tree_without_retry(fake, client, status, code, subcode, error):
    fake.customer_wrote("whatsapp", WA)
    fake.fail_next(status, code, "refused", subcode=subcode)
    with pytest.raises(error) as info:
        await client.send(whatsapp_text(WA, "Hallo"))
    assert info.value.code == code
    assert len(fake.requests) == 1 and client.pauses == []


async def test_unreachable_recipients(fake, client):
    fake.unreachable.update({WA, PSID})
    fake.customer_wrote("whatsapp", WA)
    fake.customer_wrote("messenger", PSID)
    with pytest.raises(InvalidRecipient):
        await client.send(whatsapp_text(WA, "Hallo"))
    with pytest.raises(InvalidRecipient) as info:
        await client.send(messenger_text(PSID, "Hallo"))
    assert info.value.code == 551


async def test_an_invalid_body_is_refused_by_meta_not_retried(fake, client):
    fake.customer_wrote("whatsapp", WA)
    four = {
        "messaging_product": "whatsapp",
        "to": WA,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": str(i), "title": f"T{i}"}} for i in range(4)
                ]
            },
        },
    }
    with pytest.raises(GraphRequestError) as info:
        await client.send(Outgoing(Channel.WHATSAPP, WA, four))
    assert info.value.code == 131009


async def test_connection_refused_is_retried_then_unavailable():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    pauses = []

    async def sleep(seconds):
        pauses.append(seconds)

    async with GraphClient(
        f"http://127.0.0.1:{port}/v24.0", "t", whatsapp_phone_number_id="1", sleep=sleep
    ) as client:
        with pytest.raises(GraphUnavailable) as info:
            await client.send(whatsapp_text(WA, "Hallo"))
    assert "not reachable" in str(info.value)
    assert pauses == [0.5, 1.0]


async def test_a_send_that_times_out_waiting_is_not_sent_twice(fake):
    fake.customer_wrote("whatsapp", WA)
    fake.delay_s = 0.5
    async with GraphClient(
        fake.api_url,
        fake.access_token,
        whatsapp_phone_number_id=fake.phone_number_id,
        timeout=httpx.Timeout(0.2),
    ) as client:
        with pytest.raises(GraphUnavailable) as info:
            await client.send(whatsapp_text(WA, "Hallo"))
    assert "may have been delivered" in str(info.value)
    await asyncio.sleep(0.6)  # the fake finishes the slow answer
    # It was delivered; a retry would have sent it a second time.
    assert len(fake.requests) == 1 and len(fake.sent) == 1


async def test_media_download_with_the_token(fake, client):
    media_id = fake.add_media(b"\x89PNG" + b"x" * 200_000, "image/png")
    media = await client.download_media(media_id)
    assert media.content.startswith(b"\x89PNG") and len(media.content) == 200_004
    assert media.mime_type == "image/png"


async def test_media_larger_than_the_limit_is_not_downloaded(fake, client):
    media_id = fake.add_media(b"x" * 2_000, "audio/ogg")
    with pytest.raises(MediaTooLarge):
        await client.download_media(media_id, max_bytes=1_000)
    assert [path for _, path, _ in fake.requests] == [f"/v24.0/{media_id}"]  # no download


async def test_media_that_lies_about_its_size_is_cut_off(fake, client):
    media_id = fake.add_media(b"x" * 300_000, "audio/ogg", declared_size=10)
    with pytest.raises(MediaTooLarge):
        await client.download_media(media_id, max_bytes=100_000)


async def test_media_urls_expire(fake, client):
    media_id = fake.add_media(b"voice", "audio/ogg")
    async with httpx.AsyncClient() as http:
        info = (
            await http.get(
                f"{fake.api_url}/{media_id}",
                headers={"Authorization": f"Bearer {fake.access_token}"},
            )
        ).json()
    fake.clock.advance(minutes=6)
    with pytest.raises(MediaError) as info_error:
        await client.download_url(info["url"])
    assert info_error.value.status == 404
    # A fresh download asks for a fresh URL and works.
    assert (await client.download_media(media_id)).content == b"voice"


async def test_unknown_media_and_foreign_urls(fake, client):
    with pytest.raises(MediaError):
        await client.download_media("123456789")
    with pytest.raises(MediaError):
        await client.download_media("../me")
    with pytest.raises(MediaError):
        await client.download_url("http://attacker.example/steal-the-token")
    assert not any("attacker" in path for _, path, _ in fake.requests)


async def test_mark_read(fake, client):
    await client.mark_read("wamid.X")
    assert fake.requests == [("POST", f"/v24.0/{fake.phone_number_id}/messages", 200)]


async def test_a_persona_is_created_with_the_name_and_deleted_by_its_id(fake, client):
    persona_id = await client.create_persona("Mara")
    assert fake.persona_requests == [{"name": "Mara"}]  # no picture: none is public
    assert fake.personas == {persona_id: {"name": "Mara", "profile_picture_url": None}}
    with_picture = await client.create_persona("Jona", "https://cdn.example/jona.png")
    assert fake.personas[with_picture]["profile_picture_url"] == "https://cdn.example/jona.png"
    await client.delete_persona(persona_id)
    assert list(fake.personas) == [with_picture]
    assert fake.requests == [
        ("POST", "/v24.0/me/personas", 200),
        ("POST", "/v24.0/me/personas", 200),
        ("DELETE", f"/v24.0/{persona_id}", 200),
    ]
    # The persona's id is accepted as the sender of a Messenger message.
    fake.customer_wrote("messenger", PSID)
    await client.send(messenger_text(PSID, "Hallo", persona_id=with_picture))
    assert fake.sent[-1].payload["persona_id"] == with_picture


async def test_persona_requests_meta_would_refuse_are_not_sent(fake, client):
    with pytest.raises(GraphRequestError):
        await client.create_persona("Mara", "http://intranet.local/avatar.png")
    with pytest.raises(GraphRequestError):
        await client.create_persona("M" * 51)
    with pytest.raises(GraphRequestError):
        await client.create_persona("   ")
    with pytest.raises(GraphRequestError):
        await client.delete_persona("../me/messages")
    assert fake.requests == []


async def test_persona_errors_map_to_the_tree(fake, client):
    with pytest.raises(GraphRequestError) as unknown:
        await client.delete_persona("123456789")
    assert (unknown.value.code, unknown.value.subcode) == (100, 33)
    fake.fail_next(403, 200, "(#200) Requires pages_messaging permission")
    with pytest.raises(GraphAuthError):
        await client.create_persona("Mara")
    async with GraphClient(fake.api_url, "wrong") as bad:
        with pytest.raises(GraphAuthError) as info:
            await bad.create_persona("Mara")
    assert info.value.code == 190
    assert fake.personas == {}
    # A Messenger send naming a persona Meta does not know is refused.
    fake.customer_wrote("messenger", PSID)
    with pytest.raises(GraphRequestError) as refused:
        await client.send(messenger_text(PSID, "Hallo", persona_id="123456789"))
    assert (refused.value.code, refused.value.subcode) == (100, None)  # an invalid parameter
    assert fake.sent == []


async def test_a_delete_is_retried_after_5xx_but_a_creation_that_timed_out_is_not(fake, client):
    persona_id = await client.create_persona("Mara")
    fake.fail_next(500, 2, "Service temporarily unavailable")
    await client.delete_persona(persona_id)
    assert client.pauses == [0.5] and fake.personas == {}
    fake.delay_s = 0.5
    async with GraphClient(fake.api_url, fake.access_token, timeout=httpx.Timeout(0.2)) as slow:
        with pytest.raises(GraphUnavailable):
            await slow.create_persona("Jona")
    await asyncio.sleep(0.6)  # the fake finishes the slow answer
    # Meta made it; a retry would have made a second persona.
    assert [p["name"] for p in fake.persona_requests] == ["Mara", "Jona"]
