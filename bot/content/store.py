"""``DatabaseKnowledgeStore``: the assistant's answers from the editors' database.

The action server asks it for an answer at reply time. It keeps the whole published content in
memory and checks one number, the content generation (``content_settings``), at most once per
``check_interval_s``; when an editor publishes, the generation grows and the next check reloads
the topics. A published answer is therefore live within about one second, without retraining.

Facts and the utility profile stay files (``knowledge/facts``, ``utility.yml``) and are reloaded
when they change. While the database holds no content yet (before the web app's first start
imported ``knowledge/``, or while it cannot be reached on first use) the store answers from
the files, so the action server works alone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from bot.content import repository as repo
from bot.content.documents import build_knowledge, load_facts_and_utility
from bot.knowledge.model import KnowledgeBase
from bot.knowledge.store import CHECK_INTERVAL_S, Answer, FileKnowledgeStore, render_answer

logger = logging.getLogger(__name__)


class DatabaseKnowledgeStore:
    """Published topics from the database, facts and utility profile from ``knowledge_dir``."""

    def __init__(
        self,
        engine: Engine,
        knowledge_dir: Path,
        *,
        check_interval_s: float = CHECK_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessionmaker(bind=engine, future=True)
        self._knowledge_dir = knowledge_dir
        self._files = FileKnowledgeStore(knowledge_dir, check_interval_s=check_interval_s,
                                         clock=clock)
        self._check_interval_s = check_interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._next_check = float("-inf")
        self._loaded: tuple[int, tuple[float, ...]] | None = None
        self._kb: KnowledgeBase | None = None
        # True from a failed check until one succeeds: an outage (or a database the web app
        # has not migrated yet) is logged once with its traceback, not at every check, i.e.
        # once a second for as long as it lasts.
        self._failing = False

    def _facts_signature(self) -> tuple[float, ...]:
        paths = sorted((self._knowledge_dir / "facts").glob("*.yml"))
        paths.append(self._knowledge_dir / "utility.yml")
        return tuple(p.stat().st_mtime_ns for p in paths if p.exists())

    def knowledge(self) -> KnowledgeBase:
        """The published content; reloaded when the generation or a fact file changed.

        A failed reload (database briefly unreachable, invalid fact file) keeps serving the
        last content; errors are raised only when nothing was loaded yet.
        """
        with self._lock:
            now = self._clock()
            if self._kb is not None and now < self._next_check:
                return self._kb
            self._next_check = now + self._check_interval_s
            try:
                with self._sessions() as session:
                    gen = repo.generation(session)
                    state = (gen, self._facts_signature())
                    if gen == 0:
                        # Nothing imported yet: the files are the content.
                        self._kb = self._files.knowledge()
                        self._loaded = None
                    elif state != self._loaded or self._kb is None:
                        docs = repo.published_documents(session)
                        facts, utility = load_facts_and_utility(self._knowledge_dir)
                        self._kb = build_knowledge(docs, facts, utility)
                        self._loaded = state
            except (SQLAlchemyError, OSError, ValueError) as exc:
                log = logger.debug if self._failing else logger.exception
                self._failing = True
                if self._kb is None:
                    # Database not reachable or not migrated yet: answer from the files
                    # rather than not at all; the next check tries the database again.
                    log("content database unavailable; answering from the files")
                    self._kb = self._files.knowledge()
                else:
                    log("content reload failed (%s); still serving the last content",
                        type(exc).__name__)
            else:
                if self._failing:
                    logger.warning("content database reachable again")
                self._failing = False
            assert self._kb is not None
            return self._kb

    def answer(self, topic_id: str, today: date | None = None) -> Answer:
        """The rendered answer of ``topic_id`` (``KeyError`` if unknown)."""
        return render_answer(self.knowledge(), topic_id, today or date.today())
