"""Tables of the web app's chat store (SQLAlchemy 1.4, written in the 2.0 style).

::

    agents ─────────┬── agent_sessions   (CASCADE: deleting a user ends every login of theirs)
                    │ (SET NULL)
    conversations ──┼── messages   (CASCADE: deleting a conversation deletes every row below it)
                    ├── feedback
                    ├── handoffs
                    └── tickets

    pending_tracker_deletions   Rasa trackers of deleted conversations still to delete

Every timestamp is stored as naive UTC and read back as an aware UTC ``datetime`` (``UTCDateTime``),
so SQLite, which has no time zones, and PostgreSQL behave alike. Use the functions in
``bot.chat.repository`` rather than writing rows directly: they mask message texts and keep the
conversation state consistent.

The attributes carry the types of their Python values (``state: str``), because SQLAlchemy 1.4
ships no type information; mypy sees the values, while SQLAlchemy sees the ``Column``.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar, Final

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base
from sqlalchemy.sql.expression import false, text, true
from sqlalchemy.types import TypeDecorator

from bot.social.dedupe import define_table

STATES: Final = ("bot", "queued", "agent", "closed")
SENDERS: Final = ("customer", "bot", "agent", "system")
ROLES: Final = ("agent", "editor", "admin")
CHANNELS: Final = ("web", "whatsapp", "messenger")
# Length of ``secrets.token_urlsafe(24)``: 24 random bytes (192 bits) in base64url are 32
# characters; the column leaves room for longer tokens.
CONVERSATION_ID_LENGTH: Final = 64


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UTCDateTime(TypeDecorator):  # type: ignore[misc]  # SQLAlchemy 1.4 has no type information
    """A timestamp stored as naive UTC and returned as an aware UTC datetime."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Convert an aware datetime to naive UTC; naive ones are refused (their zone is unknown).

        Raises:
            ValueError: if ``value`` is naive.
        """
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"timestamps must be timezone-aware, got {value!r}")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        """Mark a stored naive UTC timestamp as UTC."""
        return None if value is None else value.replace(tzinfo=timezone.utc)


if TYPE_CHECKING:

    class Base:
        """What mypy sees of the declarative base."""

        metadata: ClassVar[Any]
        __table__: ClassVar[Any]

        def __init__(self, **kwargs: Any) -> None: ...

else:
    Base = declarative_base()


class Agent(Base):
    """A person who answers chats (``agent``), edits content (``editor``) or manages users.

    Ids are never reused: SQLite's ``AUTOINCREMENT`` (without it SQLite hands a deleted user's id
    to the next user) and PostgreSQL's sequence. A deactivated user (``active`` false) keeps
    their account and history but cannot log in.
    """

    __tablename__ = "agents"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="ck_agents_role"),
        {"sqlite_autoincrement": True},
    )

    id: int = Column(Integer, primary_key=True)
    username: str = Column(String(64), nullable=False, unique=True)
    password_hash: str = Column(String(255), nullable=False)
    display_name: str = Column(String(100), nullable=False)
    role: str = Column(String(16), nullable=False, default="agent")
    created_at: datetime = Column(UTCDateTime, nullable=False)
    active: bool = Column(Boolean, nullable=False, default=True, server_default=true())
    # What customers see of the agent (issue 18): a public alias and an avatar of the shipped
    # set, never the login name; the Messenger persona made from them (created on first use).
    alias: str | None = Column(String(60))
    avatar: str | None = Column(String(60))
    messenger_persona_id: str | None = Column(String(32))


class AgentSession(Base):
    """One login of a console user (``bot.web.sessions``); deleting the row ends it.

    The cookie carries a random token; only its SHA-256 is stored, so a copy of the database
    does not log anyone in. Rows are shared by every web app instance (one database).
    """

    __tablename__ = "agent_sessions"

    id: str = Column(String(64), primary_key=True)  # hex SHA-256 of the cookie's token
    agent_id: int = Column(
        Integer, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: datetime = Column(UTCDateTime, nullable=False)
    expires_at: datetime = Column(UTCDateTime, nullable=False, index=True)


class Conversation(Base):
    """One website chat; ``id`` is the unguessable token the widget keeps.

    ``queued_at``, ``claimed_at`` and ``agent_id`` describe the current handoff and are cleared
    when the conversation goes back to the bot; the ``handoffs`` table keeps the history.
    """

    __tablename__ = "conversations"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="ck_conversations_state"),
        Index("ix_conversations_state_queued_at", "state", "queued_at"),
        Index("ix_conversations_updated_at", "updated_at"),
        # The KPI dashboard counts conversations started in its window (bot/chat/kpis.py).
        Index("ix_conversations_created_at", "created_at"),
        CheckConstraint(_in("channel", CHANNELS), name="ck_conversations_channel"),
        Index("ix_conversations_channel_created_at", "channel", "created_at"),
        # At most one open conversation per WhatsApp number or Messenger PSID: two webhook
        # workers handling the same customer at once cannot start two conversations.
        Index(
            "uq_conversations_open_contact",
            "channel",
            "contact_id",
            unique=True,
            sqlite_where=text("state != 'closed' AND contact_id IS NOT NULL"),
            postgresql_where=text("state != 'closed' AND contact_id IS NOT NULL"),
        ),
    )

    id: str = Column(String(CONVERSATION_ID_LENGTH), primary_key=True)
    created_at: datetime = Column(UTCDateTime, nullable=False)
    updated_at: datetime = Column(UTCDateTime, nullable=False)
    state: str = Column(String(16), nullable=False, default="bot")
    page: str | None = Column(String(200))
    agent_id: int | None = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))
    queued_at: datetime | None = Column(UTCDateTime)
    claimed_at: datetime | None = Column(UTCDateTime)
    # The seq of the last message; incremented in SQL so concurrent writers get distinct numbers.
    last_seq: int = Column(Integer, nullable=False, default=0)
    # Where the customer writes (issue 18). For WhatsApp and Messenger ``contact_id`` is the
    # wa_id (a phone number) or the PSID and ``contact_name`` WhatsApp's profile name: personal
    # data, deleted with the conversation (retention, deletion) and part of the export.
    channel: str = Column(String(16), nullable=False, default="web", server_default="web")
    contact_id: str | None = Column(String(64))
    contact_name: str | None = Column(String(200))
    # Opens the messaging window of WhatsApp and Messenger (bot.social.windows).
    last_customer_message_at: datetime | None = Column(UTCDateTime)


class Message(Base):
    """One message of a conversation, numbered 1, 2, 3 … by ``seq`` within it."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
        UniqueConstraint("external_id", name="uq_messages_external_id"),
        CheckConstraint(_in("sender", SENDERS), name="ck_messages_sender"),
        # The KPI dashboard reads the messages of its window (24 h or 14 days) out of up to
        # RETENTION_DAYS (90) days of them; without the index every refresh reads them all.
        Index("ix_messages_created_at", "created_at"),
    )

    id: int = Column(Integer, primary_key=True)
    conversation_id: str = Column(
        String(CONVERSATION_ID_LENGTH),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    )
    seq: int = Column(Integer, nullable=False)
    sender: str = Column(String(16), nullable=False)
    text: str = Column(Text, nullable=False)  # masked by the repository
    buttons: list[dict[str, str]] | None = Column(JSON)
    faq_id: str | None = Column(String(100))
    content_version: int | None = Column(Integer)
    meta: dict[str, Any] | None = Column(JSON)
    created_at: datetime = Column(UTCDateTime, nullable=False)
    # Social channels: Meta's id of the message (``wamid…``/``m_…``; a redelivered customer
    # message and our own echoes are recognised by it) and, for ours, Meta's delivery report.
    external_id: str | None = Column(String(512))
    delivery_state: str | None = Column(String(16))
    delivery_error: int | None = Column(Integer)
    # The word list found insults or threats (bot.moderation.abuse): blurred in the console.
    abusive: bool = Column(Boolean, nullable=False, default=False, server_default=false())


class Feedback(Base):
    """A thumbs up or down for one FAQ answer (topic and content version).

    ``message_seq`` is the bot message rated: one rating per message (older rows: ``NULL``).
    """

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("conversation_id", "message_seq", name="uq_feedback_conversation_message"),
    )

    id: int = Column(Integer, primary_key=True)
    conversation_id: str = Column(
        String(CONVERSATION_ID_LENGTH),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    faq_id: str = Column(String(100), nullable=False, index=True)
    content_version: int | None = Column(Integer)
    helpful: bool = Column(Boolean, nullable=False)
    created_at: datetime = Column(UTCDateTime, nullable=False)
    message_seq: int | None = Column(Integer)


class Handoff(Base):
    """One request for a person: asked, taken by an agent, ended (back to the bot or closed)."""

    __tablename__ = "handoffs"

    id: int = Column(Integer, primary_key=True)
    conversation_id: str = Column(
        String(CONVERSATION_ID_LENGTH),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    reason: str | None = Column(String(100))
    requested_at: datetime = Column(UTCDateTime, nullable=False)
    agent_id: int | None = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))
    claimed_at: datetime | None = Column(UTCDateTime)
    closed_at: datetime | None = Column(UTCDateTime)


class Ticket(Base):
    """A callback or message request made outside the opening hours.

    ``name`` and ``contact`` are stored as given because an agent must call or write back;
    ``concern`` is masked like every chat text.
    """

    __tablename__ = "tickets"

    id: int = Column(Integer, primary_key=True)
    conversation_id: str = Column(
        String(CONVERSATION_ID_LENGTH),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    name: str = Column(String(200), nullable=False)
    contact: str = Column(String(200), nullable=False)
    concern: str = Column(Text, nullable=False)
    created_at: datetime = Column(UTCDateTime, nullable=False)
    done_at: datetime | None = Column(UTCDateTime)


class BlockedContact(Base):
    """A WhatsApp number or Messenger PSID an agent blocked after abuse, until ``blocked_until``.

    Their messages are still stored (and deleted by the retention like any other), but they
    get no answer and no place in the agents' queue. Expired rows are removed by the retention.
    """

    __tablename__ = "blocked_contacts"

    channel: str = Column(String(16), primary_key=True)
    contact_id: str = Column(String(64), primary_key=True)
    blocked_until: datetime = Column(UTCDateTime, nullable=False, index=True)
    blocked_by: int | None = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: datetime = Column(UTCDateTime, nullable=False)


class PendingTrackerDeletion(Base):
    """The Rasa tracker of a deleted conversation, still to be deleted on the Rasa replicas.

    Written in the transaction that deletes the conversation (``repository.delete_conversation``)
    and removed once every replica confirmed the deletion (``bot.retention``), so a deletion
    survives Rasa being away and a restart of the web app. No foreign key: the conversation is
    gone. Several rows for one conversation are harmless (deleting a tracker is idempotent).
    """

    __tablename__ = "pending_tracker_deletions"

    id: int = Column(Integer, primary_key=True)
    conversation_id: str = Column(String(CONVERSATION_ID_LENGTH), nullable=False, index=True)
    created_at: datetime = Column(UTCDateTime, nullable=False)
    attempts: int = Column(Integer, nullable=False, default=0)
    last_attempt_at: datetime | None = Column(UTCDateTime)
    last_error: str | None = Column(String(500))


class MentionRow(Base):
    """A feed entry about the utility or a topic (``bot.social.mentions``): the "Erwähnungen"."""

    __tablename__ = "mentions"

    key: str = Column(String(64), primary_key=True)
    feed_name: str = Column(String(100), nullable=False)
    link: str = Column(String(2000), nullable=False)
    title: str = Column(String(500), nullable=False)
    summary: str = Column(Text, nullable=False, default="")
    published_at: datetime | None = Column(UTCDateTime)
    matched: list[str] | None = Column(JSON)
    topic_id: str | None = Column(String(100))
    topic_title: str | None = Column(String(200))
    found_at: datetime = Column(UTCDateTime, nullable=False, index=True)
    done_at: datetime | None = Column(UTCDateTime)
    done_by: int | None = Column(Integer, ForeignKey("agents.id", ondelete="SET NULL"))


# "Each message id processed once" (bot.social.dedupe): claims of webhook message ids, shared
# by every web app instance; purged after 8 days by the retention run.
SOCIAL_PROCESSED_MESSAGES: Final = define_table(Base.metadata)
