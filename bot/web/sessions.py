"""Console logins, stored server-side so that they can be ended (``agent_sessions``).

A login creates a random token (256 bits) for the session cookie and stores only its SHA-256
with the user and the expiry; every request looks the token up (one indexed ``SELECT`` with the
user). Because the rows live in the database, every web app instance sees a logout at once.

* Logout deletes the row of that session (:func:`end`).
* A password reset, a role change, deactivation and deletion delete every row of the user
  (:func:`end_all`); ``agent_sessions.agent_id`` also cascades on delete.
* A session ends :data:`SESSION_TTL_S` after the login at the latest; expired rows are removed
  at the next login of anyone (:func:`start`).
* User ids are never reused (``agents`` has ``AUTOINCREMENT``), and a token is random, not
  derived from the id, so a deleted user's cookie can never become another user's.

The functions flush but never commit, like ``bot.chat.repository``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, select, true
from sqlalchemy.orm import Session

from bot.chat.models import Agent, AgentSession
from bot.web.context import WebContext

SESSION_COOKIE: Final = "agent_session"
SESSION_TTL_S: Final = 12 * 3600  # one working day plus overtime; agents log in again next day
TOKEN_BYTES: Final = 32
# A cookie longer than this is no token of ours: not worth hashing.
MAX_TOKEN_CHARS: Final = 100


def token_key(token: str) -> str:
    """What the database stores for a token: its hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def start(*, session: Session, agent_id: int, now: datetime) -> str:
    """Create a session for ``agent_id``; returns the token for the cookie.

    Expired sessions of every user are deleted on the way (logins are rare, the delete cheap).
    """
    session.execute(delete(AgentSession).where(AgentSession.expires_at < now))
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(
        AgentSession(
            id=token_key(token),
            agent_id=agent_id,
            created_at=now,
            expires_at=now + timedelta(seconds=SESSION_TTL_S),
        )
    )
    session.flush()
    return token


def lookup(*, session: Session, token: str | None, now: datetime) -> Agent | None:
    """The active user of an unexpired session token, else ``None``."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    statement = (
        select(Agent)
        .join(AgentSession, AgentSession.agent_id == Agent.id)
        .where(
            AgentSession.id == token_key(token),
            AgentSession.expires_at > now,
            Agent.active == true(),
        )
    )
    agent: Agent | None = session.execute(statement).scalars().first()
    return agent


def end(*, session: Session, token: str | None) -> None:
    """End one session (logout); an unknown token changes nothing."""
    if token and len(token) <= MAX_TOKEN_CHARS:
        session.execute(delete(AgentSession).where(AgentSession.id == token_key(token)))
        session.flush()


def end_all(*, session: Session, agent_id: int) -> int:
    """End every session of a user; returns how many there were."""
    result = session.execute(delete(AgentSession).where(AgentSession.agent_id == agent_id))
    session.flush()
    return int(result.rowcount or 0)


def current_user(ctx: WebContext, token: str | None) -> Agent | None:
    """The logged-in user of a session cookie while the session is valid (detached), else None."""
    if not token:
        return None
    with ctx.session() as session:
        agent = lookup(session=session, token=token, now=ctx.clock())
        if agent is not None:
            session.expunge(agent)
        return agent
