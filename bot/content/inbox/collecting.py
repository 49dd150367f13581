"""Collecting the inbox: what the assistant did not understand (issue 5).

The chat paths (``bot/web/chat_api.py``, ``bot/social/service.py``) call these in the
transaction of the triggering write, each call wrapped in :func:`collect` so the inbox can never
fail a customer's request:

* :func:`record_fallback`: the bot answered with a fallback (message metadata
  ``decision: fallback``) → the customer's message of that turn.
* :func:`record_feedback`: a thumbs down for an answer → the customer question that led to the
  newest answer of that topic in the conversation (``faq_id`` = the topic), or the topic's
  title when no such question can be found.
  The same for an answer the customer said they did not understand ("versteh ich nicht":
  the assistant's reply carries ``decision: unclear`` and ``about`` = the topic,
  :func:`unclear_topic`).
* :func:`record_handoff`: the conversation was handed to a person (``handoff: queued`` or
  ``offline``) → the newest customer question the bot answered before the request, if any.

Which customer message an item is about:

* Texts are the customer messages as stored, i.e. masked (``bot.privacy.mask``).
* Button clicks are never inbox texts (a message with a ``payload``, or a typed ``/intent``).
  A click on a button the bot offered just before ("Meinten Sie …?" options, "Nichts davon",
  "Mit einer Person sprechen") stands for the message the bot was answering with those buttons,
  so the chain is followed back to the typed question (at most ``BUTTON_CHAIN_STEPS`` clicks).
* A message without a word of content (``ja``, ``hallo``, ``???``: only the ``STOPWORDS`` of
  ``bot.content.inbox.grouping``) is not worth reviewing.
* Handoff rule: the request itself (the message of the turn that handed over, typed or clicked)
  is not an inbox text; the item is the newest earlier customer message, at most
  ``LOOKBACK_MESSAGES`` messages back, that is typed, worth reviewing and was answered by the
  bot (the next message is the bot's, so messages to an agent never count). Its ``faq_id`` is
  the topic the bot answered it with, if any. No such message: no item.
* One customer message makes at most one item, whatever the kind and state: a fallback and the
  handoff that follows count once, and a dismissed message does not come back.
* ``message_seq`` is the seq of that customer message; for a thumbs down whose question is
  unknown it is the answer's seq (so :func:`bot.content.inbox.grouping.excerpt` centres on the
  answer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, null, select
from sqlalchemy.orm import Session

from bot.chat.models import Message
from bot.content.inbox.common import current_time
from bot.content.inbox.grouping import worth_reviewing
from bot.content.models import ContentTopic, InboxItem

logger = logging.getLogger(__name__)

# How far back (messages) a trigger looks for the customer message it is about.
LOOKBACK_MESSAGES: Final = 30
# Clicks followed back to the typed question ("Meinten Sie …?" → "Nichts davon" → …).
BUTTON_CHAIN_STEPS: Final = 3

_Record = Callable[..., InboxItem | None]


def collect(session: Session, record: _Record, /, **kwargs: Any) -> InboxItem | None:
    """Run one ``record_*`` function so that it can never fail the customer's request.

    It runs in a SAVEPOINT of the caller's transaction: on any error only the inbox work is
    rolled back and logged (without texts), and the caller's writes go on.

    Args:
        session: the caller's session, inside its transaction and after its own writes
            (pysqlite begins a transaction only at the first write; a SAVEPOINT before it
            would commit on release).
        record: :func:`record_fallback`, :func:`record_feedback` or :func:`record_handoff`.
        **kwargs: the keyword arguments of ``record``.

    Returns:
        The new item, or None (nothing worth collecting, or an error).
    """
    try:
        with session.begin_nested():
            return record(session, **kwargs)
    except Exception as exc:  # the inbox is a by-product: never break a chat for it
        logger.warning(
            "inbox: %s failed (%s); the chat goes on without it",
            getattr(record, "__name__", "record"),
            type(exc).__name__,
        )
        logger.debug("inbox failure", exc_info=True)
        return None


def _click(message: Message) -> str | None:
    """The payload if the message is a button click (or a typed ``/intent``), else None."""
    payload = (message.meta or {}).get("payload")
    if isinstance(payload, str) and payload:
        return payload
    return message.text if message.text.startswith("/") else None


def _history(session: Session, conversation_id: str, up_to: int) -> list[Message]:
    """The messages with seq in (up_to - LOOKBACK_MESSAGES, up_to], oldest first."""
    statement = (
        select(Message)
        .where(
            Message.conversation_id == conversation_id,
            Message.seq > up_to - LOOKBACK_MESSAGES,
            Message.seq <= up_to,
        )
        .order_by(Message.seq)
    )
    return list(session.execute(statement).scalars())


def _last_customer(messages: Sequence[Message], before: int) -> int | None:
    """Index of the last customer message before index ``before``."""
    for index in range(before - 1, -1, -1):
        if messages[index].sender == "customer":
            return index
    return None


def _question_behind(messages: Sequence[Message], index: int) -> Message | None:
    """The typed customer message that ``messages[index]`` (a customer message) stands for.

    A click on a button of the bot messages right before it stands for the customer message
    those bot messages answered; any other click stands for nothing.
    """
    for _ in range(BUTTON_CHAIN_STEPS + 1):
        message = messages[index]
        payload = _click(message)
        if payload is None:
            return message if worth_reviewing(message.text) else None
        offered: set[str] = set()
        previous = index - 1
        while previous >= 0 and messages[previous].sender == "bot":
            offered.update(str(b.get("payload")) for b in messages[previous].buttons or [])
            previous -= 1
        if payload not in offered:
            return None
        found = _last_customer(messages, previous + 1)
        if found is None:
            return None
        index = found
    return None


def _known(
    session: Session, conversation_id: str, message_seq: int | None, kind: str, faq_id: str | None
) -> bool:
    """True when the conversation has an item for this message already (any kind and state).

    Without a message (a thumbs down for a topic never answered here): an item of the same
    kind and topic.
    """
    statement = select(InboxItem.id).where(InboxItem.conversation_id == conversation_id)
    if message_seq is not None:
        statement = statement.where(InboxItem.message_seq == message_seq)
    else:
        statement = statement.where(
            InboxItem.message_seq == null(), InboxItem.kind == kind, InboxItem.faq_id == faq_id
        )
    return session.execute(statement.limit(1)).first() is not None


def _add(
    session: Session,
    *,
    conversation_id: str,
    kind: str,
    text: str,
    message_seq: int | None,
    faq_id: str | None = None,
    now: datetime | None = None,
) -> InboxItem | None:
    if _known(session, conversation_id, message_seq, kind, faq_id):
        return None
    item = InboxItem(
        conversation_id=conversation_id,
        message_seq=message_seq,
        kind=kind,
        text=text,
        faq_id=faq_id,
        created_at=current_time(now),
        state="open",
    )
    session.add(item)
    session.flush()
    return item


def record_fallback(
    session: Session, *, conversation_id: str, message_seq: int, now: datetime | None = None
) -> InboxItem | None:
    """Collect the customer message the bot answered with a fallback.

    Args:
        session: the open session.
        conversation_id: the conversation.
        message_seq: the seq of the customer message of that turn.
        now: the time of collection.

    Returns:
        The new item, or None (a click that stands for no typed question, nothing worth
        reviewing, or the message is already in the inbox).
    """
    messages = _history(session, conversation_id, message_seq)
    if not messages or messages[-1].seq != message_seq or messages[-1].sender != "customer":
        return None
    question = _question_behind(messages, len(messages) - 1)
    if question is None:
        return None
    return _add(
        session,
        conversation_id=conversation_id,
        kind="fallback",
        text=question.text,
        message_seq=question.seq,
        now=now,
    )


def record_feedback(
    session: Session, *, conversation_id: str, faq_id: str, now: datetime | None = None
) -> InboxItem | None:
    """Collect the question behind a thumbs-down answer of topic ``faq_id``.

    The answer is the newest bot message of that topic in the conversation; the question the
    last customer message before it (a click is followed back, see the module docstring).
    Without one, the text is the topic's title.

    Returns:
        The new item, or None (an unknown topic never answered here, or already collected).
    """
    answer_seq = session.execute(
        select(func.max(Message.seq)).where(
            Message.conversation_id == conversation_id,
            Message.sender == "bot",
            Message.faq_id == faq_id,
        )
    ).scalar_one_or_none()
    question: Message | None = None
    if answer_seq is not None:
        messages = _history(session, conversation_id, answer_seq)
        index = _last_customer(messages, len(messages) - 1)
        question = _question_behind(messages, index) if index is not None else None
    if question is not None:
        return _add(
            session,
            conversation_id=conversation_id,
            kind="feedback",
            text=question.text,
            message_seq=question.seq,
            faq_id=faq_id,
            now=now,
        )
    topic = session.get(ContentTopic, faq_id)
    if topic is None and answer_seq is None:
        return None
    title = str((topic.data if topic else {}).get("title") or faq_id)
    return _add(
        session,
        conversation_id=conversation_id,
        kind="feedback",
        text=title,
        message_seq=answer_seq,
        faq_id=faq_id,
        now=now,
    )


def unclear_topic(metadata: Iterable[Mapping[str, Any]]) -> str | None:
    """The topic whose answer a turn's bot messages say was not understood, if any."""
    for meta in metadata:
        if meta.get("decision") == "unclear" and isinstance(meta.get("about"), str):
            return str(meta["about"])
    return None


def record_handoff(
    session: Session, *, conversation_id: str, request_seq: int, now: datetime | None = None
) -> InboxItem | None:
    """Collect the newest question the bot answered before a request for a person.

    Args:
        session: the open session.
        conversation_id: the conversation.
        request_seq: the seq of the customer message that asked for a person (not collected).
        now: the time of collection.

    Returns:
        The new item, or None (see the handoff rule in the module docstring).
    """
    messages = _history(session, conversation_id, request_seq)
    for index in range(len(messages) - 2, -1, -1):
        message = messages[index]
        if message.seq >= request_seq or message.sender != "customer":
            continue
        if _click(message) or not worth_reviewing(message.text):
            continue
        following = messages[index + 1]
        if following.sender != "bot":
            continue
        answered = next((m.faq_id for m in _bot_run(messages, index + 1) if m.faq_id), None)
        return _add(
            session,
            conversation_id=conversation_id,
            kind="handoff",
            text=message.text,
            message_seq=message.seq,
            faq_id=answered,
            now=now,
        )
    return None


def _bot_run(messages: Sequence[Message], start: int) -> list[Message]:
    """The bot messages from index ``start`` up to the next message of someone else."""
    run = []
    for message in messages[start:]:
        if message.sender != "bot":
            break
        run.append(message)
    return run

