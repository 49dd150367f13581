"""WhatsApp and Messenger through the web app, over real HTTP: the fake Meta signs and delivers
webhooks to the running web app (uvicorn, with its lifespan: the social workers), which answers
through the fake Graph API. Rasa is scripted here (tests/web/conftest.py's FakeRelay); the real
assistant answers in tests/e2e/test_social.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import httpx
import pytest
from sqlalchemy import func, select

from bot.chat.models import (
    SOCIAL_PROCESSED_MESSAGES,
    Agent,
    BlockedContact,
    Conversation,
    Message,
)
from bot.settings import get_settings
from bot.social.settings import MetaSettings
from bot.web.app import build_context, create_app
from bot.web.rasa_relay import BotMessage
from bot.web.users import set_user
from tests.social.fake_graph import FakeGraph, serve
from tests.social.payloads import (
    messenger,
    ms_event,
    ms_text,
    wa_message,
    wa_status,
    wa_text,
    wa_value,
    whatsapp,
)
from tests.web.conftest import FakeRelay

WA = "4915112345678"
PSID = "6543210987654321"
VERIFY = "verify-me-please"
PASSWORD = "geheim-123"


@dataclasses.dataclass
class Site:
    url: str
    fake: FakeGraph
    ctx: object
    relay: FakeRelay

    @property
    def webhook(self) -> str:
        return f"{self.url}/webhooks/meta"

    def ts(self) -> int:
        return int(self.fake.clock().timestamp())

    def count(self, model) -> int:
        with self.ctx.session() as session:
            return session.execute(select(func.count()).select_from(model)).scalar_one()

    def conversations(self) -> list[Conversation]:
        with self.ctx.session() as session:
            return list(session.execute(select(Conversation)).scalars())

    def messages(self, conversation_id: str) -> list[Message]:
        with self.ctx.session() as session:
            return list(session.execute(
                select(Message).where(Message.conversation_id == conversation_id)
                .order_by(Message.seq)).scalars())

    async def settle(self, sends: int = 0, timeout: float = 10.0) -> None:
        """Wait for ``sends`` sends and the workers to be idle, then a moment for extra sends."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.fake.sent) >= sends and self.ctx.social._pending == 0:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.15)

    def agent(self, username: str = "anna", alias: str | None = "Mara",
              avatar: str | None = "blatt", role: str = "agent") -> httpx.Client:
        with self.ctx.session() as session:
            agent = set_user(session=session, username=username, role=role,
                             display_name="Anna Sommer", password=PASSWORD)
            agent.alias, agent.avatar = alias, avatar
        client = httpx.Client(base_url=self.url, timeout=10)
        page = client.get("/agent/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post("/agent/login", data={
            "username": username, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 303, response.text
        console = client.get("/agent/")
        client.headers["X-CSRF-Token"] = console.text.split(
            'name="csrf-token" content="')[1].split('"')[0]
        return client


@pytest.fixture
def site(tmp_path):
    fake = FakeGraph()
    relay = FakeRelay()
    with serve(fake.app()) as graph:
        fake.base_url = graph.url
        settings = dataclasses.replace(
            get_settings(), database_url=f"sqlite:///{tmp_path / 'chat.db'}",
            secret_key="s" * 40, training_worker=False, rate_limit_per_minute=100,
        )
        ctx = build_context(settings, relay=relay)
        ctx.clock = fake.clock
        ctx.meta = MetaSettings(
            app_secret=fake.app_secret, verify_token=VERIFY, access_token=fake.access_token,
            graph_api_url=fake.api_url, whatsapp_phone_number_id=fake.phone_number_id,
            messenger_page_id=fake.page_id, whatsapp_templates=("rueckmeldung_kundenservice",),
        )
        app = create_app(context=ctx)
        with serve(app, lifespan="on") as web:
            yield Site(web.url, fake, ctx, relay)


def test_the_verification_challenge(site):
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    answer = httpx.get(site.webhook, params=params)
    assert answer.status_code == 200 and answer.text == "1158201444"
    assert answer.headers["content-type"].startswith("text/plain")
    wrong = httpx.get(site.webhook, params={**params, "hub.verify_token": "guess"})
    assert wrong.status_code == 403


def test_the_routes_answer_404_while_meta_is_not_configured(tmp_path):
    settings = dataclasses.replace(
        get_settings(), database_url=f"sqlite:///{tmp_path / 'chat.db'}", secret_key="s" * 40,
        training_worker=False)
    ctx = build_context(settings, relay=FakeRelay())
    ctx.meta = None
    with serve(create_app(context=ctx), lifespan="on") as web:
        assert httpx.get(f"{web.url}/webhooks/meta").status_code == 404
        assert httpx.post(f"{web.url}/webhooks/meta", content=b"{}").status_code == 404


async def test_a_whatsapp_question_is_answered_through_the_assistant(site):
    body = wa_text(WA, "Was ist die Gaspreisbremse?", ts=site.ts(), name="Erika Mustermann")
    attempts = await site.fake.deliver(site.webhook, body)
    assert [a.status for a in attempts] == [200]
    await site.settle(1)
    assert site.relay.sent[0][1] == "Was ist die Gaspreisbremse?"
    assert len(site.fake.sent) == 1
    sent = site.fake.sent[0]
    assert sent.channel == "whatsapp" and sent.recipient == WA
    # The answer's button became a WhatsApp reply button.
    interactive = sent.payload["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"]["text"] == "Die Gaspreisbremse …"
    assert interactive["action"]["buttons"][0]["reply"] == {
        "id": "/x", "title": "Meinen Abschlag…"}
    [conversation] = site.conversations()
    assert (conversation.channel, conversation.contact_id, conversation.contact_name) == (
        "whatsapp", WA, "Erika Mustermann")
    assert conversation.state == "bot"
    assert conversation.last_customer_message_at == site.fake.clock().replace(microsecond=0)
    customer, answer = site.messages(conversation.id)
    assert customer.sender == "customer" and customer.external_id.startswith("wamid.")
    assert answer.sender == "bot" and answer.faq_id == "gaspreisbremse"
    assert (answer.external_id, answer.delivery_state) == (sent.message_id, "sent")


async def test_an_answer_not_understood_on_whatsapp_reaches_the_editors_inbox(site):
    from bot.content.models import InboxItem

    for text in ("Was ist die Gaspreisbremse?", "versteh ich nicht"):
        await site.fake.deliver(site.webhook, wa_text(WA, text, ts=site.ts()))
        await site.settle(len(site.fake.sent) + 1)
    with site.ctx.session() as session:
        items = session.execute(select(InboxItem)).scalars().all()
    assert [(i.kind, i.text, i.faq_id) for i in items] == [
        ("feedback", "Was ist die Gaspreisbremse?", "gaspreisbremse")
    ]


async def test_a_redelivered_message_is_answered_once(site):
    body = wa_text(WA, "Hallo", ts=site.ts(), msg_id="wamid.SAME")
    await site.fake.deliver(site.webhook, body)
    await site.fake.deliver(site.webhook, body)
    await site.settle(1)
    assert len(site.fake.sent) == 1
    assert len(site.relay.sent) == 1
    [conversation] = site.conversations()
    assert [m.sender for m in site.messages(conversation.id)] == ["customer", "bot"]


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "forged"])
async def test_bad_and_missing_signatures_get_403_and_nothing_is_stored(site, signature):
    body = wa_text(WA, "Hallo", ts=site.ts())
    attempts = await site.fake.deliver(site.webhook, body, signature=signature, attempts=2)
    await site.settle(0)
    assert [a.status for a in attempts] == [403, 403]
    assert site.count(Conversation) == 0 and site.count(Message) == 0
    assert site.count(SOCIAL_PROCESSED_MESSAGES) == 0
    assert site.fake.sent == [] and site.relay.sent == []


async def test_a_body_signed_then_changed_is_refused(site):
    body = wa_text(WA, "Hallo", ts=site.ts())
    raw = httpx.Request("POST", "/", json=body).content
    signature = site.fake.signature(raw)
    # Re-serialised JSON (other spacing) no longer matches the signature of the raw bytes.
    changed = raw.replace(b'":', b'": ')
    answer = httpx.post(site.webhook, content=changed,
                        headers={"X-Hub-Signature-256": signature})
    assert answer.status_code == 403


async def test_a_signed_body_that_is_not_json_is_a_400(site):
    attempts = await site.fake.deliver(site.webhook, b"not json", attempts=1)
    assert attempts[0].status == 400


async def test_a_batch_answers_every_customer_and_stores_statuses(site):
    ts = site.ts()
    first = await _answered(site, WA, "eins", ts)
    body = whatsapp(wa_value(
        [wa_message("4917000000001", ts, "text", {"body": "zwei"}),
         wa_message("4917000000002", ts, "text", {"body": "drei"})],
        # Out of order: read before delivered; the state stays "read".
        statuses=[wa_status(first, WA, "read", ts + 5), wa_status(first, WA, "delivered", ts + 4)],
        contacts=[("4917000000001", "A"), ("4917000000002", "B")]))
    await site.fake.deliver(site.webhook, body)
    await site.settle(3)
    assert sorted(s.recipient for s in site.fake.sent) == sorted(
        [WA, "4917000000001", "4917000000002"])
    with site.ctx.session() as session:
        row = session.execute(select(Message).where(Message.external_id == first)).scalar_one()
        assert row.delivery_state == "read"


async def _answered(site, wa_id, text, ts) -> str:
    """Deliver a customer text, wait for the answer; return the answer's Meta id."""
    before = len(site.fake.sent)
    await site.fake.deliver(site.webhook, wa_text(wa_id, text, ts=ts))
    await site.settle(before + 1)
    return site.fake.sent[-1].message_id


async def test_a_failed_status_stores_metas_error_code(site):
    sent = await _answered(site, WA, "Hallo", site.ts())
    body = whatsapp(wa_value(statuses=[wa_status(sent, WA, "failed", site.ts(), errors=[
        {"code": 131047, "title": "Re-engagement message"}])]))
    await site.fake.deliver(site.webhook, body)
    await site.settle(1)
    with site.ctx.session() as session:
        row = session.execute(select(Message).where(Message.external_id == sent)).scalar_one()
        assert (row.delivery_state, row.delivery_error) == ("failed", 131047)


async def test_an_image_gets_a_polite_answer_with_a_person_on_offer_and_is_not_fetched(site):
    media_id = site.fake.add_media(b"\x89PNG...", "image/png")
    body = whatsapp(wa_value([wa_message(WA, site.ts(), "image", {
        "id": media_id, "mime_type": "image/png", "sha256": "abc"})], contacts=[(WA, "E")]))
    await site.fake.deliver(site.webhook, body)
    await site.settle(1)
    assert site.relay.sent == []  # the assistant reads words only
    [sent] = site.fake.sent
    text = sent.payload["interactive"]["body"]["text"]
    assert "Bild" in text and "Person" in text
    assert sent.payload["interactive"]["action"]["buttons"][0]["reply"]["id"] == "/human_handoff"
    # Nothing was downloaded: the only calls to the fake were the send.
    assert [method for method, _, _ in site.fake.requests] == ["POST"]
    [conversation] = site.conversations()
    customer = site.messages(conversation.id)[0]
    assert customer.text == "[Bild]" and customer.meta["media_id"] == media_id


async def test_a_messenger_handoff_is_claimed_and_answered_by_an_agent(site):
    ts_ms = site.ts() * 1000
    await site.fake.deliver(site.webhook, ms_text(PSID, "Ich möchte einen Mensch", ts_ms=ts_ms))
    await site.settle(1)
    [conversation] = site.conversations()
    assert (conversation.channel, conversation.state) == ("messenger", "queued")
    assert site.fake.sent[0].payload["message"]["text"] == "Gern verbinde ich Sie …"
    agent = site.agent()
    queue = agent.get("/api/v1/agent/queue").json()["queue"]
    assert [q["conversation_id"] for q in queue] == [conversation.id]
    assert queue[0]["channel"] == "messenger"
    assert agent.post(f"/api/v1/agent/conversations/{conversation.id}/claim").status_code == 200
    await site.settle(2)
    assert site.fake.sent[-1].payload["message"]["text"] == (
        "Sie chatten jetzt mit Mara vom Kundenservice.")
    # A customer message while an agent holds the conversation goes to the console, not Rasa.
    await site.fake.deliver(site.webhook, ms_text(PSID, "Hallo?", ts_ms=ts_ms + 1000))
    await site.settle(1)
    assert len(site.relay.sent) == 1
    answer = agent.post(f"/api/v1/agent/conversations/{conversation.id}/messages",
                        json={"text": "Guten Tag, ich helfe Ihnen gern."})
    assert answer.status_code == 200, answer.text
    assert answer.json()["message"]["agent_name"] == "Mara"  # the alias, never the login
    # The alias was set before Messenger had a persona for it: the first reply made one.
    assert site.fake.persona_requests == [{"name": "Mara"}]
    [persona] = site.fake.personas
    last = site.fake.sent[-1]
    assert last.recipient == PSID
    assert last.payload["persona_id"] == persona
    assert last.payload["message"]["text"] == "Guten Tag, ich helfe Ihnen gern."
    assert last.payload["messaging_type"] == "RESPONSE"
    # 30 hours later: only with the HUMAN_AGENT tag (up to 7 days).
    site.fake.clock.advance(hours=30)
    agent = site.agent()  # a new shift: the console session of yesterday has expired
    later = agent.post(f"/api/v1/agent/conversations/{conversation.id}/messages",
                       json={"text": "Hier noch die Antwort auf Ihre Frage."})
    assert later.status_code == 200, later.text
    assert site.fake.sent[-1].payload["tag"] == "HUMAN_AGENT"
    assert site.fake.sent[-1].payload["persona_id"] == persona
    assert len(site.fake.persona_requests) == 1
    window = agent.get(f"/api/v1/agent/conversations/{conversation.id}/window").json()
    assert window["open"] and window["tag"] == "HUMAN_AGENT"
    # After 7 days nothing free-form: 409 with what is still possible, nothing sent.
    site.fake.clock.advance(days=7)
    agent = site.agent()
    sends = len(site.fake.sent)
    closed = agent.post(f"/api/v1/agent/conversations/{conversation.id}/messages",
                        json={"text": "Sind Sie noch da?"})
    assert closed.status_code == 409
    assert "Antwortfenster" in closed.json()["detail"]
    assert closed.json()["alternatives"] == ["callback"]
    assert len(site.fake.sent) == sends
    callback = agent.post(f"/api/v1/agent/conversations/{conversation.id}/callback",
                          json={"concern": "Rückfrage zur Abschlagszahlung"})
    assert callback.status_code == 200, callback.text


async def test_whatsapp_agent_replies_show_the_alias_and_the_closed_window_offers_a_template(site):
    await site.fake.deliver(site.webhook, wa_text(WA, "Mensch bitte", ts=site.ts()))
    await site.settle(1)
    [conversation] = site.conversations()
    agent = site.agent()
    agent.post(f"/api/v1/agent/conversations/{conversation.id}/claim")
    await site.settle(2)
    ok = agent.post(f"/api/v1/agent/conversations/{conversation.id}/messages",
                    json={"text": "Guten Tag!"})
    assert ok.status_code == 200, ok.text
    assert site.fake.sent[-1].payload["text"]["body"] == "*Mara*\nGuten Tag!"
    site.fake.clock.advance(hours=25)
    agent = site.agent()
    window = agent.get(f"/api/v1/agent/conversations/{conversation.id}/window").json()
    assert not window["open"] and window["alternatives"] == ["template", "callback"]
    assert window["templates"] == ["rueckmeldung_kundenservice"]
    assert "geschlossen" in window["description"]
    refused = agent.post(f"/api/v1/agent/conversations/{conversation.id}/messages",
                         json={"text": "Noch da?"})
    assert refused.status_code == 409
    template = agent.post(f"/api/v1/agent/conversations/{conversation.id}/template",
                          json={"name": "rueckmeldung_kundenservice"})
    assert template.status_code == 200, template.text
    assert site.fake.sent[-1].payload["type"] == "template"
    unknown = agent.post(f"/api/v1/agent/conversations/{conversation.id}/template",
                         json={"name": "werbung"})
    assert unknown.status_code == 422


async def test_a_blocked_contact_is_stored_but_gets_no_answer_and_no_queue_entry(site):
    await site.fake.deliver(site.webhook, wa_text(WA, "Mensch, du Idiot", ts=site.ts()))
    await site.settle(1)
    [conversation] = site.conversations()
    customer = site.messages(conversation.id)[0]
    assert customer.abusive
    agent = site.agent()
    agent.post(f"/api/v1/agent/conversations/{conversation.id}/claim")
    await site.settle(2)  # "Sie chatten jetzt mit Mara …" went to WhatsApp too
    assert "Mara" in site.fake.sent[-1].payload["text"]["body"]
    blocked = agent.post(f"/api/v1/agent/conversations/{conversation.id}/block",
                         json={"hours": 24})
    assert blocked.status_code == 200, blocked.text
    assert blocked.json()["state"] == "closed"
    sends = len(site.fake.sent)
    site.fake.clock.advance(hours=1)
    await site.fake.deliver(site.webhook, wa_text(WA, "Hallo?", ts=site.ts()))
    await site.settle(0)
    assert len(site.fake.sent) == sends
    assert site.count(BlockedContact) == 1
    conversations = site.conversations()
    assert len(conversations) == 2  # the old one closed, the new message kept
    new = next(c for c in conversations if c.id != conversation.id)
    assert new.state == "bot" and [m.text for m in site.messages(new.id)] == ["Hallo?"]
    assert agent.get("/api/v1/agent/queue").json()["queue"] == []
    bad = agent.post(f"/api/v1/agent/conversations/{new.id}/block", json={"hours": "ewig"})
    assert bad.status_code == 422
    nul = agent.post(f"/api/v1/agent/conversations/{new.id}/callback",
                     json={"concern": "Rückruf\u0000bitte"})
    assert nul.status_code == 422 and "unzulässige Zeichen" in nul.json()["detail"]
    broken = agent.post(f"/api/v1/agent/conversations/{new.id}/callback", content=b"{nope")
    assert broken.status_code == 400


async def test_our_own_messenger_echo_is_skipped_and_a_business_suite_echo_is_shown(site):
    ts_ms = site.ts() * 1000
    await site.fake.deliver(site.webhook, ms_text(PSID, "Hallo", ts_ms=ts_ms))
    await site.settle(1)
    ours = site.fake.sent[0].message_id
    body = messenger(
        ms_event(PSID, ts_ms + 10, echo=True, message={
            "mid": ours, "is_echo": True, "app_id": 4455667788, "text": "Die Gaspreisbremse …"}),
        ms_event(PSID, ts_ms + 20, echo=True, message={
            "mid": "m_SUITE1", "is_echo": True, "text": "Gruß aus dem Postfach"}),
    )
    await site.fake.deliver(site.webhook, body)
    await site.settle(1)
    [conversation] = site.conversations()
    texts = [(m.sender, m.text) for m in site.messages(conversation.id)]
    assert texts == [("customer", "Hallo"), ("bot", "Die Gaspreisbremse …"),
                     ("agent", "Gruß aus dem Postfach")]
    assert len(site.fake.sent) == 1


async def test_agent_routes_need_a_login(site):
    assert httpx.get(f"{site.url}/api/v1/agent/conversations/x/window").status_code == 401


def test_mentions_polled_by_the_web_app_appear_in_the_console_and_can_be_marked_done(
    tmp_path, monkeypatch
):
    from tests.social.test_mentions import FeedServer

    feeds = FeedServer()
    monkeypatch.setenv("MENTION_POLLING", "true")
    with serve(feeds.app()) as feed_site:
        settings = dataclasses.replace(
            get_settings(), database_url=f"sqlite:///{tmp_path / 'chat.db'}",
            secret_key="s" * 40, training_worker=False)
        ctx = build_context(settings, relay=FakeRelay())
        ctx.meta = None  # mentions need no Meta app
        ctx.utility = {**ctx.utility, "mention_feeds": {
            "interval_minutes": 15, "terms": ["Stadtwerke Musterstadt"],
            "feeds": [{"name": "Nachrichten", "url": f"{feed_site.url}/news.rss"}]}}
        with serve(create_app(context=ctx), lifespan="on") as web:
            site = Site(web.url, FakeGraph(), ctx, FakeRelay())
            agent = site.agent()
            deadline = time.monotonic() + 10
            mentions = []
            while not mentions and time.monotonic() < deadline:
                mentions = agent.get("/api/v1/agent/mentions").json()["mentions"]
                time.sleep(0.1)
            links = {m["link"]: m for m in mentions}
            assert set(links) == {"https://news.example/a/1", "https://news.example/a/2"}
            gas = links["https://news.example/a/2"]
            assert gas["topic_title"] == "Gaspreisbremse" and gas["done"] is False
            done = agent.post(f"/api/v1/agent/mentions/{gas['key']}/done")
            assert done.status_code == 200
            left = agent.get("/api/v1/agent/mentions").json()["mentions"]
            assert [m["link"] for m in left] == ["https://news.example/a/1"]
            assert agent.post("/api/v1/agent/mentions/unbekannt/done").status_code == 404
            assert httpx.get(f"{web.url}/api/v1/agent/mentions").status_code == 401


async def test_agents_choose_a_public_alias_and_avatar_shown_to_customers(site):
    agent = site.agent(username="bernd", alias=None, avatar=None)
    assert agent.put("/api/v1/agent/profile", json={"alias": "bernd", "avatar": None}
                     ).status_code == 422  # never the login name
    assert agent.put("/api/v1/agent/profile", json={"alias": "Jo", "avatar": "../../x"}
                     ).status_code == 422
    assert agent.put("/api/v1/agent/profile", json={"alias": "<b>", "avatar": None}
                     ).status_code == 422
    ok = agent.put("/api/v1/agent/profile", json={"alias": "Jona", "avatar": "welle"})
    assert ok.status_code == 200 and ok.json()["public_name"] == "Jona"
    assert agent.get("/api/v1/agent/profile").json()["avatar"] == "welle"
    assert httpx.get(f"{site.url}/static/avatars/welle.svg").status_code == 200
    # The web widget sees the alias and the avatar on the agent's messages.
    cid = httpx.post(f"{site.url}/api/v1/conversations").json()["conversation_id"]
    httpx.post(f"{site.url}/api/v1/conversations/{cid}/messages", json={"text": "Mensch"})
    assert agent.post(f"/api/v1/agent/conversations/{cid}/claim").status_code == 200
    agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Hallo!"})
    messages = httpx.get(f"{site.url}/api/v1/conversations/{cid}/messages").json()["messages"]
    joined, reply = messages[-2], messages[-1]
    assert joined["text"] == "Sie chatten jetzt mit Jona vom Kundenservice."
    assert (reply["agent_name"], reply["agent_avatar"]) == ("Jona", "welle")
    assert "bernd" not in str(messages).lower()


async def _messenger_conversation_claimed_by(site, agent) -> str:
    """A Messenger customer asks for a person; ``agent`` claims the conversation."""
    await site.fake.deliver(site.webhook, ms_text(PSID, "Ich möchte einen Mensch",
                                                  ts_ms=site.ts() * 1000))  # fmt: skip
    await site.settle(1)
    [conversation] = site.conversations()
    assert agent.post(f"/api/v1/agent/conversations/{conversation.id}/claim").status_code == 200
    await site.settle(2)  # "Sie chatten jetzt mit …" went to Messenger
    return conversation.id


async def _until(check, timeout: float = 10.0):
    """Wait until ``check()`` is true (the persona is made after the profile's answer)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def _persona_of(site, username: str) -> str | None:
    with site.ctx.session() as session:
        return session.execute(
            select(Agent.messenger_persona_id).where(Agent.username == username)
        ).scalar_one()


async def test_the_alias_becomes_the_messenger_persona_of_the_agents_replies(site):
    agent = site.agent(username="bernd", alias=None, avatar=None)
    ok = agent.put("/api/v1/agent/profile", json={"alias": "Jona", "avatar": "welle"})
    assert ok.status_code == 200, ok.text
    await _until(lambda: _persona_of(site, "bernd") is not None)
    assert site.fake.persona_requests == [{"name": "Jona"}]  # the alias, no login, no picture
    [persona] = site.fake.personas
    assert _persona_of(site, "bernd") == persona
    cid = await _messenger_conversation_claimed_by(site, agent)
    reply = agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Hallo!"})
    assert reply.status_code == 200, reply.text
    sent = site.fake.sent[-1]
    assert (sent.recipient, sent.payload["persona_id"]) == (PSID, persona)
    assert sent.payload["message"]["text"] == "Hallo!"  # Messenger shows the persona's name
    # A new alias replaces the persona: the old one is deleted, the next reply shows the new.
    renamed = agent.put("/api/v1/agent/profile", json={"alias": "Jonas", "avatar": "welle"})
    assert renamed.status_code == 200
    await _until(lambda: _persona_of(site, "bernd") not in (None, persona))
    assert [p["name"] for p in site.fake.personas.values()] == ["Jonas"]
    assert ("DELETE", f"/v24.0/{persona}", 200) in site.fake.requests
    agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Noch etwas?"})
    assert site.fake.sent[-1].payload["persona_id"] == _persona_of(site, "bernd")
    # Only the avatar changes: Messenger's persona stays (it has no picture).
    agent.put("/api/v1/agent/profile", json={"alias": "Jonas", "avatar": "berg"})
    await site.settle(0)
    assert len(site.fake.persona_requests) == 2 and len(site.fake.personas) == 1
    assert "bernd" not in str(site.fake.persona_requests).lower()


async def test_a_failed_persona_keeps_the_alias_and_the_reply_shows_the_name(site, caplog):
    agent = site.agent(username="bernd", alias=None, avatar=None)
    site.fake.fail_next(403, 200, "(#200) Requires pages_messaging permission")
    ok = agent.put("/api/v1/agent/profile", json={"alias": "Jona", "avatar": None})
    assert ok.status_code == 200 and ok.json()["public_name"] == "Jona"
    await _until(lambda: ("POST", "/v24.0/me/personas", 403) in site.fake.requests)
    await site.settle(0)
    assert "persona of agent" in caplog.text and "GraphAuthError (code 200)" in caplog.text
    assert _persona_of(site, "bernd") is None and site.fake.personas == {}
    cid = await _messenger_conversation_claimed_by(site, agent)
    reply = agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Hallo!"})
    assert reply.status_code == 200, reply.text
    sent = site.fake.sent[-1]
    assert sent.payload["message"]["text"] == "Jona: Hallo!" and "persona_id" not in sent.payload
    assert len(site.fake.persona_requests) == 0  # no new try within RETRY_AFTER
    # Later the next reply makes the persona and is sent as it.
    site.fake.clock.advance(minutes=11)
    later = agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Da?"})
    assert later.status_code == 200, later.text
    [persona] = site.fake.personas
    assert site.fake.sent[-1].payload["persona_id"] == persona
    assert site.fake.sent[-1].payload["message"]["text"] == "Da?"


def _messenger_requests(site) -> list[int]:
    """The statuses of every Messenger send the fake answered, in order."""
    return [
        status
        for method, path, status in site.fake.requests
        if (method, path) == ("POST", "/v24.0/me/messages")
    ]


async def _agent_with_persona(site, username: str, alias: str) -> tuple[httpx.Client, str]:
    agent = site.agent(username=username, alias=None, avatar=None)
    assert (
        agent.put("/api/v1/agent/profile", json={"alias": alias, "avatar": None}).status_code == 200
    )
    await _until(lambda: _persona_of(site, username) is not None)
    await site.settle(0)
    return agent, _persona_of(site, username)


async def test_a_persona_deleted_in_metas_tools_gives_way_to_the_name_and_a_new_persona(
    site, caplog
):
    agent, persona = await _agent_with_persona(site, "bernd", "Jona")
    cid = await _messenger_conversation_claimed_by(site, agent)
    site.fake.delete_persona_in_metas_tools(persona)
    sends, tries = len(site.fake.sent), len(_messenger_requests(site))
    reply = agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Hallo!"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["message"]["delivery_state"] == "sent"
    # Refused once for the persona, then delivered once, with the name before the text.
    assert _messenger_requests(site)[tries:] == [400, 200]
    [sent] = site.fake.sent[sends:]
    assert sent.payload["message"]["text"] == "Jona: Hallo!" and "persona_id" not in sent.payload
    stored = site.messages(cid)[-1]
    assert (stored.text, stored.external_id, stored.delivery_state) == (
        "Hallo!",
        sent.message_id,
        "sent",
    )
    assert _persona_of(site, "bernd") is None
    assert "persona of agent" in caplog.text and "refused by Meta" in caplog.text
    assert "Jona" not in caplog.text and site.fake.access_token not in caplog.text
    # The next reply makes a new persona from the alias and is sent as it.
    later = agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Da?"})
    assert later.status_code == 200, later.text
    [new] = site.fake.personas
    assert new != persona and _persona_of(site, "bernd") == new
    assert [p["name"] for p in site.fake.persona_requests] == ["Jona", "Jona"]
    assert site.fake.sent[-1].payload["persona_id"] == new
    assert site.fake.sent[-1].payload["message"]["text"] == "Da?"
    assert len(site.fake.sent) == sends + 2


async def test_a_refusal_for_another_reason_keeps_the_persona_and_fails_as_before(site):
    agent, persona = await _agent_with_persona(site, "bernd", "Jona")
    cid = await _messenger_conversation_claimed_by(site, agent)
    sends, tries = len(site.fake.sent), len(_messenger_requests(site))
    # Not an invalid parameter (the customer cannot be reached): no second try.
    site.fake.unreachable.add(PSID)
    gone = agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Hallo!"})
    assert gone.status_code == 502, gone.text
    assert gone.json()["message"]["delivery_state"] == "failed"
    assert _messenger_requests(site)[tries:] == [400]
    site.fake.unreachable.clear()
    # An invalid parameter that is not the persona: Meta refuses the reply without it too.
    site.fake.fail_next(400, 100, "(#100) Invalid parameter", times=2)
    refused = agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Da?"})
    assert refused.status_code == 502, refused.text
    assert "Fehler 100" in refused.json()["detail"]
    assert _messenger_requests(site)[tries + 1 :] == [400, 400]
    assert len(site.fake.sent) == sends
    assert [m.delivery_state for m in site.messages(cid)[-2:]] == ["failed", "failed"]
    assert _persona_of(site, "bernd") == persona and persona in site.fake.personas
    # Meta takes the next reply as the persona.
    ok = agent.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Jetzt?"})
    assert ok.status_code == 200, ok.text
    assert site.fake.sent[-1].payload["persona_id"] == persona


def _admin(site) -> httpx.Client:
    return site.agent(username="alex", alias=None, avatar=None, role="admin")


def _user_id(site, username: str) -> int:
    with site.ctx.session() as session:
        return session.execute(select(Agent.id).where(Agent.username == username)).scalar_one()


async def test_deactivating_or_deleting_an_agent_deletes_their_persona_on_meta(site):
    _, bernd = await _agent_with_persona(site, "bernd", "Jona")
    _, carla = await _agent_with_persona(site, "carla", "Clara")
    admin = _admin(site)
    off = admin.patch(f"/api/admin/users/{_user_id(site, 'bernd')}", json={"active": False})
    assert off.status_code == 200, off.text
    assert _persona_of(site, "bernd") is None  # cleared with the deactivation
    await _until(lambda: bernd not in site.fake.personas)
    assert ("DELETE", f"/v24.0/{bernd}", 200) in site.fake.requests
    gone = admin.delete(f"/api/admin/users/{_user_id(site, 'carla')}")
    assert gone.status_code == 204, gone.text
    await _until(lambda: carla not in site.fake.personas)
    assert site.fake.personas == {}
    # Reactivated, the agent's next Messenger reply makes a new persona (the lazy path).
    on = admin.patch(f"/api/admin/users/{_user_id(site, 'bernd')}", json={"active": True})
    assert on.status_code == 200 and _persona_of(site, "bernd") is None
    assert site.fake.requests.count(("DELETE", f"/v24.0/{bernd}", 200)) == 1


async def test_a_failed_persona_deletion_never_fails_the_user_deletion(site, caplog):
    _, persona = await _agent_with_persona(site, "bernd", "Jona")
    admin = _admin(site)
    site.fake.fail_next(403, 200, "(#200) Requires pages_messaging permission (Jona)")
    gone = admin.delete(f"/api/admin/users/{_user_id(site, 'bernd')}")
    assert gone.status_code == 204, gone.text
    await _until(lambda: ("DELETE", f"/v24.0/{persona}", 403) in site.fake.requests)
    await site.settle(0)
    with site.ctx.session() as session:
        assert session.execute(select(Agent).where(Agent.username == "bernd")).first() is None
    assert "deleting a departed agent's Messenger persona failed: GraphAuthError (code 200)" in (
        caplog.text
    )
    assert "Jona" not in caplog.text and site.fake.access_token not in caplog.text
    assert persona in site.fake.personas  # left over on Meta: it shows nothing to anyone


async def test_the_admin_dashboard_counts_abusive_conversations_per_week(site):
    await site.fake.deliver(site.webhook, wa_text(WA, "Du Idiot!", ts=site.ts()))
    await site.fake.deliver(site.webhook, wa_text("4917000000003", "Danke", ts=site.ts()))
    await site.settle(2)
    with site.ctx.session() as session:
        set_user(session=session, username="alex", role="admin", display_name="Alex",
                 password=PASSWORD)
    admin = httpx.Client(base_url=site.url, timeout=10)
    page = admin.get("/agent/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    admin.post("/agent/login", data={"username": "alex", "password": PASSWORD,
                                     "csrf_token": token})
    weeks = admin.get("/api/admin/abuse", params={"weeks": 4}).json()["weeks"]
    assert len(weeks) == 4
    year, week, _ = site.fake.clock().isocalendar()
    assert weeks[-1] == {"week": f"{year}-W{week:02d}", "conversations": 1}
    assert sum(w["conversations"] for w in weeks) == 1
    assert admin.get("/api/admin/abuse", params={"weeks": "x"}).status_code == 422
    channels = {c["channel"]: c for c in admin.get("/api/admin/channels").json()["channels"]}
    assert channels["whatsapp"] == {"channel": "whatsapp", "label": "WhatsApp",
                                    "conversations": 2, "handoffs": 0, "abusive": 1}
    assert channels["web"]["conversations"] == 0 and channels["messenger"]["abusive"] == 0
    agent = site.agent()
    assert agent.get("/api/admin/abuse").status_code == 403


async def test_logs_show_contact_ids_masked(site, caplog):
    caplog.set_level("INFO")
    site.fake.unreachable.add(WA)  # Meta refuses the answer: the failure is logged
    await site.fake.deliver(site.webhook, wa_text(WA, "Hallo", ts=site.ts()))
    await site.settle(0)
    await site.fake.deliver(site.webhook, wa_text(WA, "Hallo", ts=site.ts(), msg_id="wamid.X"))
    await site.fake.deliver(site.webhook, wa_text(WA, "Hallo", ts=site.ts(), msg_id="wamid.X"))
    await site.settle(0)
    assert "sending to whatsapp …678 failed: InvalidRecipient" in caplog.text
    assert "seen before" in caplog.text
    assert WA not in caplog.text and "Erika" not in caplog.text
    [conversation] = site.conversations()
    answer = [m for m in site.messages(conversation.id) if m.sender == "bot"][0]
    assert (answer.delivery_state, answer.delivery_error) == ("failed", 131026)


async def test_the_assistants_upset_answer_flags_the_message_and_web_insults_are_flagged(site):
    original = site.relay.send

    async def upset(sender, text, metadata=None, *, message_id=None):
        if "abzocker" in text.lower():
            return [BotMessage("Ich verstehe, dass Sie das belastet …",
                               metadata={"utter_action": "utter_upset"})]
        return await original(sender, text, metadata, message_id=message_id)

    site.relay.send = upset
    await site.fake.deliver(site.webhook, wa_text(WA, "Ihr Abzocker!", ts=site.ts()))
    await site.settle(1)
    [conversation] = site.conversations()
    assert site.messages(conversation.id)[0].abusive  # no listed word, but upset
    # The web widget: the word list applies to typed messages too.
    cid = httpx.post(f"{site.url}/api/v1/conversations").json()["conversation_id"]
    httpx.post(f"{site.url}/api/v1/conversations/{cid}/messages", json={"text": "Du Idiot, Mensch"})
    httpx.post(f"{site.url}/api/v1/conversations/{cid}/messages", json={"text": "Hallo"})
    agent = site.agent()
    queue = agent.get("/api/v1/agent/queue", params={"channel": "web"}).json()["queue"]
    assert [q["conversation_id"] for q in queue] == [cid]
    assert agent.get("/api/v1/agent/queue", params={"channel": "messenger"}).json()["queue"] == []
    agent.post(f"/api/v1/agent/conversations/{cid}/claim")
    shown = agent.get(f"/api/v1/agent/conversations/{cid}").json()
    flags = [(m["text"], m["abusive"]) for m in shown["messages"] if m["sender"] == "customer"]
    assert flags == [("Du Idiot, Mensch", True), ("Hallo", False)]
    assert shown["channel"] == "web"
