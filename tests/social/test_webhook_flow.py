"""Phase 1's pieces together over real HTTP: the fake Meta signs and (re)delivers webhooks to
a minimal receiver made of bot.social's modules (signature check, parser, claims in a real
SQLite database, Graph client, reply bodies), which answers through the fake Graph API.

The receiver is test scaffolding for what phase 2 builds as the web app's route; here it shows
that a redelivered message is answered once and a bad or missing signature stores nothing.
"""

import asyncio

import pytest
from sqlalchemy import MetaData, func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.chat.db import make_engine
from bot.social.dedupe import SqlProcessedMessages, define_table
from bot.social.events import parse_webhook
from bot.social.graph import GraphClient
from bot.social.outbound import Button, reply_messages
from bot.social.signature import signature_valid
from tests.social.fake_graph import serve
from tests.social.payloads import messenger, ms_event, wa_message, wa_text, wa_value, whatsapp

WA = "4915112345678"


class Receiver:
    def __init__(self, fake, engine, ack_delays=()):
        self.fake = fake
        metadata = MetaData()
        self.table = define_table(metadata)
        metadata.create_all(engine)
        self.engine = engine
        self.claims = SqlProcessedMessages(engine, self.table, clock=fake.clock)
        self.ack_delays = list(ack_delays)
        self.tasks: set[asyncio.Task] = set()
        self.graph: GraphClient | None = None

    async def webhook(self, request: Request) -> Response:
        raw = await request.body()
        if not signature_valid(
            self.fake.app_secret, raw, request.headers.get("X-Hub-Signature-256")
        ):
            return PlainTextResponse("invalid signature", status_code=403)
        batch = parse_webhook(raw)
        task = asyncio.create_task(self.work(batch))  # the work goes on after the answer
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        if self.ack_delays:
            await asyncio.sleep(self.ack_delays.pop(0))  # a slow acknowledgement: Meta retries
        return Response(status_code=200)

    async def work(self, batch):
        if self.graph is None:
            self.graph = GraphClient(
                self.fake.api_url,
                self.fake.access_token,
                whatsapp_phone_number_id=self.fake.phone_number_id,
            )
        for message in sorted(batch.messages, key=lambda m: m.timestamp):
            if not await asyncio.to_thread(
                self.claims.claim, message.channel.value, message.message_id
            ):
                continue
            answer = f"Sie fragten: **{message.words}**"
            for outgoing in reply_messages(
                message.channel,
                message.contact_id,
                answer,
                [Button("Mit einer Person chatten", "/handoff")],
            ):
                await self.graph.send(outgoing)
            await asyncio.to_thread(self.claims.done, message.channel.value, message.message_id)

    def rows(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(self.table)).scalar_one()


@pytest.fixture
def receiver(fake, tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'chat.db'}")
    yield Receiver(fake, engine)
    engine.dispose()


async def settle(receiver, fake, sends, timeout=5.0):
    for _ in range(int(timeout / 0.02)):
        if len(fake.sent) >= sends and not receiver.tasks:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)  # a second answer would show up now
    if receiver.graph:
        await receiver.graph.aclose()
        receiver.graph = None


def route(receiver):
    return Starlette(routes=[Route("/webhooks/meta", receiver.webhook, methods=["POST"])])


async def test_a_whatsapp_question_is_answered_once_despite_a_redelivery(fake, receiver):
    receiver.ack_delays = [0.5]  # the first acknowledgement comes too late for Meta
    body = wa_text(WA, "Was war die Dezember-Soforthilfe?", ts=int(fake.clock().timestamp()))
    with serve(route(receiver)) as served:
        attempts = await fake.deliver(f"{served.url}/webhooks/meta", body, timeout_s=0.3)
        await settle(receiver, fake, 1)
    assert [(a.status, a.error) for a in attempts] == [(None, "timeout"), (200, None)]
    assert len(fake.sent) == 1
    sent = fake.sent[0]
    assert sent.recipient == WA and sent.payload["type"] == "interactive"
    assert (
        sent.payload["interactive"]["body"]["text"]
        == "Sie fragten: *Was war die Dezember-Soforthilfe?*"
    )
    assert receiver.rows() == 1


async def test_the_same_message_in_two_deliveries_is_answered_once(fake, receiver):
    body = wa_text(WA, "Hallo", ts=int(fake.clock().timestamp()), msg_id="wamid.SAME")
    with serve(route(receiver)) as served:
        await fake.deliver(f"{served.url}/webhooks/meta", body)
        await fake.deliver(f"{served.url}/webhooks/meta", body)
        await settle(receiver, fake, 1)
    assert len(fake.sent) == 1


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "forged"])
async def test_bad_and_missing_signatures_are_refused_and_nothing_is_stored(
    fake, receiver, signature
):
    body = wa_text(WA, "Hallo", ts=int(fake.clock().timestamp()))
    with serve(route(receiver)) as served:
        attempts = await fake.deliver(
            f"{served.url}/webhooks/meta", body, signature=signature, attempts=2
        )
        await settle(receiver, fake, 0, timeout=0.2)
    assert [a.status for a in attempts] == [403, 403]
    assert receiver.rows() == 0 and fake.sent == []


async def test_a_batch_of_customers_on_both_channels_is_answered_in_full(fake, receiver):
    ts = int(fake.clock().timestamp())
    wa_body = whatsapp(
        wa_value(
            [
                wa_message(WA, ts, "text", {"body": "eins"}),
                wa_message("4917000000001", ts, "text", {"body": "zwei"}),
            ],
            statuses=[
                {"id": "wamid.OLD", "status": "read", "timestamp": str(ts), "recipient_id": WA}
            ],
        )
    )
    ms_body = messenger(
        ms_event("111", ts * 1000, message={"mid": "m_1", "text": "drei"}),
        ms_event(
            "222",
            ts * 1000,
            message={
                "mid": "m_2",
                "quick_reply": {"payload": "/handoff"},
                "text": "Mit einer Person chatten",
            },
        ),
    )
    with serve(route(receiver)) as served:
        await fake.deliver(f"{served.url}/webhooks/meta", wa_body)
        await fake.deliver(f"{served.url}/webhooks/meta", ms_body)
        await settle(receiver, fake, 4)
    answered = sorted((s.channel, s.recipient) for s in fake.sent)
    assert answered == [
        ("messenger", "111"),
        ("messenger", "222"),
        ("whatsapp", "4915112345678"),
        ("whatsapp", "4917000000001"),
    ]
    quick = [s for s in fake.sent if s.recipient == "222"][0]
    assert quick.payload["message"]["text"] == "Sie fragten: /handoff"
