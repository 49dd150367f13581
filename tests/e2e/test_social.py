"""WhatsApp and Messenger end to end: the fake Meta (tests/social/fake_graph.py, real HTTP) signs
and delivers webhooks to a web app process configured with ``META_*``, which answers through the
real Rasa server, action server and trained model, and sends through the fake Graph API.

* a WhatsApp question answered by the assistant;
* a redelivered message answered once;
* bad and missing signatures ``403``, nothing stored;
* a Messenger handoff claimed and answered by an agent in the browser console.
"""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from bot.chat.db import make_engine
from bot.chat.models import Conversation, Message
from bot.devserver import web_app
from tests.e2e.conftest import RASA_TOKEN
from tests.e2e.test_browser import browser, login_agent  # noqa: F401 - the browser fixture
from tests.slots import port
from tests.social.fake_graph import FakeClock, FakeGraph, serve
from tests.social.payloads import ms_text, wa_text

pytestmark = pytest.mark.slow

SOCIAL_WEB_PORT = port(15010)
VERIFY = "e2e-verify"


@pytest.fixture(scope="module")
def fake():
    graph = FakeGraph(clock=FakeClock(datetime.now(timezone.utc)))
    with serve(graph.app()) as served:
        graph.base_url = served.url
        yield graph


@pytest.fixture(scope="module")
def social_url(fake, rasa_url, log_dir, knowledge_copy, database_url, model_dir):
    web = web_app(
        port=SOCIAL_WEB_PORT,
        rasa_url=rasa_url,
        log_path=log_dir / "web-social.log",
        extra_env={
            "DATABASE_URL": database_url,
            "KNOWLEDGE_DIR": str(knowledge_copy),
            "MODEL_DIR": str(model_dir),
            "TRAINING_WORK_DIR": str(model_dir.parent / "training-social"),
            "RASA_TOKEN": RASA_TOKEN,
            "META_APP_SECRET": fake.app_secret,
            "META_VERIFY_TOKEN": VERIFY,
            "META_ACCESS_TOKEN": fake.access_token,
            "GRAPH_API_URL": fake.api_url,
            "WHATSAPP_PHONE_NUMBER_ID": fake.phone_number_id,
            "MESSENGER_PAGE_ID": fake.page_id,
        },
    ).start()
    try:
        web.wait_ready()
        yield f"http://127.0.0.1:{SOCIAL_WEB_PORT}"
    finally:
        web.stop()


@pytest.fixture(scope="module")
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def deliver(fake, url: str, body, **options) -> list:
    """``fake.deliver`` from synchronous code, in its own thread: Playwright's sync API keeps an
    event loop running in the test's thread, where ``asyncio.run`` is not allowed."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, fake.deliver(url, body, **options)).result()


def sent_to(fake, recipient: str) -> list:
    return [s for s in fake.sent if s.recipient == recipient]


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def text_of(sent) -> str:
    payload = sent.payload
    if payload.get("type") == "text":
        return payload["text"]["body"]
    if payload.get("type") == "interactive":
        return payload["interactive"]["body"]["text"]
    return payload.get("message", {}).get("text", "")


def contact_messages(engine, contact_id: str) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(Message.sender, Message.text)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.contact_id == contact_id)
            .order_by(Message.id)
        ).all()
    return [(sender, text) for sender, text in rows]


def test_a_whatsapp_question_is_answered_by_the_assistant_once(fake, social_url, engine):
    wa_id = "4915100000001"
    body = wa_text(wa_id, "Wie funktionierte die Strompreisbremse?",
                   ts=int(time.time()), msg_id="wamid.E2E-ONE")
    attempts = deliver(fake, f"{social_url}/webhooks/meta", body)
    assert [a.status for a in attempts] == [200]
    wait_for(lambda: sent_to(fake, wa_id))
    answers = sent_to(fake, wa_id)
    assert "40 ct/kWh" in " ".join(text_of(s) for s in answers)
    assert all(s.channel == "whatsapp" for s in answers)
    # Meta delivers the same message again: not a second answer.
    count = len(answers)
    deliver(fake, f"{social_url}/webhooks/meta", body)
    time.sleep(3)
    assert len(sent_to(fake, wa_id)) == count
    stored = contact_messages(engine, wa_id)
    assert stored[0] == ("customer", "Wie funktionierte die Strompreisbremse?")
    assert [s for s, _ in stored].count("customer") == 1


@pytest.mark.parametrize("signature", [None, "sha256=" + "1" * 64])
def test_bad_and_missing_signatures_are_refused_and_nothing_is_stored(
    fake, social_url, engine, signature
):
    wa_id = "4915100000002"
    body = wa_text(wa_id, "Hallo", ts=int(time.time()))
    attempts = deliver(fake, f"{social_url}/webhooks/meta", body,
                       signature=signature, attempts=1)
    assert [a.status for a in attempts] == [403]
    time.sleep(1)
    with engine.connect() as connection:
        found = connection.execute(select(func.count()).select_from(Conversation)
                                   .where(Conversation.contact_id == wa_id)).scalar_one()
    assert found == 0 and sent_to(fake, wa_id) == []


def test_a_messenger_handoff_is_claimed_and_answered_in_the_browser_console(
    fake, social_url, browser  # noqa: F811
):
    psid = "7000000000000001"
    body = ms_text(psid, "Ich möchte mit einem Menschen sprechen", ts_ms=int(time.time() * 1000))
    deliver(fake, f"{social_url}/webhooks/meta", body)
    wait_for(lambda: sent_to(fake, psid))
    agent_context, agent = login_agent(browser, social_url)
    try:
        entry = agent.locator(".q-item", has_text="Messenger").first
        expect(entry).to_be_visible(timeout=15000)
        entry.get_by_role("button", name="Übernehmen").click()
        wait_for(lambda: any("Sie chatten jetzt mit" in text_of(s)
                             for s in sent_to(fake, psid)))
        agent.get_by_label("Antwort an die Kundin oder den Kunden").fill(
            "Guten Tag, ich kümmere mich um Ihr Anliegen.")
        agent.get_by_role("button", name="Senden").click()
        wait_for(lambda: any("ich kümmere mich" in text_of(s) for s in sent_to(fake, psid)))
        reply = [s for s in sent_to(fake, psid) if "ich kümmere mich" in text_of(s)][0]
        assert re.match(r"^\w+: Guten Tag", text_of(reply))  # the agent's public name first
        assert reply.payload["recipient"] == {"id": psid}
        # The customer's next message appears in the console.
        later = ms_text(psid, "Danke, es geht um meinen Abschlag.",
                        ts_ms=int(time.time() * 1000))
        deliver(fake, f"{social_url}/webhooks/meta", later)
        expect(agent.get_by_role("log", name="Gesprächsverlauf")).to_contain_text(
            "meinen Abschlag", timeout=15000)
        # The console shows the channel and its messaging window.
        expect(agent.locator("#chat-title .badge")).to_have_text("Messenger")
        expect(agent.locator("#chat-window")).to_contain_text("Antwort möglich")
        # An insult arrives blurred; the agent chooses to read it.
        insult = ms_text(psid, "Sie Idiot!", ts_ms=int(time.time() * 1000))
        deliver(fake, f"{social_url}/webhooks/meta", insult)
        reveal = agent.get_by_role("button", name="Beleidigende Nachricht – anzeigen")
        expect(reveal).to_be_visible(timeout=15000)
        blurred = agent.locator(".bubble--abusive").last
        expect(blurred).not_to_have_class(re.compile("bubble--shown"))
        reveal.click()
        expect(blurred).to_have_class(re.compile("bubble--shown"))
        expect(blurred).to_contain_text("Sie Idiot!")
    finally:
        agent_context.close()
