"""Typed data access of the chat store: every function takes a keyword-only ``session``.

The functions flush but never commit: the caller owns the transaction
(``with sessions.begin() as session: ...``), so a web request's writes succeed or fail together.
Every ``now`` parameter defaults to the current UTC time and exists for tests and the web app's
injectable clock; it must be timezone-aware.

Conversation states and the functions that change them::

    bot ──enqueue──▶ queued ──claim──▶ agent
     ▲                 │                 │
     └──release_to_bot─┴─────────────────┘        any state but closed ──close──▶ closed

Errors::

    ChatStoreError
     ├── UnknownConversation (also LookupError)   no conversation with that id (the API's 404)
     ├── UnknownAgent        (also LookupError)   no agent with that id
     ├── UnknownTicket       (also LookupError)   no ticket with that id
     ├── UnknownAnswer       (also LookupError)   feedback for an answer the conversation never got
     ├── AlreadyRated        (also ValueError)    feedback for a message rated before
     └── InvalidTransition   (also ValueError)    the state change is not allowed, e.g. claiming
                                                  a conversation another agent took a moment ago

Texts (messages, the strings of their metadata, a ticket's concern) pass through
``bot.privacy.mask`` before they are stored; a ticket's name and contact are kept as given
because an agent must call or write back.

Deleting a conversation (``delete_conversation``, ``delete_conversations_before``) records its
Rasa tracker in ``pending_tracker_deletions`` in the same transaction; ``bot.retention`` deletes
the tracker on the Rasa replicas and then the record (``pending_tracker_deletions``,
``tracker_deleted``, ``tracker_deletion_failed``).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from sqlalchemy import delete, desc, exists, null, select, update
from sqlalchemy.orm import Session

from bot.chat.models import (
    CONVERSATION_ID_LENGTH,
    ROLES,
    SENDERS,
    STATES,
    Agent,
    Base,
    BlockedContact,
    Conversation,
    Feedback,
    Handoff,
    Message,
    PendingTrackerDeletion,
    Ticket,
)
from bot.privacy import mask

# 24 random bytes = 192 bits: unguessable, so the id alone may grant access to a transcript.
CONVERSATION_TOKEN_BYTES: Final = 24
TRANSITIONS: Final[Mapping[str, frozenset[str]]] = {
    "bot": frozenset({"queued", "closed"}),
    "queued": frozenset({"agent", "bot", "closed"}),
    "agent": frozenset({"bot", "closed"}),
    "closed": frozenset(),
}


class ChatStoreError(Exception):
    """Base class of the errors the chat store raises on purpose."""


class UnknownConversation(ChatStoreError, LookupError):
    """No conversation has this id (never created, or deleted)."""

    def __init__(self, conversation_id: str) -> None:
        self.conversation_id = conversation_id
        # Only a prefix: the full id grants access to the transcript and must not reach logs.
        super().__init__(f"unknown conversation {conversation_id[:8]}…")


class UnknownAgent(ChatStoreError, LookupError):
    """No agent has this id."""


class UnknownTicket(ChatStoreError, LookupError):
    """No ticket has this id."""


class UnknownAnswer(ChatStoreError, LookupError):
    """The conversation has no bot answer of this topic and version (to rate)."""


class AlreadyRated(ChatStoreError, ValueError):
    """Every answer of this topic and version in the conversation has been rated already."""


class InvalidTransition(ChatStoreError, ValueError):
    """The conversation cannot change to the requested state from its current one."""

    def __init__(self, conversation_id: str, current: str, requested: str) -> None:
        self.conversation_id = conversation_id
        self.current = current
        self.requested = requested
        super().__init__(
            f"conversation {conversation_id[:8]}… cannot go from {current} to {requested}"
        )


@dataclass(frozen=True)
class QueueEntry:
    """A conversation waiting for an agent.

    Attributes:
        conversation: the queued conversation.
        position: 1 for the one waiting longest.
        waiting_seconds: whole seconds since it was queued (never negative).
    """

    conversation: Conversation
    position: int
    waiting_seconds: int


def _now(now: datetime | None) -> datetime:
    """Return ``now``, or the current UTC time if None.

    Raises:
        ValueError: if ``now`` is naive (its time zone, and so the stored time, is unknown).
    """
    if now is None:
        return datetime.now(timezone.utc)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got {now!r}")
    return now


def _possible_id(conversation_id: str) -> bool:
    """False for what no conversation id can be: too long, with NUL or a lone surrogate.

    PostgreSQL refuses to compare with such a text, so it must not reach a query.
    """
    return len(conversation_id) <= CONVERSATION_ID_LENGTH and not any(
        c == "\x00" or "\ud800" <= c <= "\udfff" for c in conversation_id
    )


def new_conversation_id() -> str:
    """Return a fresh, unguessable conversation id (32 URL-safe characters)."""
    return secrets.token_urlsafe(CONVERSATION_TOKEN_BYTES)


def _touch(session: Session, conversation_id: str, now: datetime, **values: Any) -> None:
    """Set ``updated_at`` (and ``values``) of a conversation in SQL.

    Raises:
        UnknownConversation: if there is none with this id.
    """
    if not _possible_id(conversation_id):
        raise UnknownConversation(conversation_id)
    result = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id)
        .values(updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        raise UnknownConversation(conversation_id)


# --- conversations ---------------------------------------------------------------------------


def create_conversation(
    *, session: Session, page: str | None = None, now: datetime | None = None
) -> Conversation:
    """Start a conversation in state ``bot``.

    Args:
        session: the open session.
        page: the website page the widget was opened on (``data-page``).
        now: the creation time.

    Returns:
        The new conversation with its unguessable ``id``.
    """
    now = _now(now)
    conversation = Conversation(
        id=new_conversation_id(),
        created_at=now,
        updated_at=now,
        state="bot",
        page=page,
        last_seq=0,
    )
    session.add(conversation)
    session.flush()
    return conversation


def get_conversation(*, session: Session, conversation_id: str) -> Conversation:
    """Return a conversation, read afresh from the database.

    Raises:
        UnknownConversation: if there is none with this id.
    """
    if not _possible_id(conversation_id):
        raise UnknownConversation(conversation_id)
    conversation: Conversation | None = session.get(
        Conversation, conversation_id, populate_existing=True
    )
    if conversation is None:
        raise UnknownConversation(conversation_id)
    return conversation


def delete_conversation(
    *, session: Session, conversation_id: str, now: datetime | None = None
) -> None:
    """Delete a conversation and every trace of it: messages, feedback, handoffs, tickets, inbox.

    The rows are deleted explicitly, child tables first, so nothing is left even where the
    database does not enforce the foreign keys' ``ON DELETE CASCADE``. Its Rasa tracker is
    recorded as a pending deletion in the same transaction (``bot.retention`` carries it out).

    Raises:
        UnknownConversation: if there is none with this id.
    """
    conversation = get_conversation(session=session, conversation_id=conversation_id)
    channel, contact_id = conversation.channel, conversation.contact_id
    for model in (Message, Feedback, Handoff, Ticket):
        session.execute(delete(model).where(model.conversation_id == conversation_id))
    # The editors' inbox (bot.content.models) quotes customer messages too; looked up in the
    # shared metadata so that the chat store does not import the content package.
    inbox = Base.metadata.tables.get("inbox_items")
    if inbox is not None:
        session.execute(delete(inbox).where(inbox.c.conversation_id == conversation_id))
    session.execute(delete(Conversation).where(Conversation.id == conversation_id))
    if contact_id is not None:
        # A WhatsApp number or PSID is personal data: its block goes with its last conversation.
        others = exists().where(Conversation.channel == channel,
                                Conversation.contact_id == contact_id)
        session.execute(delete(BlockedContact).where(
            BlockedContact.channel == channel, BlockedContact.contact_id == contact_id, ~others,
        ).execution_options(synchronize_session=False))
    session.add(
        PendingTrackerDeletion(conversation_id=conversation_id, created_at=_now(now), attempts=0)
    )
    session.flush()


def inactive_conversations(*, session: Session, before: datetime) -> list[str]:
    """The ids of the conversations without activity since ``before`` (the retention period).

    Activity is the conversation's ``updated_at`` (every message, state change, feedback and
    callback request sets it) and the time a callback request of it was marked done: a request
    an agent dealt with recently keeps its conversation. An open request does not: one nobody
    dealt with within the whole period goes with its conversation.

    Args:
        session: the open session.
        before: the start of the retention period (aware).
    """
    tickets = Ticket.__table__.c
    done_since = exists().where(
        tickets.conversation_id == Conversation.id, tickets.done_at >= _now(before)
    )
    statement = (
        select(Conversation.id)
        .where(Conversation.updated_at < _now(before), ~done_since)
        .order_by(Conversation.updated_at, Conversation.id)
    )
    return list(session.execute(statement).scalars())


def delete_conversations_before(
    *, session: Session, before: datetime, now: datetime | None = None
) -> int:
    """Delete every conversation without activity since ``before`` (``inactive_conversations``).

    Args:
        session: the open session.
        before: conversations inactive since earlier are deleted with every trace.
        now: the time of the deletion (recorded with the pending tracker deletions).

    Returns:
        How many conversations were deleted.
    """
    ids = inactive_conversations(session=session, before=before)
    for conversation_id in ids:
        delete_conversation(session=session, conversation_id=conversation_id, now=now)
    return len(ids)


def pending_tracker_deletions(
    *, session: Session, limit: int = 500
) -> list[PendingTrackerDeletion]:
    """The Rasa trackers still to delete, oldest first (at most ``limit``)."""
    statement = (
        select(PendingTrackerDeletion)
        .order_by(PendingTrackerDeletion.created_at, PendingTrackerDeletion.id)
        .limit(limit)
    )
    return list(session.execute(statement).scalars())


def tracker_deleted(*, session: Session, conversation_id: str) -> None:
    """Forget the pending deletions of a conversation's tracker: Rasa confirmed it."""
    session.execute(
        delete(PendingTrackerDeletion).where(
            PendingTrackerDeletion.conversation_id == conversation_id
        )
    )
    session.flush()


def tracker_deletion_failed(
    *, session: Session, conversation_id: str, error: str, now: datetime | None = None
) -> None:
    """Count a failed attempt to delete a conversation's tracker (it stays pending)."""
    session.execute(
        update(PendingTrackerDeletion)
        .where(PendingTrackerDeletion.conversation_id == conversation_id)
        .values(
            attempts=PendingTrackerDeletion.attempts + 1,
            last_attempt_at=_now(now),
            last_error=error[:500],
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()


# --- messages --------------------------------------------------------------------------------


def _mask_strings(value: Any, public: Collection[str]) -> Any:
    """``value`` (JSON-like) with every string masked; numbers and the structure as they are."""
    if isinstance(value, str):
        return mask(value, public=public)
    if isinstance(value, dict):
        return {key: _mask_strings(item, public) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_strings(item, public) for item in value]
    return value


def add_message(
    *,
    session: Session,
    conversation_id: str,
    sender: str,
    text: str,
    buttons: Sequence[Mapping[str, str]] | None = None,
    faq_id: str | None = None,
    content_version: int | None = None,
    meta: Mapping[str, Any] | None = None,
    public: Collection[str] = (),
    now: datetime | None = None,
) -> Message:
    """Append a message; its text is masked before it is stored.

    Args:
        session: the open session.
        conversation_id: the conversation.
        sender: ``customer``, ``bot``, ``agent`` or ``system``.
        text: the message text (masked with ``bot.privacy.mask``).
        buttons: quick replies, ``[{"title": ..., "payload": ...}]``.
        faq_id: the FAQ topic the message answers.
        content_version: the version of that topic's content.
        meta: further data (e.g. the calculation's inputs and result, a button's payload); its
            strings are masked like the text (a payload can be typed by an API client).
        public: the utility's own contact data that stays readable in the text
            (``bot.privacy.public_contacts``).
        now: the time of the message.

    Returns:
        The stored message with its ``seq`` (1, 2, 3 … within the conversation).

    Raises:
        UnknownConversation: if there is none with this id.
        ValueError: if ``sender`` is unknown.
    """
    if sender not in SENDERS:
        raise ValueError(f"sender must be one of {', '.join(SENDERS)}, got {sender!r}")
    now = _now(now)
    # The increment happens in SQL, which locks the row: concurrent writers (two browser tabs,
    # customer and agent) get distinct, gap-free numbers instead of a unique-key error.
    _touch(session, conversation_id, now, last_seq=Conversation.last_seq + 1)
    seq = get_conversation(session=session, conversation_id=conversation_id).last_seq
    message = Message(
        conversation_id=conversation_id,
        seq=seq,
        sender=sender,
        text=mask(text, public=public),
        buttons=[dict(b) for b in buttons] if buttons is not None else None,
        faq_id=faq_id,
        content_version=content_version,
        meta=_mask_strings(dict(meta), public) if meta is not None else None,
        created_at=now,
    )
    session.add(message)
    session.flush()
    return message


def transcript(*, session: Session, conversation_id: str, after: int = 0) -> list[Message]:
    """Return the messages with ``seq`` greater than ``after``, oldest first.

    Args:
        session: the open session.
        conversation_id: the conversation.
        after: the last ``seq`` the caller has (0 for the whole transcript).

    Raises:
        UnknownConversation: if there is none with this id.
    """
    get_conversation(session=session, conversation_id=conversation_id)
    statement = (
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.seq > after)
        .order_by(Message.seq)
    )
    return list(session.execute(statement).scalars())


# --- states and handoffs ---------------------------------------------------------------------


def _open_handoff(session: Session, conversation_id: str) -> Handoff | None:
    statement = (
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.closed_at == null())
        .order_by(desc(Handoff.requested_at), desc(Handoff.id))
        .limit(1)
    )
    handoff: Handoff | None = session.execute(statement).scalars().first()
    return handoff


def set_state(
    *,
    session: Session,
    conversation_id: str,
    state: str,
    agent_id: int | None = None,
    reason: str | None = None,
    now: datetime | None = None,
) -> Conversation:
    """Change the state of a conversation and record the handoff.

    Going to ``queued`` opens a handoff, ``agent`` assigns it, ``bot`` and ``closed`` end it.
    Asking for the current state changes nothing (a second ``enqueue`` keeps the place in the
    queue), except that another agent cannot take a conversation already claimed.

    Args:
        session: the open session.
        conversation_id: the conversation.
        state: ``bot``, ``queued``, ``agent`` or ``closed``.
        agent_id: the agent taking the conversation; required for ``agent``.
        reason: why a person was asked for (``queued`` only), e.g. ``asked`` or ``upset``.
        now: the time of the change.

    Returns:
        The conversation, read afresh.

    Raises:
        UnknownConversation: if there is none with this id.
        UnknownAgent: if ``agent_id`` names no agent.
        InvalidTransition: if the change is not allowed from the current state, also when
            another session changed the state in the meantime.
        ValueError: if ``state`` is unknown or ``agent_id`` is missing for ``agent``.
    """
    if state not in STATES:
        raise ValueError(f"state must be one of {', '.join(STATES)}, got {state!r}")
    if state == "agent" and agent_id is None:
        raise ValueError("agent_id is required to hand a conversation to an agent")
    now = _now(now)
    conversation = get_conversation(session=session, conversation_id=conversation_id)
    current = conversation.state
    if state == current and (state != "agent" or agent_id == conversation.agent_id):
        return conversation
    if state not in TRANSITIONS[current]:
        raise InvalidTransition(conversation_id, current, state)
    if agent_id is not None and session.get(Agent, agent_id) is None:
        raise UnknownAgent(f"unknown agent {agent_id}")

    values: dict[str, Any] = {}
    if state == "queued":
        values = {"queued_at": now, "claimed_at": None, "agent_id": None}
    elif state == "agent":
        values = {"claimed_at": now, "agent_id": agent_id}
    elif state == "bot":
        values = {"queued_at": None, "claimed_at": None, "agent_id": None}
    # Conditional on the state read above: of two agents claiming at once, the second one's
    # UPDATE matches no row (PostgreSQL re-checks the condition after the first commits).
    result = session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.state == current)
        .values(state=state, updated_at=now, **values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise InvalidTransition(conversation_id, current, state)

    handoff = _open_handoff(session, conversation_id)
    if state == "queued":
        if handoff is not None:  # left open by an earlier path; a new request supersedes it
            handoff.closed_at = now
        session.add(Handoff(conversation_id=conversation_id, reason=reason, requested_at=now))
    elif handoff is not None and state == "agent":
        handoff.agent_id = agent_id
        handoff.claimed_at = now
    elif handoff is not None:
        handoff.closed_at = now
    session.flush()
    return get_conversation(session=session, conversation_id=conversation_id)


def enqueue(
    *,
    session: Session,
    conversation_id: str,
    reason: str | None = None,
    now: datetime | None = None,
) -> Conversation:
    """Put a conversation in the agents' queue (state ``queued``); see ``set_state``."""
    return set_state(
        session=session, conversation_id=conversation_id, state="queued", reason=reason, now=now
    )


def claim(
    *, session: Session, conversation_id: str, agent_id: int, now: datetime | None = None
) -> Conversation:
    """Let an agent take a queued conversation (state ``agent``); see ``set_state``."""
    return set_state(
        session=session, conversation_id=conversation_id, state="agent", agent_id=agent_id, now=now
    )


def release_to_bot(
    *, session: Session, conversation_id: str, now: datetime | None = None
) -> Conversation:
    """Hand a queued or claimed conversation back to the bot (state ``bot``); see ``set_state``."""
    return set_state(session=session, conversation_id=conversation_id, state="bot", now=now)


def close(*, session: Session, conversation_id: str, now: datetime | None = None) -> Conversation:
    """End a conversation (state ``closed``, final); see ``set_state``."""
    return set_state(session=session, conversation_id=conversation_id, state="closed", now=now)


def queue(*, session: Session, now: datetime | None = None) -> list[QueueEntry]:
    """Return the queued conversations, the one waiting longest first.

    Args:
        session: the open session.
        now: the time the waiting seconds are counted to.
    """
    now = _now(now)
    statement = (
        select(Conversation)
        .where(Conversation.state == "queued")
        .order_by(Conversation.queued_at, Conversation.id)
    )
    entries: list[QueueEntry] = []
    for position, conversation in enumerate(session.execute(statement).scalars(), start=1):
        queued_at = conversation.queued_at or now
        waiting = max(0, int((now - queued_at).total_seconds()))
        entries.append(QueueEntry(conversation, position, waiting))
    return entries


def queue_position(*, session: Session, conversation_id: str) -> int | None:
    """Return the 1-based place of a conversation in the queue, or None if it is not queued.

    Raises:
        UnknownConversation: if there is none with this id.
    """
    conversation = get_conversation(session=session, conversation_id=conversation_id)
    if conversation.state != "queued":
        return None
    statement = (
        select(Conversation.id)
        .where(Conversation.state == "queued")
        .order_by(Conversation.queued_at, Conversation.id)
    )
    # The queue is short (people wait for a handful of agents), so counting in Python is fine.
    ids: list[str] = list(session.execute(statement).scalars())
    return ids.index(conversation_id) + 1


def handoffs(*, session: Session, conversation_id: str) -> list[Handoff]:
    """Return the handoffs of a conversation, oldest first.

    Raises:
        UnknownConversation: if there is none with this id.
    """
    get_conversation(session=session, conversation_id=conversation_id)
    statement = (
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id)
        .order_by(Handoff.requested_at, Handoff.id)
    )
    return list(session.execute(statement).scalars())


# --- feedback and tickets --------------------------------------------------------------------


def add_feedback(
    *,
    session: Session,
    conversation_id: str,
    faq_id: str,
    content_version: int | None,
    helpful: bool,
    seq: int | None = None,
    now: datetime | None = None,
) -> Feedback:
    """Record a thumbs up (``helpful=True``) or down for a FAQ answer of this conversation.

    Only a bot message of the conversation with this ``faq_id`` and ``content_version`` can be
    rated, each once: message ``seq`` if given, else the newest one not rated yet.

    Raises:
        UnknownConversation: if there is none with this id.
        UnknownAnswer: the conversation has no such answer (with ``seq``: not that message).
        AlreadyRated: every such answer has a rating already.
        sqlalchemy.exc.IntegrityError: the message was rated in the same moment (at commit).
    """
    now = _now(now)
    _touch(session, conversation_id, now)
    answers = select(Message.seq).where(
        Message.conversation_id == conversation_id,
        Message.sender == "bot",
        Message.faq_id == faq_id,
        Message.content_version == (null() if content_version is None else content_version),
    )
    if seq is not None:
        answers = answers.where(Message.seq == seq)
    rated = select(Feedback.message_seq).where(
        Feedback.conversation_id == conversation_id, Feedback.message_seq != null()
    )
    seqs = Message.__table__.c.seq
    unrated = session.execute(
        answers.where(seqs.not_in(rated)).order_by(desc(seqs)).limit(1)
    ).scalar()
    if unrated is None:
        if session.execute(answers.limit(1)).first() is None:
            raise UnknownAnswer(f"no answer {faq_id!r} to rate in {conversation_id[:8]}…")
        raise AlreadyRated(f"answer {faq_id!r} in {conversation_id[:8]}… rated before")
    feedback = Feedback(
        conversation_id=conversation_id,
        faq_id=faq_id,
        content_version=content_version,
        helpful=helpful,
        message_seq=int(unrated),
        created_at=now,
    )
    session.add(feedback)
    session.flush()
    return feedback


def add_ticket(
    *,
    session: Session,
    conversation_id: str,
    name: str,
    contact: str,
    concern: str,
    now: datetime | None = None,
) -> Ticket:
    """Record a callback or message request.

    Args:
        session: the open session.
        conversation_id: the conversation the request was made in.
        name: the customer's name, stored as given.
        contact: telephone number or e-mail address, stored as given (needed to call back).
        concern: what it is about; masked like every chat text.
        now: the time of the request.

    Raises:
        UnknownConversation: if there is none with this id.
    """
    now = _now(now)
    _touch(session, conversation_id, now)
    ticket = Ticket(
        conversation_id=conversation_id,
        name=name,
        contact=contact,
        concern=mask(concern),
        created_at=now,
    )
    session.add(ticket)
    session.flush()
    return ticket


def open_ticket(*, session: Session, conversation_id: str) -> Ticket | None:
    """The conversation's callback request not marked done yet, if any."""
    statement = (
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id, Ticket.done_at == null())
        .limit(1)
    )
    ticket: Ticket | None = session.execute(statement).scalars().first()
    return ticket


def tickets(*, session: Session, include_done: bool = False) -> list[Ticket]:
    """Return the callback and message requests, oldest first.

    Args:
        session: the open session.
        include_done: also those already marked done.
    """
    statement = select(Ticket).order_by(Ticket.created_at, Ticket.id)
    if not include_done:
        statement = statement.where(Ticket.done_at == null())
    return list(session.execute(statement).scalars())


def mark_ticket_done(*, session: Session, ticket_id: int, now: datetime | None = None) -> Ticket:
    """Mark a request as dealt with.

    Raises:
        UnknownTicket: if there is none with this id.
    """
    ticket: Ticket | None = session.get(Ticket, ticket_id)
    if ticket is None:
        raise UnknownTicket(f"unknown ticket {ticket_id}")
    ticket.done_at = _now(now)
    session.flush()
    return ticket


# --- agents ----------------------------------------------------------------------------------


def create_agent(
    *,
    session: Session,
    username: str,
    password_hash: str,
    display_name: str,
    role: str = "agent",
    now: datetime | None = None,
) -> Agent:
    """Create an agent, editor or admin account.

    Args:
        session: the open session.
        username: the login name (unique).
        password_hash: the hash (``bot.web.auth`` hashes; plain passwords never reach here).
        display_name: the name customers see ("Sie chatten jetzt mit …").
        role: ``agent``, ``editor`` or ``admin``.
        now: the creation time.

    Raises:
        ValueError: if ``role`` is unknown.
        sqlalchemy.exc.IntegrityError: if the username is taken.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    agent = Agent(
        username=username,
        password_hash=password_hash,
        display_name=display_name,
        role=role,
        created_at=_now(now),
    )
    session.add(agent)
    session.flush()
    return agent


def get_agent(*, session: Session, agent_id: int) -> Agent:
    """Return an agent by id.

    Raises:
        UnknownAgent: if there is none with this id.
    """
    agent: Agent | None = session.get(Agent, agent_id)
    if agent is None:
        raise UnknownAgent(f"unknown agent {agent_id}")
    return agent


def agent_by_username(*, session: Session, username: str) -> Agent | None:
    """Return the agent with this login name, or None."""
    statement = select(Agent).where(Agent.username == username)
    agent: Agent | None = session.execute(statement).scalars().first()
    return agent
