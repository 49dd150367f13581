"""The fake Graph API itself: token, windows, media expiry, signed webhook (re)delivery."""

import asyncio
import hashlib
import hmac
import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.social.fake_graph import FakeGraph, serve
from tests.social.payloads import wa_text

WA = "4915112345678"


class Target:
    """A webhook receiver answering the scripted statuses (200 once the script is used up)."""

    def __init__(self, statuses=(), delays=()):
        self.statuses = list(statuses)
        self.delays = list(delays)
        self.received: list[tuple[dict, bytes]] = []

    async def endpoint(self, request: Request) -> Response:
        raw = await request.body()
        self.received.append((dict(request.headers), raw))
        delay = self.delays.pop(0) if self.delays else 0
        await asyncio.sleep(delay)
        return Response(status_code=self.statuses.pop(0) if self.statuses else 200)

    def app(self):
        return Starlette(routes=[Route("/hook", self.endpoint, methods=["POST"])])


@pytest.fixture
def target_url():
    def start(target):
        return serve(target.app())

    return start


async def post(fake, path, payload, token=None):
    async with httpx.AsyncClient() as http:
        return await http.post(
            f"{fake.api_url}{path}",
            json=payload,
            headers={"Authorization": f"Bearer {token or fake.access_token}"},
        )


async def test_sends_need_the_bearer_token(fake):
    fake.customer_wrote("whatsapp", WA)
    body = {"messaging_product": "whatsapp", "to": WA, "type": "text", "text": {"body": "x"}}
    refused = await post(fake, f"/{fake.phone_number_id}/messages", body, token="forged")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == 190
    accepted = await post(fake, f"/{fake.phone_number_id}/messages", body)
    assert accepted.status_code == 200
    assert accepted.json()["messages"][0]["id"] == fake.sent[0].message_id
    assert len(fake.sent) == 1


async def test_131047_after_24_hours_by_the_injectable_clock(fake):
    body = {"messaging_product": "whatsapp", "to": WA, "type": "text", "text": {"body": "x"}}
    never = await post(fake, f"/{fake.phone_number_id}/messages", body)
    assert never.json()["error"]["code"] == 131047  # the customer never wrote
    fake.customer_wrote("whatsapp", WA)
    fake.clock.advance(hours=24)
    late = await post(fake, f"/{fake.phone_number_id}/messages", body)
    assert late.status_code == 400 and late.json()["error"]["code"] == 131047
    assert fake.sent == []


async def test_limits_are_checked(fake):
    fake.customer_wrote("whatsapp", WA)
    body = {
        "messaging_product": "whatsapp",
        "to": WA,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "?"},
            "action": {"buttons": [{"type": "reply", "reply": {"id": "a", "title": "x" * 21}}]},
        },
    }
    answer = await post(fake, f"/{fake.phone_number_id}/messages", body)
    assert answer.json()["error"]["code"] == 131009


async def test_media_urls_need_the_token_and_expire(fake):
    media_id = fake.add_media(b"audio-bytes", "audio/ogg")
    async with httpx.AsyncClient() as http:
        auth = {"Authorization": f"Bearer {fake.access_token}"}
        info = (await http.get(f"{fake.api_url}/{media_id}", headers=auth)).json()
        assert info["file_size"] == 11 and info["mime_type"] == "audio/ogg"
        assert info["sha256"] == hashlib.sha256(b"audio-bytes").hexdigest()
        assert (await http.get(info["url"])).status_code == 401
        assert (await http.get(info["url"], headers=auth)).content == b"audio-bytes"
        fake.clock.advance(minutes=5)
        assert (await http.get(info["url"], headers=auth)).status_code == 404


async def test_webhooks_are_signed_over_the_raw_body(fake, target_url):
    target = Target()
    body = wa_text(WA, "Grüße aus Dresden")
    with target_url(target) as served:
        attempts = await fake.deliver(f"{served.url}/hook", body)
    assert [a.status for a in attempts] == [200]
    headers, raw = target.received[0]
    # Meta's serialisation: compact, non-ASCII escaped; the HMAC is over exactly these bytes.
    assert b"Gr\\u00fc\\u00dfe" in raw
    expected = hmac.new(fake.app_secret.encode(), raw, hashlib.sha256).hexdigest()
    assert headers["x-hub-signature-256"] == f"sha256={expected}"
    assert json.loads(raw) == body


async def test_redelivery_after_non_200_until_success(fake, target_url):
    target = Target(statuses=[500, 403])
    with target_url(target) as served:
        attempts = await fake.deliver(f"{served.url}/hook", wa_text(WA, "hallo"))
    assert [a.status for a in attempts] == [500, 403, 200]
    assert len({raw for _, raw in target.received}) == 1  # the same bytes every time


async def test_redelivery_after_a_timeout(fake, target_url):
    target = Target(delays=[0.6])
    with target_url(target) as served:
        attempts = await fake.deliver(f"{served.url}/hook", wa_text(WA, "hallo"), timeout_s=0.3)
    assert [(a.status, a.error) for a in attempts] == [(None, "timeout"), (200, None)]
    assert len(target.received) == 2


async def test_delivery_gives_up_after_the_attempts(fake, target_url):
    target = Target(statuses=[503] * 10)
    with target_url(target) as served:
        attempts = await fake.deliver(f"{served.url}/hook", wa_text(WA, "x"), attempts=3)
    assert [a.status for a in attempts] == [503, 503, 503]


async def test_unsigned_and_forged_deliveries(fake, target_url):
    target = Target()
    with target_url(target) as served:
        await fake.deliver(f"{served.url}/hook", wa_text(WA, "x"), signature=None)
        await fake.deliver(f"{served.url}/hook", wa_text(WA, "x"), signature="sha256=" + "0" * 64)
    assert "x-hub-signature-256" not in target.received[0][0]
    assert target.received[1][0]["x-hub-signature-256"] == "sha256=" + "0" * 64


async def test_delivered_customer_messages_open_the_window(fake, target_url):
    with target_url(Target()) as served:
        await fake.deliver(f"{served.url}/hook", wa_text(WA, "x", ts=1_798_000_000))
    assert fake.last_customer_message[("whatsapp", WA)].timestamp() == 1_798_000_000


def test_independent_fakes_do_not_share_state():
    assert FakeGraph().sent is not FakeGraph().sent
