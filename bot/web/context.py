"""What every route of the web app needs, built once by the app factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import redis
from sqlalchemy.orm import Session, sessionmaker

from bot.chat.models import Message
from bot.content.markdown import render_markdown
from bot.handoff.hours import OpeningHours
from bot.knowledge.store import KnowledgeStore
from bot.privacy import public_contacts
from bot.settings import Settings
from bot.social.settings import MetaSettings
from bot.web.events import EventHub
from bot.web.rasa_relay import RasaRelay
from bot.web.ratelimit import RateLimiter
from bot.web.security import Signer


def utcnow() -> datetime:
    """The current time (UTC, aware)."""
    return datetime.now(timezone.utc)


@dataclass
class WebContext:
    """Settings, database, Rasa relay, live events, limits and the utility profile."""

    settings: Settings
    sessions: sessionmaker
    relay: RasaRelay
    hub: EventHub
    signer: Signer
    hours: OpeningHours
    utility: dict[str, Any]
    message_limiter: RateLimiter
    conversation_limiter: RateLimiter
    login_limiter: RateLimiter  # failed logins per client address
    login_name_limiter: RateLimiter  # failed logins per user name
    callback_limiter: RateLimiter  # callback requests per client address
    feedback_limiter: RateLimiter  # ratings per client address
    # The content the assistant answers from (the editors' database): FAQ page, editor UI.
    knowledge: KnowledgeStore
    clock: Callable[[], datetime] = utcnow
    # Redis of the production profile (live events between instances, shared rate limits).
    redis: redis.Redis[Any] | None = None
    # WhatsApp and Messenger (issue 18): the META_* settings (None: the channels are off) and
    # the running bot.social.service.SocialService (set by bot.web.social_api.install).
    meta: MetaSettings | None = None
    social: Any = None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A database session committed on success, rolled back on error."""
        session: Session = self.sessions()
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
        finally:
            session.close()

    @property
    def public_numbers(self) -> frozenset[str]:
        """The utility's own phone number and e-mail: not personal data, never masked."""
        return public_contacts(self.utility)


def message_out(message: Message, agent_names: dict[int, str] | None = None) -> dict[str, Any]:
    """The JSON of a stored message (docs/design/web-app.md, "JSON shapes")."""
    meta = message.meta or {}
    agent_id = meta.get("agent_id")
    return {
        "seq": message.seq,
        "sender": message.sender,
        "text": message.text,
        # Bot, agent and system messages are Markdown: rendered once here, inserted as it is by
        # the widget and the consoles. Customers' text is never HTML (they show it as text).
        "html": None if message.sender == "customer" else render_markdown(message.text),
        "buttons": message.buttons or [],
        "faq_id": message.faq_id,
        "content_version": message.content_version,
        "agent_name": meta.get("agent_name")
        or (agent_names or {}).get(agent_id if isinstance(agent_id, int) else -1),
        # The agent's public avatar (one of static/avatars/, issue 18), else None.
        "agent_avatar": meta.get("avatar"),
        "handoff": meta.get("handoff"),
        "created_at": message.created_at.isoformat().replace("+00:00", "Z"),
    }
