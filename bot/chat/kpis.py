"""Operations figures from the chat store: the admins' dashboard and the web app's gauges.

Two questions, both answered by a few grouped SQL queries that run alike on SQLite and
PostgreSQL (timestamps are naive UTC in both; see ``bot.chat.models``):

* :func:`series`: per time bucket of a period (24 h in hours, 7 days in 6-hour blocks, see
  :data:`PERIODS`) the customer messages, the fallback rate, the handoff rate, the share of
  conversations solved without a person and the waiting time in the queue;
* :func:`current`: right now, the queue (length, longest and average wait), the share solved
  without a person over the last 24 h and the state of the newest retraining run.

Definitions (docs/design/production.md, "Observability"):

fallback rate
    bot messages with metadata ``decision: fallback`` / all bot messages, in the bucket.
handoff rate
    conversations with a handoff message (``handoff: queued`` or ``offline``) in the bucket /
    conversations with a customer message in the bucket.
solved without a person
    of the conversations started in the bucket with at least one customer message, the share
    that never asked for a person (no handoff row, no handoff message).
waiting time
    for handoffs requested in the bucket: from the request until an agent claimed it (or it
    ended unclaimed, or now while it still waits); average and longest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    and_,
    case,
    cast,
    desc,
    distinct,
    exists,
    extract,
    func,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from bot.chat.models import Conversation, Handoff, Message, UTCDateTime
from bot.content.models import TrainingRun

HANDOFF_KINDS: Final = ("queued", "offline")


@dataclass(frozen=True)
class Period:
    """A time span shown on the dashboard and the size of its buckets."""

    window: timedelta
    bucket: timedelta

    @property
    def buckets(self) -> int:
        """How many buckets the window has."""
        return int(self.window / self.bucket)


# The dashboard's periods: a day in hours, a week in quarters of a day (28 points).
PERIODS: Final = {
    "24h": Period(window=timedelta(hours=24), bucket=timedelta(hours=1)),
    "7d": Period(window=timedelta(days=7), bucket=timedelta(hours=6)),
}
# The window of the "solved without a person" gauge.
SOLVED_WINDOW: Final = timedelta(hours=24)
# How much earlier than its conversation a message may be stamped: web app instances stamp
# with their own clocks, which NTP keeps within milliseconds; minutes are a wide margin.
CLOCK_SKEW: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class Bucket:
    """The figures of one time bucket ``[start, end)``."""

    start: datetime
    end: datetime
    customer_messages: int = 0
    bot_messages: int = 0
    fallbacks: int = 0
    active_conversations: int = 0
    handoff_conversations: int = 0
    started_conversations: int = 0
    solved_without_person: int = 0
    handoffs: int = 0
    wait_avg_s: float | None = None
    wait_max_s: float | None = None

    @property
    def fallback_rate(self) -> float | None:
        """Fallbacks per bot message (None without bot messages)."""
        return _ratio(self.fallbacks, self.bot_messages)

    @property
    def handoff_rate(self) -> float | None:
        """Conversations with a handoff per conversation with a customer message."""
        return _ratio(self.handoff_conversations, self.active_conversations)

    @property
    def solved_share(self) -> float | None:
        """Share of the conversations started here that never asked for a person."""
        return _ratio(self.solved_without_person, self.started_conversations)


@dataclass(frozen=True)
class Current:
    """The figures of right now."""

    queue_length: int
    longest_wait_s: float
    average_wait_s: float
    started_conversations: int  # in the last 24 h, with at least one customer message
    solved_without_person: int  # of those, never asked for a person
    training_state: str | None  # of the newest retraining run; None: none yet
    training_finished_at: datetime | None

    @property
    def solved_share(self) -> float | None:
        """Share of the last 24 h's conversations that never asked for a person."""
        return _ratio(self.solved_without_person, self.started_conversations)


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(timezone.utc)


def _epoch(column: Any, dialect: str) -> Any:
    """Whole seconds since 1970 of a naive-UTC timestamp column, in SQL.

    SQLAlchemy renders ``extract('epoch', …)`` as ``strftime('%s', …)`` on SQLite (an
    integer) and ``EXTRACT(epoch FROM …)`` on PostgreSQL (a fraction, floored here).
    """
    seconds = extract("epoch", column)
    if dialect == "postgresql":
        seconds = func.floor(seconds)
    return cast(seconds, BigInteger)


class _Buckets:
    """The bucket index of a timestamp: ``(epoch(ts) - start) / size`` in integers."""

    def __init__(self, session: Session, first: datetime, size: timedelta) -> None:
        self.dialect = session.get_bind().dialect.name
        # Literal integers, not bind parameters: the expression in the select list and in
        # GROUP BY must be the same text for PostgreSQL.
        self._start = literal_column(str(int(first.timestamp())))
        self._size = literal_column(str(int(size.total_seconds())))

    def of(self, column: Any) -> Any:
        """The bucket index of ``column``: SQL's ``/`` of two integers, which divides whole.

        A plain operator, not SQLAlchemy's ``/``: 1.4 renders that as integer division, 2.0 as
        true division (it casts the divisor), and this code runs under both (bot/environments.py).
        """
        offset = _epoch(column, self.dialect) - self._start
        # Precedence of SQL division, so that the subtraction is parenthesised.
        divide = offset.op("/", precedence=8, return_type=BigInteger)
        return divide(self._size).label("bucket")


def _handoff_message(message: Any) -> Any:
    """Whether a message (row of ``messages``) carries ``handoff: queued`` or ``offline``."""
    return message.meta["handoff"].as_string().in_(HANDOFF_KINDS)


def _asked_for_person(since: datetime) -> Any:
    """Correlated: the conversation (started at ``since`` or later) has a handoff row or message.

    The messages are searched from ``since`` on (less :data:`CLOCK_SKEW`): a conversation's
    messages are never older than the conversation. Without that bound PostgreSQL answers the
    ``EXISTS`` with one scan of every stored message (90 days of them: 0.57 s per query, see
    docs/benchmarks/README.md); with it, with the messages of the window, found through
    ``ix_messages_created_at``.
    """
    messages = Message.__table__
    return or_(
        exists().where(Handoff.conversation_id == Conversation.id),
        exists().where(messages.c.conversation_id == Conversation.id,
                       messages.c.created_at >= since - CLOCK_SKEW,
                       _handoff_message(messages.c)),
    )


def _has_customer_message() -> Any:
    return exists().where(Message.conversation_id == Conversation.id,
                          Message.sender == "customer")


def series(
    session: Session, *, now: datetime, period: Period = PERIODS["24h"]
) -> list[Bucket]:
    """The figures of each bucket of ``period`` up to ``now``, oldest first.

    Buckets start at whole multiples of the bucket size (full hours; 0, 6, 12, 18 h UTC), the
    last one holds ``now``. Buckets without activity are there with zeros.

    Args:
        session: an open session of the chat store.
        now: the current time (aware).
        period: one of :data:`PERIODS`.

    Returns:
        ``period.buckets`` buckets.
    """
    now = _utc(now)
    size = int(period.bucket.total_seconds())
    last = int(now.timestamp()) // size * size
    first = datetime.fromtimestamp(last - (period.buckets - 1) * size, timezone.utc)
    index = _Buckets(session, first, period.bucket)
    figures: dict[int, dict[str, Any]] = {i: {} for i in range(period.buckets)}

    messages = Message.__table__
    customer = messages.c.sender == "customer"
    bot = messages.c.sender == "bot"
    fallback = messages.c.meta["decision"].as_string() == "fallback"
    bucket = index.of(messages.c.created_at)
    rows = session.execute(
        select(
            bucket,
            func.sum(case((customer, 1), else_=0)),
            func.sum(case((bot, 1), else_=0)),
            func.sum(case((and_(bot, fallback), 1), else_=0)),
            func.count(distinct(case((customer, messages.c.conversation_id)))),
            func.count(distinct(case((_handoff_message(messages.c),
                                      messages.c.conversation_id)))),
        )
        .where(messages.c.created_at >= first)
        .group_by(bucket)
    )
    for i, customers, bots, fallbacks, active, handed in rows:
        if i in figures:
            figures[i].update(customer_messages=int(customers or 0), bot_messages=int(bots or 0),
                              fallbacks=int(fallbacks or 0), active_conversations=int(active),
                              handoff_conversations=int(handed))

    bucket = index.of(Conversation.created_at)
    rows = session.execute(
        select(bucket, func.count(), func.sum(case((~_asked_for_person(first), 1), else_=0)))
        .where(Conversation.created_at >= first, _has_customer_message())
        .group_by(bucket)
    )
    for i, started, solved in rows:
        if i in figures:
            figures[i].update(started_conversations=int(started),
                              solved_without_person=int(solved or 0))

    until = func.coalesce(Handoff.claimed_at, Handoff.closed_at, literal(now, UTCDateTime()))
    wait = _epoch(until, index.dialect) - _epoch(Handoff.requested_at, index.dialect)
    bucket = index.of(Handoff.requested_at)
    rows = session.execute(
        select(bucket, func.count(), func.avg(wait), func.max(wait))
        .where(Handoff.requested_at >= first)
        .group_by(bucket)
    )
    for i, count, average, longest in rows:
        if i in figures:
            figures[i].update(handoffs=int(count), wait_avg_s=max(0.0, float(average)),
                              wait_max_s=max(0.0, float(longest)))

    return [
        Bucket(start=first + i * period.bucket, end=first + (i + 1) * period.bucket, **values)
        for i, values in sorted(figures.items())
    ]


def current(session: Session, *, now: datetime) -> Current:
    """The queue, the share solved without a person (last 24 h) and the newest training run.

    Args:
        session: an open session of the chat store.
        now: the current time (aware).
    """
    now = _utc(now)
    queued = session.execute(
        select(Conversation.queued_at).where(Conversation.state == "queued")
    ).scalars().all()
    waits = [max(0.0, (now - (at or now)).total_seconds()) for at in queued]
    started, solved = session.execute(
        select(func.count(),
               func.sum(case((~_asked_for_person(now - SOLVED_WINDOW), 1), else_=0)))
        .where(Conversation.created_at >= now - SOLVED_WINDOW, _has_customer_message())
    ).one()
    newest = session.execute(
        select(TrainingRun.state, TrainingRun.finished_at).order_by(desc(TrainingRun.id))
        .limit(1)
    ).first()
    return Current(
        queue_length=len(waits),
        longest_wait_s=max(waits, default=0.0),
        average_wait_s=sum(waits) / len(waits) if waits else 0.0,
        started_conversations=int(started),
        solved_without_person=int(solved or 0),
        training_state=newest.state if newest else None,
        training_finished_at=newest.finished_at if newest else None,
    )
