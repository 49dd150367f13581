"""The retention job and the deletion of conversations everywhere (bot/retention.py), against
SQLite and PostgreSQL, with Rasa replicas faked by an httpx mock transport; the CLI as a process."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from bot import retention
from bot.chat import repository as repo
from bot.chat.db import create_schema, make_engine, make_sessionmaker
from bot.chat.models import (
    Conversation,
    Feedback,
    Handoff,
    Message,
    PendingTrackerDeletion,
    Ticket,
)
from bot.content.models import InboxItem
from bot.settings import REPO_ROOT
from tests.chat.test_repository import POSTGRES_URL

UTC = timezone.utc
NOW = datetime(2026, 11, 24, 3, 30, tzinfo=UTC)
DAYS = 90
OLD = NOW - timedelta(days=DAYS + 10)
RECENT = NOW - timedelta(days=10)
REPLICAS = ["http://rasa-0:5005", "http://rasa-1:5005"]
CHILDREN = (Message, Handoff, Feedback, Ticket, InboxItem)


class FakeRasa:
    """Rasa replicas answering the deletion, retention and tracker routes; ``down`` ones refuse."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.down: set[str] = set()
        self.status = 200

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        base = f"{request.url.scheme}://{request.url.host}:{request.url.port}"
        if base in self.down:
            raise httpx.ConnectError("refused", request=request)
        if self.status != 200:
            return httpx.Response(self.status, json={"error": "nope"})
        path = request.url.path
        if request.method == "DELETE":
            return httpx.Response(200, json={"deleted_events": 3})
        if path.endswith("/retention"):
            return httpx.Response(200, json={"deleted_conversations": 2})
        if path.endswith("/tracker"):
            return httpx.Response(200, json={"sender_id": path.split("/")[2], "events": []})
        return httpx.Response(404)

    def trackers(self, token: str | None = None) -> retention.RasaTrackers:
        client = httpx.AsyncClient(transport=httpx.MockTransport(self.handler))
        return retention.RasaTrackers(REPLICAS, token, client)

    def calls(self, method: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method]


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'chat.db'}")
        create_schema(engine)
        yield engine
        engine.dispose()
        return
    admin = create_engine(POSTGRES_URL, future=True)
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}")
    schema = f"r_{secrets.token_hex(6)}"
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        create_schema(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sessions(engine):
    return make_sessionmaker(engine)


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


def conversation(sessions, at: datetime, *, ticket_done: datetime | None = None,
                 ticket: bool = True) -> str:
    """A conversation whose last activity is ``at``, with a row in every child table."""
    with sessions.begin() as session:
        cid = repo.create_conversation(session=session, now=at).id
        repo.add_message(session=session, conversation_id=cid, sender="customer",
                         text="Meine IBAN ist DE89 3704 0044 0532 0130 00", now=at)
        repo.add_message(session=session, conversation_id=cid, sender="bot", text="Antwort",
                         faq_id="gaspreisbremse", content_version=1, now=at)
        repo.enqueue(session=session, conversation_id=cid, reason="asked", now=at)
        repo.release_to_bot(session=session, conversation_id=cid, now=at)
        repo.add_feedback(session=session, conversation_id=cid, faq_id="gaspreisbremse",
                          content_version=1, helpful=False, now=at)
        if ticket:
            saved = repo.add_ticket(session=session, conversation_id=cid, name="Erika",
                                    contact="erika@example.org", concern="Rückruf", now=at)
            if ticket_done is not None:
                saved.done_at = ticket_done
        session.add(InboxItem(conversation_id=cid, message_seq=1, kind="fallback",
                              text="Meine IBAN ist [IBAN]", created_at=at, state="open"))
    return cid


def rows(sessions, model, cid: str | None = None) -> int:
    with sessions() as session:
        statement = select(func.count()).select_from(model)
        if cid is not None:
            column = model.id if model is Conversation else model.conversation_id
            statement = statement.where(column == cid)
        return int(session.execute(statement).scalar_one())


def run(coroutine):
    return asyncio.run(coroutine)


# --- which conversations are due ------------------------------------------------------------


def test_age_is_the_last_activity_and_a_recently_done_callback(sessions):
    old = conversation(sessions, OLD)
    recent = conversation(sessions, RECENT)
    done_recently = conversation(sessions, OLD, ticket_done=RECENT)
    done_long_ago = conversation(sessions, OLD, ticket_done=OLD + timedelta(days=1))
    open_ticket = conversation(sessions, OLD)  # nobody called back within the whole period
    with sessions() as session:
        due = repo.inactive_conversations(session=session, before=NOW - timedelta(days=DAYS))
    assert set(due) == {old, done_long_ago, open_ticket}
    assert recent not in due and done_recently not in due


def test_a_message_today_makes_an_old_conversation_young_again(sessions):
    cid = conversation(sessions, OLD)
    with sessions.begin() as session:
        repo.add_message(session=session, conversation_id=cid, sender="customer", text="Hallo?",
                         now=NOW - timedelta(days=1))
        assert repo.inactive_conversations(session=session, before=NOW - timedelta(days=DAYS)) == []


# --- the retention run -----------------------------------------------------------------------


def test_retention_deletes_every_trace_and_the_rasa_trackers(sessions, rasa):
    old = conversation(sessions, OLD)
    kept = conversation(sessions, RECENT)
    report = run(retention.run_retention(sessions, rasa.trackers("s3cret"), days=DAYS, now=NOW))

    assert report.conversations == 1
    assert report.counts == {"messages": 2, "handoffs": 1, "feedback": 1, "tickets": 1,
                             "inbox_items": 1}
    assert report.trackers_deleted == 1 and report.trackers_pending == 0
    assert report.old_trackers == 4  # 2 per replica (the fake's answer)
    assert report.problems == []
    assert rows(sessions, Conversation, old) == 0
    for model in CHILDREN:
        assert rows(sessions, model, old) == 0, model
        assert rows(sessions, model, kept) == 1 or model is Message, model
    assert rows(sessions, Message, kept) == 2
    assert rows(sessions, PendingTrackerDeletion) == 0

    deletes = rasa.calls("DELETE")
    assert sorted(str(r.url) for r in deletes) == sorted(
        f"{url}/webhooks/rest_meta/conversations/{old}?token=s3cret" for url in REPLICAS
    )
    bulk = rasa.calls("POST")
    assert [str(r.url) for r in bulk] == [
        f"{url}/webhooks/rest_meta/retention?token=s3cret" for url in REPLICAS
    ]
    assert json.loads(bulk[0].content) == {"before": (NOW - timedelta(days=DAYS)).timestamp()}
    assert "deleted 1 conversations" in report.summary()


def test_a_dry_run_counts_and_deletes_nothing(sessions, rasa):
    old = conversation(sessions, OLD)
    report = run(retention.run_retention(sessions, rasa.trackers(), days=DAYS, now=NOW,
                                         dry_run=True))
    assert report.conversations == 1 and report.counts["messages"] == 2
    assert report.old_trackers is None
    assert rows(sessions, Conversation, old) == 1
    assert rasa.requests == []
    assert "would delete 1 conversations" in report.summary()


def test_rasa_away_is_reported_and_the_deletion_waits(sessions, rasa):
    old = conversation(sessions, OLD)
    rasa.down = {REPLICAS[1]}
    report = run(retention.run_retention(sessions, rasa.trackers(), days=DAYS, now=NOW))
    assert report.conversations == 1 and rows(sessions, Conversation, old) == 0
    assert report.trackers_deleted == 0 and report.trackers_pending == 1
    assert report.old_trackers == 2  # the replica that answered
    assert report.problems == ["http://rasa-1:5005: ConnectError"]
    with sessions() as session:
        (pending,) = repo.pending_tracker_deletions(session=session)
    assert pending.conversation_id == old and pending.attempts == 1
    assert pending.last_error == "http://rasa-1:5005: ConnectError"
    assert old not in report.summary()  # logs name no conversation

    rasa.down = set()
    result = run(retention.flush_pending(sessions, rasa.trackers(), now=NOW))
    assert (result.deleted, result.failed, result.remaining) == (1, 0, 0)
    assert rows(sessions, PendingTrackerDeletion) == 0


def test_an_error_answer_counts_as_not_deleted(sessions, rasa):
    conversation(sessions, OLD)
    rasa.status = 401  # wrong token
    report = run(retention.run_retention(sessions, rasa.trackers("falsch"), days=DAYS, now=NOW))
    assert report.trackers_pending == 1
    assert "http://rasa-0:5005: HTTP 401" in report.problems


def test_a_round_of_pending_deletions_stops_when_rasa_is_away(sessions, rasa):
    with sessions.begin() as session:
        for _ in range(3 * retention.CONCURRENCY):
            cid = repo.create_conversation(session=session, now=OLD).id
            repo.delete_conversation(session=session, conversation_id=cid, now=OLD)
    rasa.down = set(REPLICAS)
    result = run(retention.flush_pending(sessions, rasa.trackers(), now=NOW))
    assert result.failed == retention.CONCURRENCY and result.deleted == 0
    assert result.remaining == 3 * retention.CONCURRENCY
    assert len(rasa.requests) == retention.CONCURRENCY * len(REPLICAS)


def test_orphaned_inbox_items_are_deleted(tmp_path, rasa):
    engine = make_engine(f"sqlite:///{tmp_path / 'orphans.db'}")
    create_schema(engine)
    sessions = make_sessionmaker(engine)
    with engine.begin() as connection:  # a database that does not enforce its foreign keys
        connection.execute(text("PRAGMA foreign_keys=OFF"))
        connection.execute(
            text("INSERT INTO inbox_items (conversation_id, kind, text, created_at, state) "
                 "VALUES ('gone', 'fallback', 'x', :t, 'open')"),
            {"t": RECENT.replace(tzinfo=None)},
        )
    report = run(retention.run_retention(sessions, rasa.trackers(), days=DAYS, now=NOW))
    assert report.orphaned_inbox_items == 1 and rows(sessions, InboxItem) == 0
    engine.dispose()


def test_the_period_must_be_at_least_a_day(sessions):
    with pytest.raises(ValueError):
        run(retention.run_retention(sessions, None, days=0, now=NOW))


# --- one conversation ------------------------------------------------------------------------


def test_deleting_one_conversation_everywhere(sessions, rasa):
    cid = conversation(sessions, RECENT)
    deletion = run(retention.delete_conversation(sessions, rasa.trackers(), cid, now=NOW))
    assert deletion.tracker_deleted
    assert deletion.counts == {"messages": 2, "handoffs": 1, "feedback": 1, "tickets": 1,
                               "inbox_items": 1}
    assert rows(sessions, Conversation) == 0 and rows(sessions, PendingTrackerDeletion) == 0
    assert len(rasa.calls("DELETE")) == 2
    with pytest.raises(repo.UnknownConversation):
        run(retention.delete_conversation(sessions, rasa.trackers(), cid, now=NOW))


def test_the_tracker_of_a_deleted_conversation_is_not_forgotten(sessions, rasa):
    cid = conversation(sessions, RECENT)
    rasa.down = set(REPLICAS)
    deletion = run(retention.delete_conversation(sessions, rasa.trackers(), cid, now=NOW))
    assert not deletion.tracker_deleted and len(deletion.tracker_problems) == 2
    assert rows(sessions, Conversation) == 0 and rows(sessions, PendingTrackerDeletion) == 1
    rasa.down = set()
    assert run(retention.flush_pending(sessions, rasa.trackers(), now=NOW)).deleted == 1
    assert rows(sessions, PendingTrackerDeletion) == 0


def test_the_tracker_is_read_from_the_first_replica_that_answers(rasa):
    rasa.down = {REPLICAS[0]}
    tracker, problems = run(rasa.trackers("t").tracker("abc"))
    assert tracker == {"replica": REPLICAS[1], "tracker": {"sender_id": "abc", "events": []}}
    assert problems == ["http://rasa-0:5005: ConnectError"]
    rasa.down = set(REPLICAS)
    assert run(rasa.trackers().tracker("abc"))[0] is None


def test_metadata_strings_are_masked_like_the_text(sessions):
    with sessions.begin() as session:
        cid = repo.create_conversation(session=session, now=NOW).id
        message = repo.add_message(
            session=session, conversation_id=cid, sender="customer", text="/inform",
            meta={"payload": '/inform{"iban": "DE89370400440532013000"}',
                  "n": [3500, "0171 1234567"]},
            now=NOW,
        )
        assert message.meta == {"payload": '/inform{"iban": "[IBAN]"}', "n": [3500, "[Telefon]"]}


# --- the web app's background task ------------------------------------------------------------


def test_the_background_task_runs_retention_and_retries_pending(sessions, rasa):
    old = conversation(sessions, OLD)
    rasa.down = set(REPLICAS)

    async def scenario():
        worker = retention.RetentionWorker(
            sessions, rasa.trackers, days=DAYS, clock=lambda: NOW,
            first_run_after_s=0.05, every_s=3600, pending_every_s=0.05,
        )
        worker.start()
        for _ in range(100):
            await asyncio.sleep(0.05)
            if worker.last_report is not None:
                break
        assert worker.last_report is not None and worker.last_report.trackers_pending == 1
        rasa.down = set()  # Rasa is back: the next round deletes the tracker
        for _ in range(100):
            await asyncio.sleep(0.05)
            if rows(sessions, PendingTrackerDeletion) == 0:
                break
        await worker.stop()

    run(scenario())
    assert rows(sessions, Conversation, old) == 0
    assert rows(sessions, PendingTrackerDeletion) == 0
    assert any(r.method == "DELETE" and old in str(r.url) for r in rasa.requests)


# --- python -m bot retention --------------------------------------------------------------------


def cli(tmp_path: Path, *args: str,
        rasa_url: str = "http://127.0.0.1:9") -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "RASA_URL": rasa_url, "RETENTION_DAYS": "30"}
    env.pop("RASA_TOKEN", None)
    return subprocess.run([sys.executable, "-m", "bot", "retention", *args], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def test_the_command_counts_deletes_and_reports_an_unreachable_rasa(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    create_schema(engine)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    old = conversation(sessions, now - timedelta(days=40))
    young = conversation(sessions, now - timedelta(days=20))

    dry = cli(tmp_path, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    summary = json.loads(dry.stdout.strip().splitlines()[-1])
    assert summary["dry_run"] and summary["days"] == 30 and summary["conversations"] == 1
    assert rows(sessions, Conversation, old) == 1

    real = cli(tmp_path)  # nothing listens on port 9: Rasa is reported, the job still succeeds
    assert real.returncode == 0, real.stderr
    summary = json.loads(real.stdout.strip().splitlines()[-1])
    assert summary["conversations"] == 1 and summary["messages"] == 2 and summary["tickets"] == 1
    assert summary["trackers_pending"] == 1
    assert summary["problems"] and all("127.0.0.1:9" in p for p in summary["problems"])
    assert rows(sessions, Conversation, old) == 0 and rows(sessions, Conversation, young) == 1

    everything = cli(tmp_path, "--days", "1")
    assert json.loads(everything.stdout.strip().splitlines()[-1])["conversations"] == 1
    assert cli(tmp_path, "--days", "0").returncode == 2
    engine.dispose()
