"""Users of the consoles: demo users at start-up, and ``python -m bot users create``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from bot.chat import repository as repo
from bot.chat.models import Agent
from bot.web import sessions
from bot.web.security import generate_password, hash_password

# One demo user per role (shared/contracts.md §4). Display names are first names/aliases:
# customers see only these, never an agent's full name.
DEMO_USERS = (("agent", "Anna", "agent"), ("editor", "Erik", "editor"), ("admin", "Alex", "admin"))


@dataclass(frozen=True)
class Credentials:
    """A user name with the password generated for it (shown once)."""

    username: str
    password: str
    role: str


def set_user(
    *, session: Session, username: str, role: str, display_name: str, password: str
) -> Agent:
    """Create the user or reset its password, role and display name (ending their sessions)."""
    existing = repo.agent_by_username(session=session, username=username)
    if existing is None:
        return repo.create_agent(
            session=session,
            username=username,
            password_hash=hash_password(password),
            display_name=display_name,
            role=role,
        )
    existing.password_hash = hash_password(password)
    existing.role = role
    existing.display_name = display_name
    existing.active = True
    sessions.end_all(session=session, agent_id=existing.id)
    return existing


def create_demo_users(session: Session) -> list[Credentials]:
    """(Re)create the demo users with new random passwords."""
    created = []
    for username, display_name, role in DEMO_USERS:
        password = generate_password()
        set_user(
            session=session,
            username=username,
            role=role,
            display_name=display_name,
            password=password,
        )
        created.append(Credentials(username, password, role))
    return created
