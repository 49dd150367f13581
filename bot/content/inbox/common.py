"""What the inbox's modules share: the error for an unknown item and the clock."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.content.repository import ContentError


class UnknownInboxItem(ContentError):
    """No inbox item with this id (or it went with its deleted conversation)."""


def current_time(now: datetime | None) -> datetime:
    """``now``, or when it is None the current time (aware UTC)."""
    return now or datetime.now(timezone.utc)
