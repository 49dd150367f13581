"""A web app on a temporary SQLite database with a scripted Rasa (the real relay is e2e)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.settings import get_settings
from bot.web.app import build_context, create_app
from bot.web.rasa_relay import BotMessage, RasaUnavailable
from bot.web.users import set_user
from tests.chat.test_repository import POSTGRES_URL

OPEN = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)  # Monday, 11:00 in Berlin


class FakeRelay:
    """Answers like the assistant would; ``down`` makes it fail like an unreachable Rasa.

    "Mensch" asks for a person, "Abend" gets the offline handoff, "Wetter" a fallback (metadata
    ``decision: fallback``), "versteh" the reply to an answer not understood (``decision:
    unclear``), anything else the Gaspreisbremse answer.
    """

    def __init__(self):
        self.sent = []
        self.message_ids = []
        self.down = False
        self.silent = False  # answers nothing, like Rasa whose action server is away

    async def send(self, sender, text, metadata=None, *, message_id=None):
        self.sent.append((sender, text))
        self.message_ids.append(message_id)
        if self.down:
            raise RasaUnavailable("down")
        if self.silent:
            return []
        if "mensch" in text.lower() or text == "/human_handoff":
            return [BotMessage("Gern verbinde ich Sie …", metadata={"handoff": "queued"})]
        if "abend" in text.lower():
            return [BotMessage("Gerade nicht erreichbar …", metadata={"handoff": "offline"})]
        if "wetter" in text.lower() or text == "/out_of_scope":
            return [
                BotMessage(
                    "Das kann ich leider nicht beantworten …",
                    metadata={"decision": "fallback", "utter_action": "utter_fallback"},
                )
            ]
        if "versteh" in text.lower():
            return [
                BotMessage(
                    "Das tut mir leid – da habe ich es wohl zu kompliziert erklärt …",
                    buttons=[{"title": "Mit einer Person sprechen", "payload": "/human_handoff"}],
                    metadata={"decision": "unclear", "about": "gaspreisbremse"},
                )
            ]
        return [
            BotMessage(
                "Die Gaspreisbremse …",
                buttons=[{"title": "Meinen Abschlag berechnen", "payload": "/x"}],
                metadata={"faq_id": "gaspreisbremse", "content_version": 3},
            )
        ]

    async def ready(self):
        return ["http://rasa: down"] if self.down else []

    async def close(self):
        pass


@pytest.fixture
def relay():
    return FakeRelay()


@pytest.fixture
def ctx(tmp_path, relay, monkeypatch):
    settings = dataclasses.replace(
        get_settings(),
        database_url=f"sqlite:///{tmp_path / 'chat.db'}",
        secret_key="s" * 40,
        rate_limit_per_minute=20,
        training_worker=False,  # publishing queues runs; no background `rasa train` here
    )
    context = build_context(settings, relay=relay)
    context.clock = lambda: OPEN
    return context


@pytest.fixture
def client(ctx):
    with TestClient(create_app(context=ctx)) as test_client:
        yield test_client


@pytest.fixture
def pg_database_url():
    """A fresh database on the local PostgreSQL server (dropped afterwards)."""
    with postgres_database() as url:
        yield url


@contextmanager
def postgres_database() -> Iterator[str]:
    """The URL of a new database on the local PostgreSQL server, dropped at the end."""
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", future=True)
    name = f"webtest_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL must run at {POSTGRES_URL} ({exc.orig})")
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_ctx(pg_database_url, relay):
    """The web app's context on PostgreSQL (the production profile's database)."""
    settings = dataclasses.replace(
        get_settings(),
        database_url=pg_database_url,
        secret_key="s" * 40,
        rate_limit_per_minute=20,
        training_worker=False,
    )
    context = build_context(settings, relay=relay)
    context.clock = lambda: OPEN
    yield context
    context.sessions.kw["bind"].dispose()


@pytest.fixture
def pg_client(pg_ctx):
    with TestClient(create_app(context=pg_ctx)) as test_client:
        yield test_client


@pytest.fixture
def agent_client(ctx):
    """A second client, logged in as agent 'anna' (display name Anna)."""
    with ctx.session() as session:
        set_user(
            session=session,
            username="anna",
            role="agent",
            display_name="Anna",
            password="geheim-123",
        )
    with TestClient(create_app(context=ctx)) as test_client:
        page = test_client.get("/agent/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = test_client.post(
            "/agent/login",
            data={"username": "anna", "password": "geheim-123", "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        console = test_client.get("/agent/")
        csrf = console.text.split('name="csrf-token" content="')[1].split('"')[0]
        test_client.headers["X-CSRF-Token"] = csrf
        yield test_client


PASSWORD = "geheim-123"


def log_in(client, username, password=PASSWORD):
    """Log ``client`` in through the login form; set its CSRF header; return the redirect."""
    page = client.get("/agent/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = client.post(
        "/agent/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    signer = client.app.state.context.signer
    client.headers["X-CSRF-Token"] = signer.csrf_token(client.cookies["agent_session"])
    return response


@pytest.fixture
def login_as(ctx):
    """``login_as(username, role)``: a new client logged in as that user (created if needed)."""
    clients = []

    def login(username, role, display_name=None):
        with ctx.session() as session:
            set_user(
                session=session,
                username=username,
                role=role,
                display_name=display_name or username.title(),
                password=PASSWORD,
            )
        client = TestClient(create_app(context=ctx))
        client.__enter__()
        clients.append(client)
        log_in(client, username)
        return client

    yield login
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def editor_client(login_as):
    """A client logged in as editor 'erik' (display name Erik)."""
    return login_as("erik", "editor", "Erik")


@pytest.fixture
def admin_client(login_as):
    """A client logged in as admin 'alex' (display name Alex)."""
    return login_as("alex", "admin", "Alex")
