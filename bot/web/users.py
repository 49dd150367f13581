"""Users of the consoles: demo users, ``python -m bot users create``, the admins' management.

The admins' management is what ``bot.web.admin_api`` does with users, without HTTP.

Passwords are generated here (``security.generate_password``), returned once and stored only as
an Argon2 hash. Every change an admin makes is written to the audit log in the caller's
transaction, never with a password. A password reset, a role change, deactivation and deletion
end every session of the user at once (``bot.web.sessions``). Deactivation and deletion also
clear the user's Messenger persona and return its id, for the caller to delete on Meta after the
commit (``bot.social.personas.retire_persona``).

An admin cannot delete, deactivate or demote themself, and the last admin cannot be removed, so
the application never ends up without anyone who can manage it (``NotAllowed``). A user who still
holds a conversation with a customer is not deleted (the customer would be left with no one).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from bot.chat import repository as repo
from bot.chat.models import Agent, Conversation
from bot.content.repository import Actor, NotAllowed, audit
from bot.social.personas import retire_persona
from bot.web import sessions, texts
from bot.web.guard import NotFound
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


# --- the admins' user management ----------------------------------------------------------------


class UnknownUser(NotFound):
    """No user with this id (the admins' API answers ``404``)."""


class UsernameTaken(Exception):
    """Another user has this login name already."""


def all_users(session: Session) -> list[Agent]:
    """Every user, by login name."""
    return list(session.execute(select(Agent).order_by(Agent.username)).scalars())


def user(session: Session, user_id: int) -> Agent:
    """The user with this id.

    Raises:
        UnknownUser: there is none.
    """
    found: Agent | None = session.get(Agent, user_id)
    if found is None:
        raise UnknownUser(texts.UNKNOWN_USER)
    return found


def _admins(session: Session) -> int:
    """How many active admins there are."""
    statement = select(func.count()).select_from(Agent).where(
        Agent.role == "admin", Agent.active == true()
    )
    return int(session.execute(statement).scalar_one())


def create_user(
    session: Session, *, username: str, display_name: str, role: str, actor: Actor, now: datetime
) -> tuple[Agent, str]:
    """Create a user with a generated password (returned once, with the user).

    Raises:
        UsernameTaken: the login name is in use (also when another request inserts it at the
            same moment: the commit then fails with an ``IntegrityError``).
    """
    if repo.agent_by_username(session=session, username=username):
        raise UsernameTaken(username)
    password = generate_password()
    created = repo.create_agent(
        session=session,
        username=username,
        password_hash=hash_password(password),
        display_name=display_name,
        role=role,
        now=now,
    )
    audit(
        session,
        actor=actor,
        action="user.create",
        target=f"user:{username}",
        detail={"role": role, "display_name": display_name},
        now=now,
    )
    return created, password


def change_user(
    session: Session,
    user_id: int,
    *,
    role: str | None,
    display_name: str | None,
    active: bool | None,
    actor: Actor,
    now: datetime,
) -> tuple[Agent, list[str], str | None]:
    """Change a user's role, display name or active flag (None: unchanged).

    Returns:
        The user, the names of the fields that changed, and the Messenger persona a
        deactivation retired (to delete on Meta after the commit; None: none).

    Raises:
        UnknownUser: no user with this id.
        NotAllowed: the admin would demote or deactivate themself, or remove the last admin.
    """
    found = user(session, user_id)
    changes: dict[str, Any] = {}
    if role is not None and role != found.role:
        if found.id == actor.id:
            raise NotAllowed(texts.CANNOT_DEMOTE_SELF)
        if found.role == "admin" and found.active and _admins(session) <= 1:
            raise NotAllowed(texts.LAST_ADMIN)
        changes["role"] = {"from": found.role, "to": role}
        found.role = role
    if display_name is not None and display_name != found.display_name:
        changes["display_name"] = {"from": found.display_name, "to": display_name}
        found.display_name = display_name
    if active is not None and active != found.active:
        if found.id == actor.id:
            raise NotAllowed(texts.CANNOT_DEACTIVATE_SELF)
        if not active and found.role == "admin" and _admins(session) <= 1:
            raise NotAllowed(texts.LAST_ADMIN)
        changes["active"] = {"from": found.active, "to": active}
        found.active = active
    # An inactive user sends nothing: no persona (also one kept from before a deactivation).
    retired = None if found.active else retire_persona(found)
    if "role" in changes or not found.active:
        # Whatever the old role or account allowed ends now, in every open console.
        sessions.end_all(session=session, agent_id=found.id)
    if changes:
        audit(
            session,
            actor=actor,
            action="user.update",
            target=f"user:{found.username}",
            detail=changes,
            now=now,
        )
    return found, sorted(changes), retired


def reset_password(
    session: Session, user_id: int, *, actor: Actor, now: datetime
) -> tuple[Agent, str]:
    """Give a user a new generated password (returned once) and end their sessions.

    Raises:
        UnknownUser: no user with this id.
    """
    found = user(session, user_id)
    password = generate_password()
    found.password_hash = hash_password(password)
    sessions.end_all(session=session, agent_id=found.id)
    audit(session, actor=actor, action="user.password", target=f"user:{found.username}", now=now)
    return found, password


def delete_user(session: Session, user_id: int, *, actor: Actor, now: datetime) -> str | None:
    """Delete a user and end their sessions.

    Returns:
        The user's Messenger persona, to delete on Meta after the commit (None: none).

    Raises:
        UnknownUser: no user with this id.
        NotAllowed: the admin themself, the last admin, or a user holding a live chat.
    """
    found = user(session, user_id)
    if found.id == actor.id:
        raise NotAllowed(texts.CANNOT_DELETE_SELF)
    if found.role == "admin" and found.active and _admins(session) <= 1:
        raise NotAllowed(texts.LAST_ADMIN)
    busy = session.execute(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.agent_id == found.id, Conversation.state == "agent")
    ).scalar_one()
    if busy:
        raise NotAllowed(texts.USER_HAS_CHATS.format(name=found.display_name))
    audit(
        session,
        actor=actor,
        action="user.delete",
        target=f"user:{found.username}",
        detail={"role": found.role, "display_name": found.display_name},
        now=now,
    )
    sessions.end_all(session=session, agent_id=found.id)
    retired = retire_persona(found)
    session.delete(found)
    return retired
