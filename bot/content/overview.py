"""The editors' overview of the topics: what is published, drafted, disliked or not understood.

The editor console lists every topic with its state and two signals that it needs work:

* ``low_feedback``: at least :data:`LOW_FEEDBACK_MIN_VOTES` votes on the *published version*,
  of which at least :data:`LOW_FEEDBACK_SHARE` thumbs down;
* ``many_fallbacks``: at least :data:`MANY_FALLBACKS` open inbox items of the last
  :data:`RECENT_DAYS` days related to the topic (a thumbs down or a handoff after its answer,
  or a fallback within :data:`FALLBACK_AFTER_ANSWER` messages after its answer: the customer's
  follow-up was not understood).

Plain functions over a SQLAlchemy session (no web framework); ``bot.web.editor`` shapes the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session

from bot.chat.models import Feedback, Message
from bot.content import repository as content
from bot.content.checks import CheckResult, run_checks
from bot.content.markdown import markdown_problems
from bot.content.models import ContentRevision, ContentTopic, InboxItem
from bot.knowledge.errors import KnowledgeError
from bot.nlu.normalize import fold

# Three votes are the fewest that say more than one unhappy customer; 30 % thumbs down is about
# three times the share of the well-rated demo answers.
LOW_FEEDBACK_MIN_VOTES: Final = 3
LOW_FEEDBACK_SHARE: Final = 0.3
MANY_FALLBACKS: Final = 3
RECENT_DAYS: Final = 30
# A fallback this many messages after an answer is a follow-up to it (customer, bot, customer).
FALLBACK_AFTER_ANSWER: Final = 4
# Revision states of work in progress (a draft, one sent back, one waiting for review).
OPEN_STATES: Final = ("draft", "rejected", "pending")


@dataclass(frozen=True)
class TopicFilter:
    """What the editor searches for: words, a measure, and the three signals."""

    q: str = ""
    measure: str = ""
    expired: bool = False
    low_feedback: bool = False
    many_fallbacks: bool = False


@dataclass(frozen=True)
class TopicList:
    """The topics that match a filter (sorted by title) and how many there are in all."""

    topics: list[dict[str, Any]]
    total: int


def feedback_stats(session: Session) -> dict[tuple[str, int | None], tuple[int, int]]:
    """Thumbs up and down per (topic, content version)."""
    statement = select(
        Feedback.faq_id, Feedback.content_version, Feedback.helpful, func.count()
    ).group_by(Feedback.faq_id, Feedback.content_version, Feedback.helpful)
    stats: dict[tuple[str, int | None], tuple[int, int]] = {}
    for faq_id, version, helpful, count in session.execute(statement):
        up, down = stats.get((faq_id, version), (0, 0))
        stats[(faq_id, version)] = (up + count, down) if helpful else (up, down + count)
    return stats


def inbox_counts(session: Session, since: datetime) -> dict[str, int]:
    """Open inbox items since ``since`` related to each topic (module docstring)."""
    answered_before = (
        select(Message.faq_id)
        .where(
            Message.conversation_id == InboxItem.conversation_id,
            Message.sender == "bot",
            Message.faq_id.isnot(None),  # type: ignore[union-attr]
            # Columns (SQL expressions), not the ints mypy sees on the model.
            Message.seq < InboxItem.message_seq,  # type: ignore[operator]
            Message.seq >= InboxItem.message_seq - FALLBACK_AFTER_ANSWER,  # type: ignore[operator]
        )
        .order_by(desc(Message.seq))
        .limit(1)
        .correlate(InboxItem)
        .scalar_subquery()
    )
    statement = select(InboxItem.kind, InboxItem.faq_id, answered_before).where(
        InboxItem.state == "open", InboxItem.created_at >= since
    )
    counts: dict[str, int] = {}
    for kind, faq_id, previous in session.execute(statement):
        topic = faq_id or (previous if kind == "fallback" else None)
        if topic:
            counts[topic] = counts.get(topic, 0) + 1
    return counts


def matches(doc: dict[str, Any], words: list[str]) -> bool:
    """True when every (folded) word occurs in the topic's title, answer, id or questions."""
    haystack = fold(
        " ".join(
            [str(doc.get("title") or ""), str(doc.get("answer") or ""), str(doc.get("id") or "")]
            + [str(q) for q in doc.get("questions") or []]
        )
    )
    return all(word in haystack for word in words)


def low_feedback(up: int, down: int) -> bool:
    """Enough votes, and enough of them thumbs down (module docstring)."""
    return up + down >= LOW_FEEDBACK_MIN_VOTES and down / (up + down) >= LOW_FEEDBACK_SHARE


def topic_list(session: Session, wanted: TopicFilter, *, now: datetime) -> TopicList:
    """Every published or drafted topic that matches ``wanted``, with its state and signals."""
    day = now.date().isoformat()
    docs = content.published_documents(session)
    published_at = dict(session.execute(select(ContentTopic.id, ContentTopic.published_at)).all())
    votes = feedback_stats(session)
    related_items = inbox_counts(session, now - timedelta(days=RECENT_DAYS))
    drafts: dict[str, list[ContentRevision]] = {}
    for rev in content.open_revisions(session):
        drafts.setdefault(rev.topic_id, []).append(rev)
    words = fold(wanted.q).split()
    selected: list[dict[str, Any]] = []
    topic_ids = sorted(set(docs) | set(drafts))
    for topic_id in topic_ids:
        published = topic_id in docs
        doc = docs.get(topic_id) or dict(drafts[topic_id][-1].data)
        version = doc.get("version") if published else None
        up, down = votes.get((topic_id, version), (0, 0)) if published else (0, 0)
        valid_to = doc.get("valid_to")
        inbox = related_items.get(topic_id, 0)
        item = {
            "id": topic_id,
            "title": str(doc.get("title") or topic_id),
            "measure": doc.get("measure"),
            "published": published,
            "version": version,
            "published_at": published_at.get(topic_id),
            "valid_from": doc.get("valid_from"),
            "valid_to": valid_to,
            "stand": doc.get("stand"),
            "expired": bool(valid_to) and str(valid_to) < day,
            "questions": len(doc.get("questions") or []),
            "feedback": {"up": up, "down": down,
                         "share_down": down / (up + down) if up + down else None},
            "low_feedback": low_feedback(up, down),
            "inbox": inbox,
            "many_fallbacks": inbox >= MANY_FALLBACKS,
            "drafts": sum(1 for r in drafts.get(topic_id, []) if r.state != "pending"),
            "pending": sum(1 for r in drafts.get(topic_id, []) if r.state == "pending"),
        }
        if (
            (not words or matches(doc, words))
            and (not wanted.measure or item["measure"] == wanted.measure)
            and (not wanted.expired or item["expired"])
            and (not wanted.low_feedback or item["low_feedback"])
            and (not wanted.many_fallbacks or item["many_fallbacks"])
        ):
            selected.append(item)
    selected.sort(key=lambda item: fold(item["title"]))
    return TopicList(selected, len(topic_ids))


def topic_votes(session: Session, topic_id: str, version: int | None) -> tuple[int, int]:
    """Thumbs up and down on one published version of a topic (``None``: unpublished)."""
    if version is None:
        return 0, 0
    statement = (
        select(Feedback.helpful, func.count())
        .where(Feedback.faq_id == topic_id, Feedback.content_version == version)
        .group_by(Feedback.helpful)
    )
    counts = {bool(helpful): int(count) for helpful, count in session.execute(statement)}
    return counts.get(True, 0), counts.get(False, 0)


def published_checks(
    session: Session,
    knowledge_dir: Path,
    *,
    today: date,
    max_stand_age_days: int,
    site_paths: frozenset[str],
) -> list[CheckResult]:
    """The editorial checks of the published content, as ``python -m bot check`` runs them."""
    try:
        kb = content.knowledge_base(session, knowledge_dir)
    except KnowledgeError as exc:  # never expected: publishing validates
        return [
            CheckResult("invalid_content", "error", "", str(problem), "content")
            for problem in exc.problems
        ]
    results = run_checks(
        kb, today=today, max_stand_age_days=max_stand_age_days, site_paths=site_paths
    )
    # Raw HTML and unsafe links.
    results += [
        CheckResult("markdown", "error", t.id, p, "answer")
        for t in kb.topics.values()
        for p in markdown_problems(t.answer)
    ]
    return results


def published_version(session: Session, topic_id: str, version: int) -> ContentRevision | None:
    """The revision that published ``version`` of a topic, if there was one."""
    rev = (
        session.execute(
            select(ContentRevision)
            .where(
                ContentRevision.topic_id == topic_id,
                ContentRevision.state == "published",
                ContentRevision.version == version,
            )
            .order_by(desc(ContentRevision.id))
        )
        .scalars()
        .first()
    )
    return rev if isinstance(rev, ContentRevision) else None
