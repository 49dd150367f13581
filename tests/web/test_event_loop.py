"""No blocking call on the event loop: database, rate limiters and the queue stay in threads.

One event loop serves every customer and agent of a web app process: a database query or a
Redis round trip on it stalls every WebSocket and every relay to Rasa meanwhile. Routes that
use the database are plain ``def`` (FastAPI's thread pool); ``async`` routes hand such calls to
a thread (``bot.web.deps.in_thread``). The :func:`loop_guard` fixture records every SQL
statement and every rate limiter call made on the loop's thread (and a live-event subscription
made off it); :func:`guarded_client` fails the test when any was recorded. Drive any API through
it to guard its routes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from starlette.websockets import WebSocketDisconnect

from bot.chat import repository as repo
from bot.social import store
from bot.social.settings import MetaSettings
from bot.web import social_api
from bot.web.app import create_app
from bot.web.deps import in_thread
from bot.web.users import set_user
from tests.web.conftest import PASSWORD, log_in

LIMITERS = ("message_limiter", "conversation_limiter", "login_limiter", "login_name_limiter",
            "callback_limiter", "feedback_limiter")


def on_event_loop() -> bool:
    """True on a thread running an event loop (the app's), False in worker threads and tests."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@dataclasses.dataclass
class LoopGuard:
    """What ran on the wrong thread: blocking calls on the loop, subscriptions off it."""

    violations: list[str] = dataclasses.field(default_factory=list)

    def blocking(self, what: str) -> None:
        """A blocking call is about to run: recorded when on the event loop."""
        if on_event_loop():
            self._record(f"{what} on the event loop")

    def loop_only(self, what: str) -> None:
        """A call that needs the event loop (asyncio queues) is about to run."""
        if not on_event_loop():
            self._record(f"{what} off the event loop ({threading.current_thread().name})")

    def _record(self, message: str) -> None:
        # The project's frames only: the route that made the call, not SQLAlchemy's insides.
        frames = [f for f in traceback.extract_stack()[:-3] if "site-packages" not in f.filename]
        stack = "".join(traceback.format_list(frames[-6:]))
        self.violations.append(f"{message}\n{stack}")

    def assert_clean(self) -> None:
        """Fail with the first offenders' stacks."""
        if self.violations:
            pytest.fail(f"{len(self.violations)} call(s) on the wrong thread; the first ones:\n\n"
                        + "\n\n".join(self.violations[:3]), pytrace=False)


class _GuardedLimiter:
    """A rate limiter whose every call is checked (it may talk to Redis)."""

    def __init__(self, limiter: Any, name: str, guard: LoopGuard) -> None:
        self._limiter, self._name, self._guard = limiter, name, guard

    def __getattr__(self, attribute: str) -> Any:
        value = getattr(self._limiter, attribute)
        if not callable(value):
            return value

        def checked(*args: Any, **kwargs: Any) -> Any:
            self._guard.blocking(f"{self._name}.{attribute}()")
            return value(*args, **kwargs)

        return checked


@pytest.fixture
def loop_guard(ctx) -> Iterator[LoopGuard]:
    """Watch ``ctx``: SQL statements and rate limiters off the loop, subscriptions on it."""
    guard = LoopGuard()
    engine = ctx.sessions.kw["bind"]

    def before_execute(conn, cursor, statement, parameters, context, executemany) -> None:
        guard.blocking(f"SQL {statement.split()[0]}")

    event.listen(engine, "before_cursor_execute", before_execute)
    limiters = {name: getattr(ctx, name) for name in LIMITERS}
    for name, limiter in limiters.items():
        setattr(ctx, name, _GuardedLimiter(limiter, name, guard))
    subscribe, unsubscribe = ctx.hub.subscribe, ctx.hub.unsubscribe

    def watched(method: Callable[..., Any], name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            guard.loop_only(f"hub.{name}()")
            return method(*args, **kwargs)

        return call

    ctx.hub.subscribe = watched(subscribe, "subscribe")
    ctx.hub.unsubscribe = watched(unsubscribe, "unsubscribe")
    try:
        yield guard
    finally:
        event.remove(engine, "before_cursor_execute", before_execute)
        for name, limiter in limiters.items():
            setattr(ctx, name, limiter)
        del ctx.hub.subscribe, ctx.hub.unsubscribe


@pytest.fixture
def guarded_client(ctx, loop_guard) -> Iterator[TestClient]:
    """A client of the app on ``ctx``; the test fails if a route blocked the event loop."""
    with TestClient(create_app(context=ctx)) as client:
        yield client
    loop_guard.assert_clean()


def make_user(ctx, username: str, role: str) -> None:
    with ctx.session() as session:
        set_user(session=session, username=username, role=role,
                 display_name=username.title(), password=PASSWORD)


# --- the guard itself -------------------------------------------------------------------------


def test_the_guard_sees_a_query_on_the_event_loop(ctx, loop_guard):
    async def blocking_route() -> None:
        with ctx.session() as session:
            repo.queue(session=session)

    asyncio.run(blocking_route())
    assert loop_guard.violations and "SQL SELECT on the event loop" in loop_guard.violations[0]


def test_the_guard_lets_threads_query(ctx, loop_guard):
    async def good_route() -> None:
        def query() -> None:
            with ctx.session() as session:
                repo.queue(session=session)

        await in_thread(query)
        ctx.hub.unsubscribe("c", ctx.hub.subscribe("c"))

    asyncio.run(good_route())
    loop_guard.assert_clean()


# --- the chat API -----------------------------------------------------------------------------


def test_a_customers_chat_never_blocks_the_loop(guarded_client, relay):
    client = guarded_client
    assert client.get("/api/v1/config").status_code == 200
    conversation_id = client.post("/api/v1/conversations", json={"page": "start"}).json()[
        "conversation_id"]
    url = f"/api/v1/conversations/{conversation_id}"
    with client.websocket_connect(f"{url}/ws") as live:
        assert live.receive_json()["type"] == "state"
        answer = client.post(f"{url}/messages", json={"text": "Was ist die Gaspreisbremse?"})
        assert answer.status_code == 200, answer.text
        assert live.receive_json()["type"] == "message"  # the customer's own message
    assert client.post(f"{url}/messages", json={"text": "Wie wird das Wetter?"}).status_code == 200
    rated = client.post(f"{url}/feedback", json={
        "faq_id": "gaspreisbremse", "content_version": 3, "helpful": False})
    assert rated.status_code == 204, rated.text
    assert len(client.get(f"{url}/messages").json()["messages"]) == 4
    relay.down = True  # the notice without Rasa, then the direct way to a person
    assert client.post(f"{url}/messages", json={"text": "Hallo?"}).status_code == 200
    queued = client.post(f"{url}/messages", json={"payload": "/human_handoff", "title": "Mensch"})
    assert queued.json()["state"] == "queued"
    assert client.post(f"{url}/messages", json={"text": "Noch da?"}).json()["state"] == "queued"
    ticket = client.post(f"{url}/callback", json={
        "name": "Eva", "contact": "eva@example.org", "concern": "Bitte um Rückruf"})
    assert ticket.status_code == 201, ticket.text
    assert client.delete(url).status_code == 204
    assert client.get(f"{url}/messages").status_code == 404


def test_refused_chat_requests_never_block_the_loop(guarded_client):
    client = guarded_client
    unknown = "/api/v1/conversations/unknown-conversation"
    assert client.post(f"{unknown}/messages", json={"text": "Hallo"}).status_code == 404
    assert client.post(f"{unknown}/feedback", json={
        "faq_id": "x", "helpful": True}).status_code == 404
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect(f"{unknown}/ws"):
        pass
    assert closed.value.code == 4404


# --- pages and probes --------------------------------------------------------------------------


def test_pages_and_probes_never_block_the_loop(ctx, guarded_client):
    client = guarded_client
    make_user(ctx, "erik", "editor")
    make_user(ctx, "ada", "admin")
    for path in ("/health", "/ready", "/", "/brand.css", "/faq", "/faq?q=gas", "/agent/login"):
        assert client.get(path).status_code == 200, path
    failed = client.post("/agent/login", data={"username": "erik", "password": "falsch",
                                               "csrf_token": "x"})
    assert failed.status_code == 403
    log_in(client, "erik")
    assert client.get("/editor/").status_code == 200
    assert client.get("/admin/").status_code == 403
    assert client.get("/agent/", follow_redirects=False).status_code == 303
    client.post("/agent/logout", follow_redirects=False)
    log_in(client, "ada")
    assert client.get("/admin/datenschutz").status_code == 200
    assert client.get("/agent/").status_code == 200


# --- WhatsApp and Messenger in the agents' console --------------------------------------------


def test_the_social_console_never_blocks_the_loop(ctx, loop_guard):
    ctx.meta = MetaSettings(app_secret="a" * 32, verify_token="v", access_token="t",
                            graph_api_url="http://127.0.0.1:9/v24.0",
                            whatsapp_phone_number_id="1", whatsapp_templates=("rueckmeldung",))
    make_user(ctx, "anna", "agent")
    make_user(ctx, "ada", "admin")
    with ctx.session() as session:
        conversation = store.start_conversation(session=session, channel="whatsapp",
                                                contact_id="4915112345678", contact_name="Eva",
                                                now=ctx.clock())
        conversation_id = conversation.id
    url = f"/api/v1/agent/conversations/{conversation_id}"
    with TestClient(create_app(context=ctx)) as agent, \
            TestClient(create_app(context=ctx)) as admin:
        log_in(agent, "anna")
        log_in(admin, "ada")
        assert agent.get(f"{url}/window").status_code == 200
        assert agent.post(f"{url}/template", json={"name": "rueckmeldung"}).status_code == 409
        callback = agent.post(f"{url}/callback", json={"concern": "Rückruf wegen Abschlag"})
        assert callback.status_code == 200, callback.text
        assert agent.post(f"{url}/callback", json={"concern": "noch einmal"}).status_code == 409
        profile = agent.put("/api/v1/agent/profile", json={"alias": "Mara", "avatar": "blatt"})
        assert profile.status_code == 200, profile.text
        assert agent.get("/api/v1/agent/profile").json()["alias"] == "Mara"
        assert agent.get("/api/v1/agent/mentions").json() == {"mentions": []}
        assert agent.post("/api/v1/agent/mentions/x/done", json={}).status_code == 404
        blocked = agent.post(f"{url}/block", json={"hours": 2})
        assert blocked.status_code == 200, blocked.text
        assert admin.get("/api/admin/abuse", params={"weeks": 2}).status_code == 200
        assert admin.get("/api/admin/channels").status_code == 200
    loop_guard.assert_clean()


def test_forwarding_from_a_worker_thread_runs_on_the_loop(ctx):
    seen: list[tuple[str, int, bool]] = []

    class Social:
        def forward_later(self, conversation_id: str, message_id: int) -> None:
            seen.append((conversation_id, message_id, on_event_loop()))

    ctx.social = Social()

    async def route() -> None:
        social_api.forward(ctx, "c1", 1)  # an async route
        await in_thread(social_api.forward, ctx, "c2", 2)  # a plain def route

    asyncio.run(route())
    assert seen == [("c1", 1, True), ("c2", 2, True)]


# --- the agents' console ------------------------------------------------------------------------


def test_the_agent_console_never_blocks_the_loop(ctx, guarded_client):
    client = guarded_client
    make_user(ctx, "anna", "agent")
    with ctx.session() as session:  # a customer waiting (the chat API has its own test)
        conversation_id = repo.create_conversation(session=session, now=ctx.clock()).id
        repo.add_message(session=session, conversation_id=conversation_id, sender="customer",
                         text="Ich will einen Menschen", now=ctx.clock())
        repo.enqueue(session=session, conversation_id=conversation_id, now=ctx.clock())
    url = f"/api/v1/agent/conversations/{conversation_id}"
    assert client.get("/api/v1/agent/queue").status_code == 401  # the refusal, too
    log_in(client, "anna")
    with client.websocket_connect("/api/v1/agent/ws") as live:
        [waiting] = live.receive_json()["queue"]
        assert waiting["conversation_id"] == conversation_id
        queue = client.get("/api/v1/agent/queue", params={"channel": "web"}).json()["queue"]
        assert [q["conversation_id"] for q in queue] == [conversation_id]
        assert client.post(f"{url}/claim").json() == {"state": "agent"}
        assert live.receive_json()["type"] == "message"  # "Sie chatten jetzt mit Anna …"
        assert live.receive_json() == {"type": "queue", "queue": []}
        sent = client.post(f"{url}/messages", json={"text": "Hallo, hier ist Anna."})
        assert sent.status_code == 200, sent.text
        assert live.receive_json()["message"]["text"] == "Hallo, hier ist Anna."
    assert client.get(url).json()["state"] == "agent"
    assert client.get("/api/v1/agent/canned").status_code == 200
    assert client.get("/api/v1/agent/tickets").status_code == 200
    assert client.post(f"{url}/handback").json() == {"state": "bot"}
    assert client.post(f"{url}/close").status_code == 409  # with the assistant again
    assert client.post("/api/v1/agent/conversations/unknown/claim").status_code == 404


def test_an_agents_steps_in_a_whatsapp_chat_never_block_the_loop(ctx, loop_guard):
    ctx.meta = MetaSettings(app_secret="a" * 32, verify_token="v", access_token="t",
                            graph_api_url="http://127.0.0.1:9/v24.0",
                            whatsapp_phone_number_id="1", whatsapp_templates=())
    make_user(ctx, "anna", "agent")
    with ctx.session() as session:
        conversation_id = store.start_conversation(
            session=session, channel="whatsapp", contact_id="4915112345678",
            contact_name="Eva", now=ctx.clock()).id
        repo.enqueue(session=session, conversation_id=conversation_id, now=ctx.clock())
    url = f"/api/v1/agent/conversations/{conversation_id}"
    app = create_app(context=ctx)
    forwarded: list[bool] = []  # on the loop?
    forward_later = ctx.social.forward_later

    def spy(conversation_id: str, message_id: int) -> None:
        forwarded.append(on_event_loop())
        forward_later(conversation_id, message_id)

    ctx.social.forward_later = spy
    with TestClient(app) as agent:
        log_in(agent, "anna")
        # The system messages go to WhatsApp too: from the route's thread, sent on the loop.
        assert agent.post(f"{url}/claim").json() == {"state": "agent"}
        assert agent.post(f"{url}/handback").json() == {"state": "bot"}
    assert forwarded == [True, True]
    loop_guard.assert_clean()
