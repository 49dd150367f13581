"""The FAQ store the assistant answers from, looked up by topic id at reply time.

Answers are rendered when they are sent, not compiled into the model, so a changed answer text
reaches customers without retraining. ``FileKnowledgeStore`` reads ``knowledge/`` and reloads it
when a file changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Protocol

from bot.knowledge.loader import load_knowledge
from bot.knowledge.model import KnowledgeBase, Topic
from bot.knowledge.render import format_date, render

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    """A rendered answer with the identifiers channels, feedback and analytics need."""

    faq_id: str
    content_version: int
    title: str
    text: str
    related: tuple[str, ...]
    offers_calculation: bool


def dated_note(topic: Topic, today: date) -> str:
    """The line under every answer: the date it was checked and, for ended measures, the end."""
    stand = f"Stand: {format_date(topic.stand)}"
    if topic.has_ended(today) and topic.valid_to is not None:
        return f"_{stand} · Diese Regelung ist am {format_date(topic.valid_to)} ausgelaufen._"
    return f"_{stand}_"


def render_answer(kb: KnowledgeBase, topic_id: str, today: date) -> Answer:
    """Render the answer of ``topic_id`` as a customer sees it on ``today``.

    Raises:
        KeyError: the topic does not exist.
    """
    topic = kb.topics[topic_id]
    body = render(topic.answer, kb.facts, kb.utility).strip()
    return Answer(
        faq_id=topic.id,
        content_version=topic.version,
        title=topic.title,
        text=f"{body}\n\n{dated_note(topic, today)}",
        related=topic.related,
        offers_calculation=topic.offers_calculation,
    )


class KnowledgeStore(Protocol):
    """Where answers come from (files now; the editors' database later)."""

    def knowledge(self) -> KnowledgeBase:
        """Return the current content."""

    def answer(self, topic_id: str, today: date | None = None) -> Answer:
        """Return the rendered answer of a topic; ``KeyError`` if unknown."""


# How often the files are checked for changes: an edited answer is live within this time,
# while a busy action server does not stat every file on every message.
CHECK_INTERVAL_S = 1.0


class FileKnowledgeStore:
    """Reads ``knowledge/`` and reloads it when a file there changes (checked every second)."""

    def __init__(
        self,
        directory: Path,
        *,
        check_interval_s: float = CHECK_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._directory = directory
        self._check_interval_s = check_interval_s
        self._clock = clock
        self._next_check = float("-inf")
        self._lock = threading.Lock()
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self._kb: KnowledgeBase | None = None

    def _current_signature(self) -> tuple[tuple[str, int, int], ...]:
        files = sorted(self._directory.rglob("*.yml"))
        return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)

    def knowledge(self) -> KnowledgeBase:
        """Return the content, reloading it if a file changed since the last call.

        A reload that fails validation keeps serving the last valid content, so an editor's
        typo never takes the assistant down; the error is raised only when nothing was loaded.
        """
        with self._lock:
            now = self._clock()
            if self._kb is not None and now < self._next_check:
                return self._kb
            self._next_check = now + self._check_interval_s
            signature = self._current_signature()
            if self._kb is None or signature != self._signature:
                try:
                    self._kb = load_knowledge(self._directory)
                except Exception:
                    if self._kb is None:
                        raise
                    logger.exception("knowledge reload failed; still serving the last content")
                self._signature = signature
            return self._kb

    def answer(self, topic_id: str, today: date | None = None) -> Answer:
        """Return the rendered answer of ``topic_id``."""
        return render_answer(self.knowledge(), topic_id, today or date.today())
