"""The admins' JSON API ``/api/admin/...`` (role ``admin``): users, settings, audit, operations.

Access, CSRF, size limit and German errors as in ``bot.web.guard`` (editors and agents get
``403``). Passwords are generated on the server (``security.generate_password``), returned once
in the answer that creates or resets them and stored only as an Argon2 hash. Every change is
written to the audit log (``repository.audit``) in the same transaction, never with a password.

A password reset, a role change, deactivation and deletion end every session of the user at once
(``bot.web.sessions``): an open console of theirs gets ``401`` with its next request.

An admin cannot delete, deactivate or demote themself, and the last admin cannot be removed, so the
application never ends up without anyone who can manage it. A user who still holds a
conversation with a customer is not deleted (the customer would be left with no one).

Routes::

    GET    /api/admin/users                   every user, role labels, the caller's id (me)
    POST   /api/admin/users                   create (201): {user, password}
    PATCH  /api/admin/users/{user_id}         change role, display name, active (deactivate)
    POST   /api/admin/users/{user_id}/password    new generated password: {user, password}
    DELETE /api/admin/users/{user_id}         delete (204)
    GET    /api/admin/settings                {four_eyes}
    PUT    /api/admin/settings/four-eyes      {enabled}
    GET    /api/admin/audit?limit=&offset=&target=
    GET    /api/admin/kpis?period=24h|7d      operations figures over time and now (bot.chat.kpis)
"""

from __future__ import annotations

import re
from typing import Any, Final, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictBool, StrictStr, field_validator
from sqlalchemy import func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.chat import kpis
from bot.chat import repository as repo
from bot.chat.models import ROLES, Agent, Conversation
from bot.content import repository as content
from bot.web import sessions, texts
from bot.web.context import WebContext
from bot.web.editor_api import MAX_ID, TRAINING_STATE_LABELS, audit_out, iso
from bot.web.guard import NotFound, actor_of, guarded_route, problem, user_of
from bot.web.security import generate_password, hash_password

ADMIN_ROLES: Final = ("admin",)
ROLE_LABELS: Final = {"agent": "Kundenservice", "editor": "Redaktion", "admin": "Administration"}
MAX_USERNAME: Final = 64
MAX_DISPLAY_NAME: Final = 100
_USERNAME: Final = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def _role(value: str) -> str:
    if value not in ROLES:
        raise ValueError("Bitte eine Rolle wählen: Kundenservice, Redaktion oder Administration.")
    return value


def _display_name(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("Bitte einen Anzeigenamen angeben (den sehen Kunden im Chat).")
    return value


class UserIn(BaseModel):
    """A new user: login name, the name customers see, and the role."""

    username: StrictStr = Field(..., min_length=1, max_length=MAX_USERNAME)
    display_name: StrictStr = Field(..., min_length=1, max_length=MAX_DISPLAY_NAME)
    role: StrictStr = Field(..., max_length=16)

    @field_validator("username")
    @classmethod
    def _username(cls, value: str) -> str:
        value = value.strip()
        if not _USERNAME.match(value):
            raise ValueError(
                "2 bis 64 Zeichen: Kleinbuchstaben ohne Umlaute, Ziffern, Punkt, - und _, "
                "am Anfang ein Buchstabe oder eine Ziffer."
            )
        return value

    @field_validator("role")
    @classmethod
    def _valid_role(cls, value: str) -> str:
        return _role(value)

    @field_validator("display_name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        return _display_name(value)


class UserChange(BaseModel):
    """What an admin may change of a user (any of them)."""

    role: StrictStr | None = Field(None, max_length=16)
    display_name: StrictStr | None = Field(None, min_length=1, max_length=MAX_DISPLAY_NAME)
    active: StrictBool | None = None

    @field_validator("role")
    @classmethod
    def _valid_role(cls, value: str | None) -> str | None:
        return None if value is None else _role(value)

    @field_validator("display_name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        return None if value is None else _display_name(value)


class FourEyesIn(BaseModel):
    """The four-eyes switch."""

    enabled: StrictBool


def user_out(user: Agent) -> dict[str, Any]:
    """A user as JSON (never the password hash)."""
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "role_label": ROLE_LABELS.get(user.role, user.role),
        "active": user.active,
        "created_at": iso(user.created_at),
    }


def _share(value: float | None) -> float | None:
    """A ratio rounded for the dashboard (0..1, four decimals)."""
    return None if value is None else round(value, 4)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def bucket_out(bucket: kpis.Bucket) -> dict[str, Any]:
    """One time bucket of the operations figures as JSON."""
    return {
        "start": iso(bucket.start),
        "end": iso(bucket.end),
        "customer_messages": bucket.customer_messages,
        "bot_messages": bucket.bot_messages,
        "fallbacks": bucket.fallbacks,
        "fallback_rate": _share(bucket.fallback_rate),
        "active_conversations": bucket.active_conversations,
        "handoff_conversations": bucket.handoff_conversations,
        "handoff_rate": _share(bucket.handoff_rate),
        "started_conversations": bucket.started_conversations,
        "solved_without_person": bucket.solved_without_person,
        "solved_share": _share(bucket.solved_share),
        "handoffs": bucket.handoffs,
        "wait_avg_s": _seconds(bucket.wait_avg_s),
        "wait_max_s": _seconds(bucket.wait_max_s),
    }


def current_out(now: kpis.Current) -> dict[str, Any]:
    """The figures of right now as JSON."""
    training = None
    if now.training_state is not None:
        training = {
            "state": now.training_state,
            "state_label": TRAINING_STATE_LABELS.get(now.training_state, now.training_state),
            "finished_at": iso(now.training_finished_at),
        }
    return {
        "queue_length": now.queue_length,
        "longest_wait_s": _seconds(now.longest_wait_s),
        "average_wait_s": _seconds(now.average_wait_s),
        "started_conversations": now.started_conversations,
        "solved_without_person": now.solved_without_person,
        "solved_share": _share(now.solved_share),
        "training": training,
    }


class UnknownUser(NotFound):
    """No user with this id (the guard answers ``404``)."""


def _user(session: Session, user_id: int) -> Agent:
    user: Agent | None = session.get(Agent, user_id)
    if user is None:
        raise UnknownUser(texts.UNKNOWN_USER)
    return user


def _admins(session: Session) -> int:
    """How many active admins there are."""
    statement = select(func.count()).select_from(Agent).where(
        Agent.role == "admin", Agent.active == true()
    )
    return int(session.execute(statement).scalar_one())


def build_router(ctx: WebContext) -> APIRouter:
    """The admins' API bound to ``ctx``."""
    router = APIRouter(
        prefix="/api/admin",
        tags=["admin"],
        route_class=guarded_route(ctx, ADMIN_ROLES, texts.ADMIN_ONLY),
    )
    user_path = Path(..., ge=1, le=MAX_ID)

    @router.get("/users")
    def users(request: Request) -> dict[str, Any]:
        with ctx.session() as session:
            rows = session.execute(select(Agent).order_by(Agent.username)).scalars()
            return {
                "users": [user_out(u) for u in rows],
                "roles": ROLE_LABELS,
                "me": user_of(request).id,
            }

    @router.post("/users", status_code=201)
    def create_user(body: UserIn, request: Request) -> Any:
        password = generate_password()
        try:
            with ctx.session() as session:
                if repo.agent_by_username(session=session, username=body.username):
                    return _taken(body.username)
                user = repo.create_agent(
                    session=session,
                    username=body.username,
                    password_hash=hash_password(password),
                    display_name=body.display_name,
                    role=body.role,
                    now=ctx.clock(),
                )
                content.audit(
                    session,
                    actor=actor_of(request),
                    action="user.create",
                    target=f"user:{body.username}",
                    detail={"role": body.role, "display_name": body.display_name},
                    now=ctx.clock(),
                )
                out = user_out(user)
        except IntegrityError:  # created by someone else in the same moment
            return _taken(body.username)
        return {"user": out, "password": password}

    @router.patch("/users/{user_id}")
    def change_user(body: UserChange, request: Request, user_id: int = user_path) -> Any:
        me = user_of(request)
        with ctx.session() as session:
            user = _user(session, user_id)
            changes: dict[str, Any] = {}
            if body.role is not None and body.role != user.role:
                if user.id == me.id:
                    raise content.NotAllowed(texts.CANNOT_DEMOTE_SELF)
                if user.role == "admin" and user.active and _admins(session) <= 1:
                    raise content.NotAllowed(texts.LAST_ADMIN)
                changes["role"] = {"from": user.role, "to": body.role}
                user.role = body.role
            if body.display_name is not None and body.display_name != user.display_name:
                changes["display_name"] = {"from": user.display_name, "to": body.display_name}
                user.display_name = body.display_name
            if body.active is not None and body.active != user.active:
                if user.id == me.id:
                    raise content.NotAllowed(texts.CANNOT_DEACTIVATE_SELF)
                if not body.active and user.role == "admin" and _admins(session) <= 1:
                    raise content.NotAllowed(texts.LAST_ADMIN)
                changes["active"] = {"from": user.active, "to": body.active}
                user.active = body.active
            if "role" in changes or not user.active:
                # Whatever the old role or account allowed ends now, in every open console.
                sessions.end_all(session=session, agent_id=user.id)
            if changes:
                content.audit(
                    session,
                    actor=actor_of(request),
                    action="user.update",
                    target=f"user:{user.username}",
                    detail=changes,
                    now=ctx.clock(),
                )
            return {"user": user_out(user), "changed": sorted(changes)}

    @router.post("/users/{user_id}/password")
    def reset_password(request: Request, user_id: int = user_path) -> dict[str, Any]:
        password = generate_password()
        with ctx.session() as session:
            user = _user(session, user_id)
            user.password_hash = hash_password(password)
            sessions.end_all(session=session, agent_id=user.id)
            content.audit(
                session,
                actor=actor_of(request),
                action="user.password",
                target=f"user:{user.username}",
                now=ctx.clock(),
            )
            return {"user": user_out(user), "password": password}

    @router.delete("/users/{user_id}", status_code=204)
    def delete_user(request: Request, user_id: int = user_path) -> Response:
        me = user_of(request)
        with ctx.session() as session:
            user = _user(session, user_id)
            if user.id == me.id:
                raise content.NotAllowed(texts.CANNOT_DELETE_SELF)
            if user.role == "admin" and user.active and _admins(session) <= 1:
                raise content.NotAllowed(texts.LAST_ADMIN)
            busy = session.execute(
                select(func.count())
                .select_from(Conversation)
                .where(Conversation.agent_id == user.id, Conversation.state == "agent")
            ).scalar_one()
            if busy:
                raise content.NotAllowed(texts.USER_HAS_CHATS.format(name=user.display_name))
            content.audit(
                session,
                actor=actor_of(request),
                action="user.delete",
                target=f"user:{user.username}",
                detail={"role": user.role, "display_name": user.display_name},
                now=ctx.clock(),
            )
            sessions.end_all(session=session, agent_id=user.id)
            session.delete(user)
        return Response(status_code=204)

    @router.get("/settings")
    def settings() -> dict[str, Any]:
        with ctx.session() as session:
            return {"four_eyes": content.four_eyes(session)}

    @router.put("/settings/four-eyes")
    def four_eyes(body: FourEyesIn, request: Request) -> dict[str, Any]:
        with ctx.session() as session:
            content.set_four_eyes(session, enabled=body.enabled, actor=actor_of(request))
        state = "eingeschaltet" if body.enabled else "ausgeschaltet"
        return {
            "four_eyes": body.enabled,
            "message": f"Das Vier-Augen-Prinzip ist {state}.",
        }

    @router.get("/audit")
    def audit(
        limit: int = Query(50, ge=1, le=200),
        offset: int = Query(0, ge=0, le=1_000_000),
        target: str | None = Query(None, max_length=200),
    ) -> dict[str, Any]:
        with ctx.session() as session:
            entries = content.audit_log(session, limit=limit, offset=offset, target=target)
            return {"entries": audit_out(entries)}

    @router.get("/kpis")
    def operations(period: Literal["24h", "7d"] = Query("24h")) -> dict[str, Any]:
        chosen = kpis.PERIODS[period]
        now = ctx.clock()
        with ctx.session() as session:
            buckets = kpis.series(session, now=now, period=chosen)
            current = kpis.current(session, now=now)
        return {
            "period": period,
            "bucket_hours": int(chosen.bucket.total_seconds() // 3600),
            "generated_at": iso(now),
            "buckets": [bucket_out(b) for b in buckets],
            "current": current_out(current),
        }

    return router


def _taken(username: str) -> JSONResponse:
    return JSONResponse(
        {
            "detail": texts.USERNAME_TAKEN.format(username=username),
            "problems": [problem("username", texts.USERNAME_TAKEN.format(username=username))],
        },
        status_code=409,
    )
