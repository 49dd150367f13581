"""Tables of the editors' content store, in the web app's database (same ``Base`` as the chat).

::

    content_topics      the published state of each topic (what customers get), one row per id
    content_revisions   every draft, review and published version of a topic (history, rollback)
    content_settings    small key/value settings: the content generation, four-eyes switch
    audit_log           who changed what, when (editors, reviewers, admins)
    training_runs       background retraining after question changes: queued … live | rejected
    inbox_items         what the assistant did not understand (fallbacks, thumbs down, handoffs)

A topic's content is stored as the same mapping as ``knowledge/topics/<id>.yml`` (``data``), so
``python -m bot knowledge export/import`` is a lossless round trip and the loader's validation
applies unchanged. ``content_settings['generation']`` grows by one on every publish; the
assistant's store polls it to pick up new answers within a second.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)

from bot.chat.models import CONVERSATION_ID_LENGTH, Base, UTCDateTime, _in

REVISION_STATES: Final = ("draft", "pending", "published", "rejected", "discarded")
TRAINING_STATES: Final = ("queued", "training", "evaluating", "live", "rejected", "failed")
INBOX_KINDS: Final = ("fallback", "feedback", "handoff")
INBOX_STATES: Final = ("open", "added", "new_topic", "dismissed")
TOPIC_ID_LENGTH: Final = 100


class ContentTopic(Base):
    """The published content of one topic, as the assistant and the FAQ page show it."""

    __tablename__ = "content_topics"

    id: str = Column(String(TOPIC_ID_LENGTH), primary_key=True)
    version: int = Column(Integer, nullable=False)
    data: dict[str, Any] = Column(JSON, nullable=False)
    published_at: datetime = Column(UTCDateTime, nullable=False)
    published_by: int | None = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))


class ContentRevision(Base):
    """One edit of a topic: a draft, waiting for review, published, rejected or discarded.

    ``base_version`` is the published version the draft started from (``None`` for a new
    topic); publishing refuses a draft whose base is no longer the published version, so two
    editors never overwrite each other silently. ``version`` is set when it is published.
    """

    __tablename__ = "content_revisions"
    __table_args__ = (
        CheckConstraint(_in("state", REVISION_STATES), name="ck_content_revisions_state"),
        Index("ix_content_revisions_topic_state", "topic_id", "state"),
    )

    id: int = Column(Integer, primary_key=True)
    topic_id: str = Column(String(TOPIC_ID_LENGTH), nullable=False)
    base_version: int | None = Column(Integer)
    version: int | None = Column(Integer)
    data: dict[str, Any] = Column(JSON, nullable=False)
    state: str = Column(String(16), nullable=False, default="draft")
    note: str | None = Column(String(500))
    author_id: int | None = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))
    author_name: str = Column(String(100), nullable=False)
    created_at: datetime = Column(UTCDateTime, nullable=False)
    updated_at: datetime = Column(UTCDateTime, nullable=False)
    reviewer_id: int | None = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))
    reviewer_name: str | None = Column(String(100))
    reviewed_at: datetime | None = Column(UTCDateTime)
    published_at: datetime | None = Column(UTCDateTime)


class ContentSetting(Base):
    """A small setting of the content store (``generation``, ``four_eyes``)."""

    __tablename__ = "content_settings"

    key: str = Column(String(64), primary_key=True)
    value: Any = Column(JSON, nullable=False)


class AuditEntry(Base):
    """Who did what, when. Names are copied so the log survives a deleted user."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: int = Column(Integer, primary_key=True)
    at: datetime = Column(UTCDateTime, nullable=False)
    actor_id: int | None = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))
    actor_name: str = Column(String(100), nullable=False)
    action: str = Column(String(64), nullable=False)
    target: str | None = Column(String(200))
    detail: dict[str, Any] | None = Column(JSON)


class TrainingRun(Base):
    """A background retraining: queued → training → evaluating → live, or rejected/failed.

    ``generation`` is the content generation the model was trained from; ``accuracy`` and
    ``live_accuracy`` are the held-out accuracies of the new and the live model (0..1).
    ``reason`` is the German explanation editors see (why rejected or failed).
    """

    __tablename__ = "training_runs"
    __table_args__ = (
        CheckConstraint(_in("state", TRAINING_STATES), name="ck_training_runs_state"),
        Index("ix_training_runs_state", "state"),
    )

    id: int = Column(Integer, primary_key=True)
    state: str = Column(String(16), nullable=False, default="queued")
    generation: int = Column(Integer, nullable=False)
    requested_by: str = Column(String(100), nullable=False)
    created_at: datetime = Column(UTCDateTime, nullable=False)
    started_at: datetime | None = Column(UTCDateTime)
    finished_at: datetime | None = Column(UTCDateTime)
    model_path: str | None = Column(String(500))
    accuracy: float | None = Column(Float)
    live_accuracy: float | None = Column(Float)
    reason: str | None = Column(Text)
    timings: dict[str, float] | None = Column(JSON)  # seconds per phase, for the benchmark


class InboxItem(Base):
    """A customer message the assistant did not handle well, for editors to act on.

    ``text`` is the masked customer message; ``faq_id`` the topic a thumbs-down was about.
    Rows go with their conversation (CASCADE), so deleting a chat deletes its inbox items.
    """

    __tablename__ = "inbox_items"
    __table_args__ = (
        CheckConstraint(_in("kind", INBOX_KINDS), name="ck_inbox_items_kind"),
        CheckConstraint(_in("state", INBOX_STATES), name="ck_inbox_items_state"),
        Index("ix_inbox_items_state_created", "state", "created_at"),
    )

    id: int = Column(Integer, primary_key=True)
    conversation_id: str = Column(
        String(CONVERSATION_ID_LENGTH),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    message_seq: int | None = Column(Integer)  # the customer message's seq in the conversation
    kind: str = Column(String(16), nullable=False)
    text: str = Column(Text, nullable=False)
    faq_id: str | None = Column(String(TOPIC_ID_LENGTH))
    created_at: datetime = Column(UTCDateTime, nullable=False)
    state: str = Column(String(16), nullable=False, default="open")
    resolved_by: str | None = Column(String(100))
    resolved_at: datetime | None = Column(UTCDateTime)
    resolved_topic: str | None = Column(String(TOPIC_ID_LENGTH))
