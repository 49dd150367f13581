"""Retention and deletion of personal data in every store (issue 6, privacy by default).

What the retention job deletes (``run_retention``; ``python -m bot retention`` and daily in the
web app, ``RetentionWorker``), with ``cutoff = now - RETENTION_DAYS``:

* every conversation without activity since the cutoff (``repository.inactive_conversations``:
  its last message, state change, feedback or callback request, or a callback request marked
  done, is older) with its messages, handoffs, feedback, callback requests (tickets) and the
  editors' inbox items quoting it; inbox items whose conversation is gone anyway;
* the Rasa trackers of those conversations: each deletion is recorded in
  ``pending_tracker_deletions`` in the transaction that deletes the conversation, then carried
  out on every Rasa replica with ``DELETE /webhooks/rest_meta/conversations/{id}``;
* every Rasa tracker whose newest event is older than the cutoff
  (``POST /webhooks/rest_meta/retention`` on every replica): trackers without a conversation in
  the web app (Rasa's REST channels used directly, leftovers of a turn that ended after its
  conversation was deleted).

Deleting one conversation (the widget's ``DELETE /api/v1/conversations/{id}``, the admins'
``DELETE /api/admin/conversations/{id}``) is ``delete_conversation``: the database first, then
the tracker on every replica. A replica that cannot be reached, times out or answers an error
leaves the deletion pending; ``flush_pending`` (the web app's background task, every minute,
and every retention run) retries it until every replica confirmed it. With the production
profile's shared SQL tracker store one replica's answer already deletes the events; the others
confirm with ``deleted_events: 0``. Every Rasa call carries ``?token=RASA_TOKEN`` if that is set.

All deletes are idempotent, so several web app instances and the CronJob may run the job at the
same time: the second one finds nothing left to delete.

``retention_status`` is what the admins' data protection page shows: what is due, what is pending.

Plain Python: no ``rasa`` import, HTTP to the Rasa servers with ``httpx``. Logs carry counts and
replica addresses, never a conversation id (it grants access to a transcript).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import TracebackType
from typing import Any, Final
from urllib.parse import quote

import httpx
from sqlalchemy import delete, exists, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.chat import repository as repo
from bot.chat.db import wipe_deleted
from bot.chat.models import (
    SOCIAL_PROCESSED_MESSAGES,
    Conversation,
    Feedback,
    Handoff,
    Message,
    PendingTrackerDeletion,
    Ticket,
)
from bot.content.models import InboxItem
from bot.settings import Settings
from bot.social import store as social_store
from bot.social.dedupe import KEEP_FOR

logger = logging.getLogger(__name__)

# One Rasa call (a tracker's deletion or export): Rasa answers in milliseconds; a replica that
# does not connect within 2 s is away.
TIMEOUT: Final = httpx.Timeout(5.0, connect=2.0)
# Rasa's bulk retention route deletes many trackers in one statement.
BULK_TIMEOUT: Final = httpx.Timeout(300.0, connect=2.0)
# Tracker deletions sent at once (each goes to every replica).
CONCURRENCY: Final = 8
# Pending tracker deletions handled per round; more wait for the next one.
PENDING_BATCH: Final = 500
# Conversations deleted per transaction (short transactions, rows locked briefly).
DELETE_BATCH: Final = 200
# The web app's background task: first retention run this long after start, then daily;
# pending tracker deletions every minute; a failed run is retried after an hour.
FIRST_RUN_AFTER_S: Final = 60.0
EVERY_S: Final = 24 * 3600.0
PENDING_EVERY_S: Final = 60.0
RETRY_AFTER_S: Final = 3600.0

_TABLES: Final = (
    ("messages", Message),
    ("handoffs", Handoff),
    ("feedback", Feedback),
    ("tickets", Ticket),
    ("inbox_items", InboxItem),
)


def new_client(timeout: httpx.Timeout = TIMEOUT) -> httpx.AsyncClient:
    """The HTTP client of :class:`RasaTrackers` (tests replace it with a mock transport)."""
    return httpx.AsyncClient(timeout=timeout)


def _problem(url: str, what: str) -> str:
    return f"{url}: {what}"


class RasaTrackers:
    """Deletes and reads the conversation trackers on every Rasa replica."""

    def __init__(
        self,
        urls: Sequence[str],
        token: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.urls = [u.strip().rstrip("/") for u in urls if u.strip()]
        self.token = token
        self._client = client or new_client()

    @classmethod
    def from_settings(cls, settings: Settings) -> RasaTrackers:
        """The replicas of ``RASA_URL`` with ``RASA_TOKEN``."""
        return cls(settings.rasa_urls, settings.rasa_token)

    def _params(self) -> dict[str, str]:
        return {"token": self.token} if self.token else {}

    async def _delete_on(self, url: str, conversation_id: str) -> str | None:
        try:
            response = await self._client.delete(
                f"{url}/webhooks/rest_meta/conversations/{quote(conversation_id, safe='')}",
                params=self._params(),
                timeout=TIMEOUT,
            )
        except httpx.HTTPError as exc:
            return _problem(url, type(exc).__name__)
        if response.is_success:
            return None
        return _problem(url, f"HTTP {response.status_code}")

    async def delete(self, conversation_id: str) -> list[str]:
        """Delete the tracker on every replica.

        Returns:
            One problem per replica that did not confirm (``"http://rasa-0:5005: ConnectError"``);
            empty when every replica deleted it (or had nothing to delete).
        """
        found = await asyncio.gather(*(self._delete_on(u, conversation_id) for u in self.urls))
        return [p for p in found if p is not None]

    async def delete_before(self, before: datetime) -> tuple[int, list[str]]:
        """Delete on every replica the trackers whose newest event is older than ``before``.

        Returns:
            How many trackers the replicas deleted together, and the problems of replicas that
            did not answer.
        """
        deleted = 0
        problems = []
        for url in self.urls:
            try:
                response = await self._client.post(
                    f"{url}/webhooks/rest_meta/retention",
                    params=self._params(),
                    json={"before": before.timestamp()},
                    timeout=BULK_TIMEOUT,
                )
            except httpx.HTTPError as exc:
                problems.append(_problem(url, type(exc).__name__))
                continue
            if not response.is_success:
                problems.append(_problem(url, f"HTTP {response.status_code}"))
                continue
            try:
                deleted += int(response.json().get("deleted_conversations", 0))
            except (ValueError, TypeError, AttributeError):
                problems.append(_problem(url, "answer without deleted_conversations"))
        return deleted, problems

    async def tracker(self, conversation_id: str) -> tuple[dict[str, Any] | None, list[str]]:
        """The tracker (``GET /conversations/{id}/tracker``) from the first replica that answers.

        Returns:
            The tracker's JSON and the address it came from under ``replica``, or ``None`` with
            the replicas' problems.
        """
        problems = []
        for url in self.urls:
            try:
                response = await self._client.get(
                    f"{url}/conversations/{quote(conversation_id, safe='')}/tracker",
                    params=self._params(),
                    timeout=TIMEOUT,
                )
            except httpx.HTTPError as exc:
                problems.append(_problem(url, type(exc).__name__))
                continue
            if not response.is_success:
                problems.append(_problem(url, f"HTTP {response.status_code}"))
                continue
            try:
                tracker = response.json()
            except ValueError:
                problems.append(_problem(url, "answer is no JSON"))
                continue
            if isinstance(tracker, dict):
                return {"replica": url, "tracker": tracker}, problems
            problems.append(_problem(url, "answer is no tracker"))
        return None, problems

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.aclose()

    async def __aenter__(self) -> RasaTrackers:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


# --- pending tracker deletions ----------------------------------------------------------------


@dataclass
class PendingResult:
    """One round of pending tracker deletions.

    Attributes:
        deleted: trackers every replica confirmed as deleted.
        failed: trackers at least one replica did not confirm (they stay pending).
        remaining: pending deletions left after the round.
        problems: the replicas' problems (one per replica and kind).
    """

    deleted: int = 0
    failed: int = 0
    remaining: int = 0
    problems: list[str] = field(default_factory=list)


def _record(
    sessions: sessionmaker, results: Iterable[tuple[str, list[str]]], now: datetime
) -> None:
    with sessions.begin() as session:
        for conversation_id, problems in results:
            if problems:
                repo.tracker_deletion_failed(
                    session=session, conversation_id=conversation_id,
                    error="; ".join(problems), now=now,
                )
            else:
                repo.tracker_deleted(session=session, conversation_id=conversation_id)


def _pending_ids(sessions: sessionmaker, limit: int) -> tuple[list[str], int]:
    with sessions() as session:
        rows = repo.pending_tracker_deletions(session=session, limit=limit)
        total = session.execute(
            select(func.count(func.distinct(PendingTrackerDeletion.conversation_id)))
        ).scalar_one()
    return list(dict.fromkeys(r.conversation_id for r in rows)), int(total)


async def flush_pending(
    sessions: sessionmaker,
    trackers: RasaTrackers,
    *,
    now: datetime,
    limit: int = PENDING_BATCH,
) -> PendingResult:
    """Carry out pending tracker deletions, oldest first.

    Stops early when a whole group of deletions failed (Rasa is away): the rest waits for the
    next round instead of costing a timeout each.

    Args:
        sessions: the chat store's session factory.
        trackers: the Rasa replicas.
        now: the time recorded with failed attempts.
        limit: at most this many conversations per round.
    """
    ids, _ = await asyncio.to_thread(_pending_ids, sessions, limit)
    result = PendingResult()
    for start in range(0, len(ids), CONCURRENCY):
        group = ids[start : start + CONCURRENCY]
        problems = await asyncio.gather(*(trackers.delete(cid) for cid in group))
        await asyncio.to_thread(_record, sessions, zip(group, problems, strict=True), now)
        result.deleted += sum(1 for p in problems if not p)
        result.failed += sum(1 for p in problems if p)
        for found in problems:
            result.problems.extend(p for p in found if p not in result.problems)
        if all(problems):
            break
    _, result.remaining = await asyncio.to_thread(_pending_ids, sessions, 1)
    if result.failed:
        logger.warning("Rasa trackers of %d deleted conversations still to delete (%s)",
                       result.remaining, "; ".join(result.problems))
    return result


@dataclass
class Deletion:
    """The deletion of one conversation.

    Attributes:
        counts: rows deleted per table (``messages``, ``handoffs``, ``feedback``, ``tickets``,
            ``inbox_items``).
        tracker_problems: replicas that did not confirm the tracker's deletion (then it is
            pending and retried in the background); empty when it is deleted everywhere.
    """

    counts: dict[str, int]
    tracker_problems: list[str]

    @property
    def tracker_deleted(self) -> bool:
        """Whether every Rasa replica confirmed the tracker's deletion."""
        return not self.tracker_problems


def _delete_one(sessions: sessionmaker, conversation_id: str, now: datetime) -> dict[str, int]:
    with sessions.begin() as session:
        counts = count_traces(session, [conversation_id])
        repo.delete_conversation(session=session, conversation_id=conversation_id, now=now)
    _wipe(sessions)
    return counts


def _wipe(sessions: sessionmaker) -> None:
    """No deleted text left in a SQLite database's files (``bot.chat.db.wipe_deleted``)."""
    engine = sessions.kw.get("bind")
    if isinstance(engine, Engine) and not wipe_deleted(engine):
        logger.warning("SQLite's write-ahead log could not be truncated after a deletion "
                       "(a reader was busy); the next deletion tries again")


async def delete_conversation(
    sessions: sessionmaker, trackers: RasaTrackers, conversation_id: str, *, now: datetime
) -> Deletion:
    """Delete a conversation everywhere: the chat store now, its Rasa tracker now or later.

    Raises:
        UnknownConversation: no conversation with this id (nothing is deleted).
    """
    counts = await asyncio.to_thread(_delete_one, sessions, conversation_id, now)
    problems = await trackers.delete(conversation_id)
    await asyncio.to_thread(_record, sessions, [(conversation_id, problems)], now)
    if problems:
        logger.warning("the Rasa tracker of a deleted conversation stays pending (%s)",
                       "; ".join(problems))
    return Deletion(counts, problems)


# --- the retention job --------------------------------------------------------------------------


def count_traces(session: Session, conversation_ids: Sequence[str]) -> dict[str, int]:
    """Count the rows that belong to these conversations, per table.

    Returns:
        ``messages``, ``handoffs``, ``feedback``, ``tickets`` and ``inbox_items``.
    """
    counts = dict.fromkeys((name for name, _ in _TABLES), 0)
    for start in range(0, len(conversation_ids), DELETE_BATCH):
        chunk = list(conversation_ids[start : start + DELETE_BATCH])
        for name, model in _TABLES:
            counts[name] += int(
                session.execute(
                    select(func.count())
                    .select_from(model)
                    .where(model.conversation_id.in_(chunk))  # type: ignore[attr-defined]
                ).scalar_one()
            )
    return counts


@dataclass(frozen=True)
class RetentionStatus:
    """What the next retention run would delete, and what is still pending (the admins' page).

    Attributes:
        cutoff: conversations without activity since then are due.
        due_conversations: how many conversations are due.
        due_counts: their rows per table (:func:`count_traces`).
        pending_tracker_deletions: conversations whose Rasa tracker is still to be deleted.
        oldest_activity: the oldest activity of a stored conversation (None: there is none).
    """

    cutoff: datetime
    due_conversations: int
    due_counts: dict[str, int]
    pending_tracker_deletions: int
    oldest_activity: datetime | None


def retention_status(session: Session, *, now: datetime, days: int) -> RetentionStatus:
    """The retention status with a period of ``days`` at ``now``."""
    cutoff = now - timedelta(days=days)
    due = repo.inactive_conversations(session=session, before=cutoff)
    pending = session.execute(
        select(func.count(func.distinct(PendingTrackerDeletion.conversation_id)))
    ).scalar_one()
    oldest = session.execute(select(func.min(Conversation.updated_at))).scalar_one()
    return RetentionStatus(cutoff, len(due), count_traces(session, due), int(pending), oldest)


@dataclass
class RetentionReport:
    """What a retention run deleted (or, in a dry run, would delete).

    Attributes:
        days: the retention period.
        cutoff: conversations and trackers without activity since then are deleted.
        dry_run: nothing was deleted, only counted (Rasa was not asked).
        conversations: conversations deleted with their rows (``counts``).
        counts: rows per table deleted with them.
        orphaned_inbox_items: inbox items whose conversation was gone already.
        trackers_deleted: Rasa trackers of deleted conversations deleted on every replica in
            this run (also those left pending by earlier deletions).
        trackers_pending: tracker deletions still pending (a replica did not confirm).
        old_trackers: trackers the replicas deleted because their newest event is older than
            the cutoff (``None``: not asked).
        problems: Rasa replicas that could not be reached or answered an error.
    """

    days: int
    cutoff: datetime
    dry_run: bool
    conversations: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    orphaned_inbox_items: int = 0
    trackers_deleted: int = 0
    trackers_pending: int = 0
    old_trackers: int | None = None
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "days": self.days,
            "cutoff": self.cutoff.isoformat(),
            "dry_run": self.dry_run,
            "conversations": self.conversations,
            **self.counts,
            "orphaned_inbox_items": self.orphaned_inbox_items,
            "trackers_deleted": self.trackers_deleted,
            "trackers_pending": self.trackers_pending,
            "old_trackers": self.old_trackers,
            "problems": list(self.problems),
        }

    def summary(self) -> str:
        """One line for the log."""
        rows = ", ".join(f"{n} {k}" for k, n in self.counts.items())
        verb = "would delete" if self.dry_run else "deleted"
        text = (f"retention ({self.days} days, before {self.cutoff:%Y-%m-%d %H:%M} UTC): {verb} "
                f"{self.conversations} conversations ({rows}), "
                f"{self.orphaned_inbox_items} orphaned inbox items")
        if not self.dry_run:
            text += (f"; Rasa: {self.trackers_deleted} trackers of deleted conversations, "
                     f"{self.old_trackers if self.old_trackers is not None else '?'} old trackers"
                     f", {self.trackers_pending} deletions pending")
        if self.problems:
            text += f"; problems: {'; '.join(self.problems)}"
        return text


def _orphaned_inbox(session: Session, *, delete_them: bool) -> int:
    orphaned = ~exists().where(Conversation.id == InboxItem.conversation_id)
    if delete_them:
        result = session.execute(
            delete(InboxItem).where(orphaned).execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)
    return int(
        session.execute(select(func.count()).select_from(InboxItem).where(orphaned)).scalar_one()
    )


def _purge_social(session: Session, now: datetime) -> None:
    """WhatsApp/Messenger: ended blocks and message-id claims older than Meta's retries.

    A wa_id is personal data; claims are kept for Meta's redelivery period
    (``bot.social.dedupe.KEEP_FOR``).
    """
    social_store.purge_expired_blocks(session=session, now=now)
    claims = SOCIAL_PROCESSED_MESSAGES
    cutoff = (now - KEEP_FOR).astimezone(timezone.utc).replace(tzinfo=None)
    session.execute(delete(claims).where(claims.c.claimed_at < cutoff))


def _delete_inactive(
    sessions: sessionmaker, cutoff: datetime, now: datetime, dry_run: bool
) -> tuple[int, dict[str, int], int]:
    """Delete (or count) the inactive conversations in batches; returns counts."""
    with sessions() as session:
        ids = repo.inactive_conversations(session=session, before=cutoff)
        counts = count_traces(session, ids)
    if not dry_run:
        for start in range(0, len(ids), DELETE_BATCH):
            with sessions.begin() as session:
                for conversation_id in ids[start : start + DELETE_BATCH]:
                    try:
                        repo.delete_conversation(
                            session=session, conversation_id=conversation_id, now=now
                        )
                    except repo.UnknownConversation:  # another instance was quicker
                        continue
    with sessions.begin() as session:
        orphans = _orphaned_inbox(session, delete_them=not dry_run)
        if not dry_run:
            _purge_social(session, now)
    if not dry_run and (ids or orphans):
        _wipe(sessions)
    return len(ids), counts, orphans


async def run_retention(
    sessions: sessionmaker,
    trackers: RasaTrackers | None,
    *,
    days: int,
    now: datetime,
    dry_run: bool = False,
) -> RetentionReport:
    """Delete everything older than the retention period (module docstring).

    Args:
        sessions: the chat store's session factory.
        trackers: the Rasa replicas (``None``: the chat store only).
        days: the retention period (``RETENTION_DAYS``), at least 1.
        now: the current time (aware).
        dry_run: only count what would be deleted in the chat store; Rasa is not asked.

    Raises:
        ValueError: ``days`` is below 1.
    """
    if days < 1:
        raise ValueError(f"the retention period must be at least one day, got {days}")
    cutoff = now - timedelta(days=days)
    report = RetentionReport(days=days, cutoff=cutoff, dry_run=dry_run)
    report.conversations, report.counts, report.orphaned_inbox_items = await asyncio.to_thread(
        _delete_inactive, sessions, cutoff, now, dry_run
    )
    if dry_run or trackers is None:
        return report
    while True:
        pending = await flush_pending(sessions, trackers, now=now)
        report.trackers_deleted += pending.deleted
        report.trackers_pending = pending.remaining
        report.problems.extend(p for p in pending.problems if p not in report.problems)
        if pending.failed or not pending.deleted or not pending.remaining:
            break
    report.old_trackers, problems = await trackers.delete_before(cutoff)
    report.problems.extend(p for p in problems if p not in report.problems)
    return report


class RetentionWorker:
    """The web app's background task: pending tracker deletions and the daily retention run.

    Started in the app's lifespan; the first retention run comes ``first_run_after_s`` after
    the start, then one every ``every_s``; pending tracker deletions are retried every
    ``pending_every_s``. Failures are logged and retried, never fatal.
    """

    def __init__(
        self,
        sessions: sessionmaker,
        trackers: Callable[[], RasaTrackers],
        *,
        days: int,
        clock: Callable[[], datetime],
        first_run_after_s: float = FIRST_RUN_AFTER_S,
        every_s: float = EVERY_S,
        pending_every_s: float = PENDING_EVERY_S,
    ) -> None:
        self._sessions = sessions
        self._trackers = trackers
        self.days = days
        self._clock = clock
        self.first_run_after_s = first_run_after_s
        self.every_s = every_s
        self.pending_every_s = pending_every_s
        self._task: asyncio.Task[None] | None = None
        self.last_report: RetentionReport | None = None

    def start(self) -> None:
        """Start the task on the running event loop (once)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Cancel the task and wait for it."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        next_run = time.monotonic() + self.first_run_after_s
        next_flush = time.monotonic() + min(self.pending_every_s, self.first_run_after_s)
        async with self._trackers() as trackers:
            while True:
                await asyncio.sleep(max(0.0, min(next_run, next_flush) - time.monotonic()))
                if time.monotonic() >= next_run:
                    try:
                        report = await run_retention(
                            self._sessions, trackers, days=self.days, now=self._clock()
                        )
                    except Exception:
                        logger.exception("the retention run failed; retrying in %.0f s",
                                         RETRY_AFTER_S)
                        next_run = time.monotonic() + RETRY_AFTER_S
                    else:
                        self.last_report = report
                        logger.info("%s", report.summary())
                        next_run = time.monotonic() + self.every_s
                    next_flush = time.monotonic() + self.pending_every_s
                    continue
                try:
                    await flush_pending(self._sessions, trackers, now=self._clock())
                except Exception:
                    logger.exception("retrying pending Rasa tracker deletions failed")
                next_flush = time.monotonic() + self.pending_every_s
