"""What agents see of a conversation before claiming it, and the waiting queue with it.

The agent console shows every waiting conversation with a short summary: the topics the
assistant answered, how many answers it gave, the last calculation and the last turns, so an
agent knows the concern before saying hello. Plain functions on an open session of the chat
store (``bot.chat``); the web app turns the results into JSON (``bot.web.agent_api``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.orm import Session

from bot.chat import repository as repo
from bot.chat.models import Message

# How many of the last messages the summary carries.
LAST_TURNS: Final = 5


@dataclass(frozen=True)
class Summary:
    """The assistant's part of a conversation, as an agent reads it before claiming.

    Attributes:
        topic: the topic of the assistant's last answer with one (None: no topic yet).
        topics: every topic it answered, in order, each once.
        bot_answers: how many answers the assistant gave.
        calculation: the last instalment calculation it showed (its metadata), else None.
        last_turns: the last :data:`LAST_TURNS` messages, oldest first.
    """

    topic: str | None
    topics: list[str]
    bot_answers: int
    calculation: Any
    last_turns: list[Message]


@dataclass(frozen=True)
class Waiting:
    """A conversation in the queue with its place, waiting time, channel and summary."""

    conversation_id: str
    position: int
    waiting_seconds: int
    channel: str
    summary: Summary


def summarize(messages: Sequence[Message]) -> Summary:
    """The summary of a transcript (oldest message first)."""
    bot_answers = [m for m in messages if m.sender == "bot"]
    topics = [m.faq_id for m in bot_answers if m.faq_id]
    calculation = next(
        (
            (m.meta or {}).get("calculation")
            for m in reversed(bot_answers)
            if (m.meta or {}).get("calculation")
        ),
        None,
    )
    return Summary(
        topic=topics[-1] if topics else None,
        topics=list(dict.fromkeys(topics)),
        bot_answers=len(bot_answers),
        calculation=calculation,
        last_turns=list(messages[-LAST_TURNS:]),
    )


def summary(session: Session, conversation_id: str) -> Summary:
    """The summary of one conversation.

    Raises:
        UnknownConversation: if there is none with this id.
    """
    return summarize(repo.transcript(session=session, conversation_id=conversation_id))


def waiting(session: Session, now: datetime) -> list[Waiting]:
    """The waiting conversations with their summaries, the one waiting longest first."""
    return [
        Waiting(
            conversation_id=entry.conversation.id,
            position=entry.position,
            waiting_seconds=entry.waiting_seconds,
            channel=entry.conversation.channel,
            summary=summary(session, entry.conversation.id),
        )
        for entry in repo.queue(session=session, now=now)
    ]
