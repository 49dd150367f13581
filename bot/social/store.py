"""Database access of the social channels: conversations by contact, Meta ids, delivery, blocks.

Functions take a keyword-only ``session`` and flush but never commit, like
``bot.chat.repository`` (whose functions create conversations and messages; this module adds
what only WhatsApp and Messenger need). A contact id (wa_id, PSID) is personal data: it is
stored on its conversation, so retention and deletion of the conversation remove it, and it
never reaches a log unmasked (``bot.social.events.mask_contact``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, null, select, update
from sqlalchemy.orm import Session

from bot.chat import repository as repo
from bot.chat.models import BlockedContact, Conversation, Message
from bot.social.events import DeliveryState


def open_conversation(*, session: Session, channel: str, contact_id: str) -> Conversation | None:
    """The contact's conversation that is not closed, if any (at most one: a unique index)."""
    statement = select(Conversation).where(
        Conversation.channel == channel,
        Conversation.contact_id == contact_id,
        Conversation.state != "closed",
    )
    found: Conversation | None = session.execute(statement).scalars().first()
    return found


def start_conversation(
    *, session: Session, channel: str, contact_id: str, contact_name: str | None, now: datetime
) -> Conversation:
    """A new conversation of a WhatsApp or Messenger contact (state ``bot``).

    Raises:
        sqlalchemy.exc.IntegrityError: another instance started one a moment ago (at flush).
    """
    conversation = repo.create_conversation(session=session, now=now)
    conversation.channel = channel
    conversation.contact_id = contact_id
    conversation.contact_name = contact_name
    session.flush()
    return conversation


def customer_wrote(
    *, session: Session, conversation_id: str, at: datetime, contact_name: str | None
) -> None:
    """Move the messaging window: the customer's newest message (out-of-order safe)."""
    conversation = repo.get_conversation(session=session, conversation_id=conversation_id)
    if conversation.last_customer_message_at is None or at > conversation.last_customer_message_at:
        conversation.last_customer_message_at = at
    if contact_name:
        conversation.contact_name = contact_name[:200]
    session.flush()


def mark_message(
    *,
    session: Session,
    message: Message,
    external_id: str | None = None,
    delivery_state: str | None = None,
    delivery_error: int | None = None,
    abusive: bool | None = None,
) -> None:
    """Set the social columns of a stored message."""
    if external_id is not None:
        message.external_id = external_id
    if delivery_state is not None:
        message.delivery_state = delivery_state
    if delivery_error is not None:
        message.delivery_error = delivery_error
    if abusive is not None:
        message.abusive = abusive
    session.flush()


def message_by_external_id(*, session: Session, external_id: str) -> Message | None:
    """The message Meta knows by this id (ours or a customer's)."""
    found: Message | None = (
        session.execute(select(Message).where(Message.external_id == external_id))
        .scalars()
        .first()
    )
    return found


def record_status(
    *, session: Session, external_id: str, state: DeliveryState, error: int | None = None
) -> Message | None:
    """Apply a delivery report to one of our messages; states only move forward.

    Returns:
        The message, or None when no message has this id (a status of a message sent before
        the conversation was deleted, or not by us).
    """
    message = message_by_external_id(session=session, external_id=external_id)
    if message is None:
        return None
    current = DeliveryState(message.delivery_state) if message.delivery_state else None
    new = DeliveryState.advance(current, state)
    message.delivery_state = new.value
    if new is DeliveryState.FAILED and error is not None:
        message.delivery_error = error
    session.flush()
    return message


def record_watermark(
    *, session: Session, channel: str, contact_id: str, state: DeliveryState, watermark: datetime
) -> int:
    """Messenger ``read``/``delivery`` watermarks: our messages up to ``watermark``.

    Returns:
        How many messages changed.
    """
    statement = (
        select(Message)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Conversation.channel == channel,
            Conversation.contact_id == contact_id,
            Message.delivery_state != null(),
            Message.created_at <= watermark,
        )
    )
    changed = 0
    for message in session.execute(statement).scalars():
        new = DeliveryState.advance(DeliveryState(message.delivery_state), state)
        if new.value != message.delivery_state:
            message.delivery_state = new.value
            changed += 1
    session.flush()
    return changed


# --- blocked contacts ------------------------------------------------------------------------


def block(
    *,
    session: Session,
    channel: str,
    contact_id: str,
    hours: float,
    agent_id: int | None,
    now: datetime,
) -> BlockedContact:
    """Block a contact for ``hours`` from ``now`` (a second block replaces the first)."""
    row: BlockedContact | None = session.get(BlockedContact, (channel, contact_id))
    until = now + timedelta(hours=hours)
    if row is None:
        row = BlockedContact(channel=channel, contact_id=contact_id, blocked_until=until,
                             blocked_by=agent_id, created_at=now)  # fmt: skip
        session.add(row)
    else:
        row.blocked_until, row.blocked_by, row.created_at = until, agent_id, now
    session.flush()
    return row


def blocked_until(
    *, session: Session, channel: str, contact_id: str, now: datetime
) -> datetime | None:
    """Until when the contact is blocked, or None when not (any more)."""
    row: BlockedContact | None = session.get(BlockedContact, (channel, contact_id))
    if row is None or row.blocked_until <= now:
        return None
    return row.blocked_until


def purge_expired_blocks(*, session: Session, now: datetime) -> int:
    """Delete the blocks that ended (retention: a wa_id is personal data)."""
    result = session.execute(
        delete(BlockedContact)
        .where(BlockedContact.blocked_until <= now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def blocks_of(*, session: Session, channel: str, contact_id: str) -> list[dict[str, Any]]:
    """The contact's block as export data (empty when none)."""
    row: BlockedContact | None = session.get(BlockedContact, (channel, contact_id))
    if row is None:
        return []
    return [{
        "channel": row.channel,
        "blocked_until": row.blocked_until.isoformat(),
        "created_at": row.created_at.isoformat(),
    }]


def unblock(*, session: Session, channel: str, contact_id: str) -> None:
    """Lift a block (deletion of the contact's data)."""
    session.execute(
        delete(BlockedContact).where(
            BlockedContact.channel == channel, BlockedContact.contact_id == contact_id
        )
    )


def _iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def abusive_conversations_per_week(
    *, session: Session, now: datetime, weeks: int
) -> list[tuple[str, int]]:
    """Conversations with an abusive message in each of the last ``weeks`` ISO weeks.

    Returns:
        ``(week, count)`` for every week up to ``now`` (``2026-W49``), oldest first, weeks
        without any included.
    """
    statement = select(Message.conversation_id, Message.created_at).where(
        Message.abusive.is_(True),  # type: ignore[attr-defined]
        Message.created_at >= now - timedelta(weeks=weeks),
    )
    found: dict[str, set[str]] = {}
    for conversation_id, created_at in session.execute(statement):
        found.setdefault(_iso_week(created_at), set()).add(conversation_id)
    shown = [_iso_week(now - timedelta(weeks=back)) for back in reversed(range(weeks))]
    return [(week, len(found.get(week, ()))) for week in shown]


def set_external_ids(*, session: Session, messages: Sequence[tuple[Message, str]]) -> None:
    """Store Meta's ids of messages just sent, each as ``sent``."""
    for message, external_id in messages:
        mark_message(session=session, message=message, external_id=external_id,
                     delivery_state=DeliveryState.SENT.value)  # fmt: skip


def close_conversations_of(*, session: Session, conversation_id: str, now: datetime) -> None:
    """End a conversation (agent: end the chat and block)."""
    conversation = repo.get_conversation(session=session, conversation_id=conversation_id)
    if conversation.state != "closed":
        repo.close(session=session, conversation_id=conversation_id, now=now)
    session.execute(
        update(Conversation).where(Conversation.id == conversation_id).values(updated_at=now)
    )


def channel_figures(*, session: Session, since: datetime) -> dict[str, dict[str, int]]:
    """Per channel since ``since``: conversations started, handed to the queue, with abuse."""
    from sqlalchemy import func

    from bot.chat.models import CHANNELS, Handoff

    figures = {c: {"conversations": 0, "handoffs": 0, "abusive": 0} for c in CHANNELS}
    started = session.execute(
        select(Conversation.channel, func.count())
        .where(Conversation.created_at >= since)
        .group_by(Conversation.channel)
    )
    for channel, count in started:
        figures.setdefault(channel, {"conversations": 0, "handoffs": 0, "abusive": 0})
        figures[channel]["conversations"] = int(count)
    handed = session.execute(
        select(Conversation.channel, func.count(func.distinct(Handoff.conversation_id)))
        .join(Conversation, Conversation.id == Handoff.conversation_id)
        .where(Handoff.requested_at >= since)
        .group_by(Conversation.channel)
    )
    for channel, count in handed:
        figures[channel]["handoffs"] = int(count)
    abusive = session.execute(
        select(Conversation.channel, func.count(func.distinct(Message.conversation_id)))
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.abusive.is_(True), Message.created_at >= since)  # type: ignore[attr-defined]
        .group_by(Conversation.channel)
    )
    for channel, count in abusive:
        figures[channel]["abusive"] = int(count)
    return figures
