"""Mentions in the web app's database and the poller that fills it ("Erwähnungen" in the console).

:class:`SqlMentionStore` implements ``bot.social.mentions.MentionStore`` on the ``mentions``
table (every instance sees the same list and done state). :class:`MentionPoller` runs
``poll_once`` every configured interval in the web app; it is off unless
``MENTION_POLLING=true`` (``make run`` without internet stays quiet). Nothing is ever posted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import desc, null, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.chat.models import MentionRow
from bot.social.mentions import (
    FeedFetcher,
    Mention,
    MentionSettings,
    TopicGuesser,
    poll_once,
)

logger = logging.getLogger(__name__)


def _mention(row: MentionRow) -> Mention:
    return Mention(
        key=row.key, feed_name=row.feed_name, link=row.link, title=row.title,
        summary=row.summary, published=row.published_at, matched=tuple(row.matched or ()),
        topic_id=row.topic_id, topic_title=row.topic_title, found_at=row.found_at,
        done=row.done_at is not None,
    )  # fmt: skip


def mention_json(mention: Mention) -> dict[str, Any]:
    """A mention as the console's JSON."""
    return {
        "key": mention.key,
        "feed_name": mention.feed_name,
        "link": mention.link,
        "title": mention.title,
        "summary": mention.summary,
        "published_at": mention.published.isoformat() if mention.published else None,
        "matched": list(mention.matched),
        "topic_id": mention.topic_id,
        "topic_title": mention.topic_title,
        "found_at": mention.found_at.isoformat(),
        "done": mention.done,
    }


class SqlMentionStore:
    """``MentionStore`` on the ``mentions`` table.

    Args:
        sessions: the web app's session factory.
        clock: the time a mention is marked done.
    """

    def __init__(self, sessions: sessionmaker, clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    def add(self, mention: Mention) -> bool:
        """Store a mention; False if its key is known already (nothing changes)."""
        try:
            with self._sessions.begin() as session:
                if session.get(MentionRow, mention.key) is not None:
                    return False
                session.add(MentionRow(
                    key=mention.key, feed_name=mention.feed_name[:100], link=mention.link[:2000],
                    title=mention.title[:500], summary=mention.summary,
                    published_at=mention.published, matched=list(mention.matched),
                    topic_id=mention.topic_id, topic_title=mention.topic_title,
                    found_at=mention.found_at,
                ))  # fmt: skip
            return True
        except IntegrityError:  # another instance stored it a moment ago
            return False

    def open_mentions(self) -> list[Mention]:
        """Mentions not done yet, newest first."""
        with self._sessions() as session:
            rows = session.execute(
                select(MentionRow)
                .where(MentionRow.done_at == null())
                .order_by(desc(MentionRow.found_at))
                .limit(200)
            ).scalars()
            mentions = [_mention(row) for row in rows]
        return sorted(mentions, key=lambda m: m.published or m.found_at, reverse=True)

    def mark_done(self, key: str, done: bool = True, agent_id: int | None = None) -> bool:
        """Set the done state (and who did it); False for an unknown key."""
        if len(key) > 64:
            return False
        with self._sessions.begin() as session:
            row = session.get(MentionRow, key)
            if row is None:
                return False
            row.done_at = self._clock() if done else None
            row.done_by = agent_id if done else None
        return True


def polling_enabled(environ: Any = os.environ) -> bool:
    """``MENTION_POLLING=true``: poll the configured feeds (off by default)."""
    return str(environ.get("MENTION_POLLING", "")).strip().lower() in ("1", "true", "yes")


class MentionPoller:
    """Polls the feeds every ``settings.interval`` in the web app's event loop."""

    def __init__(self, settings: MentionSettings, store: SqlMentionStore, guesser: TopicGuesser,
                 clock: Callable[[], datetime]) -> None:  # fmt: skip
        self.settings = settings
        self.store = store
        self.guesser = guesser
        self.clock = clock
        self.fetcher = FeedFetcher()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start polling (nothing to do without feeds)."""
        if self.settings.feeds:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop polling and close the fetcher."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.fetcher.aclose()

    async def _run(self) -> None:
        while True:
            try:
                report = await poll_once(self.settings, self.fetcher, self.store, self.guesser,
                                         self.clock)  # fmt: skip
                if report.new:
                    logger.info("mentions: %d new", len(report.new))
            except Exception:
                logger.exception("mentions: polling failed")
            await asyncio.sleep(self.settings.interval.total_seconds())
