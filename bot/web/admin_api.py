"""The admins' JSON API ``/api/admin/...`` (role ``admin``): users, settings, audit, operations.

Access, CSRF, size limit and German errors as in ``bot.web.guard`` (the route class
``AdminRoute``; editors and agents get ``403``). The routes are plain ``def`` (FastAPI runs them
in its thread pool): what they do to users is ``bot.web.users`` (generated passwords returned
once, sessions ended, the audit log, no admin removing themself or the last admin), the
operations figures are ``bot.chat.kpis``.

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
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictBool, StrictStr, field_validator
from sqlalchemy.exc import IntegrityError

from bot.chat import kpis
from bot.chat.models import ROLES, Agent
from bot.content import repository as content
from bot.web import deps, guard, social_api, texts, users
from bot.web.editor.schemas import MAX_ID
from bot.web.editor.shapes import TRAINING_STATE_LABELS, audit_out, iso
from bot.web.guard import problem

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


def _taken(username: str) -> JSONResponse:
    return JSONResponse(
        {
            "detail": texts.USERNAME_TAKEN.format(username=username),
            "problems": [problem("username", texts.USERNAME_TAKEN.format(username=username))],
        },
        status_code=409,
    )


# --- routes ---------------------------------------------------------------------------------------

router = APIRouter(prefix="/api/admin", tags=["admin"], route_class=guard.AdminRoute)
UserId = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/users")
def list_users(ctx: deps.Context, me: deps.User) -> dict[str, Any]:
    """Every user, the role labels and the caller's id."""
    with ctx.session() as session:
        return {
            "users": [user_out(u) for u in users.all_users(session)],
            "roles": ROLE_LABELS,
            "me": me.id,
        }


@router.post("/users", status_code=201)
def create_user(body: UserIn, ctx: deps.Context, actor: deps.Editor) -> Any:
    """Create a user: ``{user, password}`` (the password is shown this once)."""
    try:
        with ctx.session() as session:
            user, password = users.create_user(
                session,
                username=body.username,
                display_name=body.display_name,
                role=body.role,
                actor=actor,
                now=ctx.clock(),
            )
            out = user_out(user)
    except (users.UsernameTaken, IntegrityError):  # IntegrityError: created at the same moment
        return _taken(body.username)
    return {"user": out, "password": password}


@router.patch("/users/{user_id}")
def change_user(body: UserChange, user_id: UserId, ctx: deps.Context, actor: deps.Editor) -> Any:
    """Change a user's role, display name or active flag."""
    with ctx.session() as session:
        user, changed, retired = users.change_user(
            session,
            user_id,
            role=body.role,
            display_name=body.display_name,
            active=body.active,
            actor=actor,
            now=ctx.clock(),
        )
        out = {"user": user_out(user), "changed": changed}
    social_api.delete_persona(ctx, retired)  # after the commit, best effort
    return out


@router.post("/users/{user_id}/password")
def reset_password(user_id: UserId, ctx: deps.Context, actor: deps.Editor) -> dict[str, Any]:
    """A new generated password: ``{user, password}``."""
    with ctx.session() as session:
        user, password = users.reset_password(session, user_id, actor=actor, now=ctx.clock())
        return {"user": user_out(user), "password": password}


@router.delete("/users/{user_id}", status_code=204)
def delete_user(user_id: UserId, ctx: deps.Context, actor: deps.Editor) -> Response:
    """Delete a user (``204``)."""
    with ctx.session() as session:
        retired = users.delete_user(session, user_id, actor=actor, now=ctx.clock())
    social_api.delete_persona(ctx, retired)  # after the commit, best effort
    return Response(status_code=204)


@router.get("/settings")
def settings(ctx: deps.Context) -> dict[str, Any]:
    """The settings: ``{four_eyes}``."""
    with ctx.session() as session:
        return {"four_eyes": content.four_eyes(session)}


@router.put("/settings/four-eyes")
def four_eyes(body: FourEyesIn, ctx: deps.Context, actor: deps.Editor) -> dict[str, Any]:
    """Switch the four-eyes rule for publishing on or off."""
    with ctx.session() as session:
        content.set_four_eyes(session, enabled=body.enabled, actor=actor)
    state = "eingeschaltet" if body.enabled else "ausgeschaltet"
    return {
        "four_eyes": body.enabled,
        "message": f"Das Vier-Augen-Prinzip ist {state}.",
    }


@router.get("/audit")
def audit(
    ctx: deps.Context,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
    target: str | None = Query(None, max_length=200),
) -> dict[str, Any]:
    """The audit log, newest first (``target``: of one target)."""
    with ctx.session() as session:
        entries = content.audit_log(session, limit=limit, offset=offset, target=target)
        return {"entries": audit_out(entries)}


@router.get("/kpis")
def operations(ctx: deps.Context, period: Literal["24h", "7d"] = Query("24h")) -> dict[str, Any]:
    """The operations figures over ``period`` and now (``bot.chat.kpis``)."""
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
