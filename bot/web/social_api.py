"""Meta's webhook (``shared/contracts.md`` section 5) and the console's social-channel routes.

Module-level routers; the app factory calls :func:`install` (service on ``app.state.social``,
started and stopped with the app; it includes :data:`router`, :data:`agent_router` and
:data:`admin_router`).

* ``GET /webhooks/meta``: the verification challenge (``200`` text/plain, else ``403``).
* ``POST /webhooks/meta``: the raw body's ``X-Hub-Signature-256`` checked first (``403``, nothing
  stored), then parsed (``400`` for a body that is not a JSON object) and queued; ``200`` at
  once, the work goes on afterwards (``bot.social.service``). Both answer ``404`` while
  ``META_APP_SECRET`` is unset.

Request bodies are read and parsed here, without pydantic models (the signature needs the raw
bytes anyway), so the routes work under pydantic 1 and 2 alike.

Nothing blocks the event loop: the console's routes that use the database are plain ``def``
(FastAPI's thread pool; their body is read before, :data:`RawBody`); the webhook (it queues on
the loop) and the routes that await Meta stay ``async`` and look the conversation up in a
worker thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, Final

import anyio.from_thread
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from bot.chat import repository as repo
from bot.chat.models import Agent
from bot.social import store
from bot.social import texts as social_texts
from bot.social.events import Channel, PayloadError, parse_webhook
from bot.social.mention_store import (
    MentionPoller,
    SqlMentionStore,
    mention_json,
    polling_enabled,
)
from bot.social.mentions import MentionSettings, TopicGuesser
from bot.social.personas import set_public_profile
from bot.social.service import DeliveryFailed, SocialService, WindowClosedError, public_name
from bot.social.signature import SIGNATURE_HEADER, signature_valid, verification_challenge
from bot.web import deps, texts
from bot.web.context import WebContext
from bot.web.deps import in_thread
from bot.web.events import AGENTS, agent_channel
from bot.web.guard import AGENT_ROLES
from bot.web.sessions import SESSION_COOKIE, current_user
from bot.web.validation import json_problem

logger = logging.getLogger(__name__)

# Longest block an agent can set (hours): 90 days, the retention period of the messages.
MAX_BLOCK_HOURS: Final = 90 * 24


class Refused(Exception):
    """A request this module answers with ``status`` and a German ``detail``."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def install(app: FastAPI, ctx: WebContext) -> SocialService | None:
    """Build the service when the Meta settings are set; include the routers either way."""
    social = SocialService(ctx, ctx.meta) if ctx.meta is not None else None
    app.state.social = social
    ctx.social = social
    app.state.mentions = SqlMentionStore(ctx.sessions, ctx.clock)
    app.state.mention_poller = None
    if polling_enabled():
        settings = MentionSettings.from_utility(ctx.utility)
        kb = ctx.knowledge.knowledge()
        guesser = TopicGuesser((t.id, t.title) for t in kb.topics.values())
        app.state.mention_poller = MentionPoller(settings, app.state.mentions, guesser,
                                                 ctx.clock)  # fmt: skip
    app.add_exception_handler(Refused, refused_handler)
    app.include_router(router)
    app.include_router(agent_router)
    app.include_router(admin_router)
    return social


async def startup(app: FastAPI) -> None:
    """In the app's lifespan: start the webhook workers and the mention poller."""
    if app.state.social is not None:
        await app.state.social.start()
    if app.state.mention_poller is not None:
        app.state.mention_poller.start()


async def shutdown(app: FastAPI) -> None:
    """Stop what :func:`startup` started."""
    if app.state.mention_poller is not None:
        await app.state.mention_poller.stop()
    if app.state.social is not None:
        await app.state.social.stop()


__all__ = ["admin_router", "agent_reply", "agent_router", "delete_persona", "forward", "install",
           "public_name", "router"]


def forward(ctx: WebContext, conversation_id: str, message_id: int) -> None:
    """Send a stored system message (agent joined, chat ended …) to a social customer too.

    Runs after the answer (a task on the event loop): Meta's delay never slows the console.
    Callable on the event loop and in FastAPI's worker threads (a plain ``def`` route,
    ``bot.web.deps.in_thread``).
    """
    social: SocialService | None = ctx.social
    if social is None:
        return
    _on_loop(social.forward_later, conversation_id, message_id)


def delete_persona(ctx: WebContext, persona_id: str | None) -> None:
    """Delete a deleted or deactivated agent's Messenger persona on Meta, after the answer.

    Best effort (``bot.social.personas``); nothing to do without a persona or Messenger.
    Callable on the event loop and in FastAPI's worker threads, like :func:`forward`.
    """
    social: SocialService | None = ctx.social
    if social is None or persona_id is None:
        return
    _on_loop(social.persona_retired_later, persona_id)


def _on_loop(schedule: Callable[..., None], *args: Any) -> None:
    """Call ``schedule`` (it starts a task) on the event loop, from the loop or a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # a worker thread: the task belongs to the event loop
        anyio.from_thread.run_sync(schedule, *args)
        return
    schedule(*args)


def social_service(request: Request) -> SocialService:
    """The app's service; ``404`` while the channels are off."""
    social: SocialService | None = getattr(request.app.state, "social", None)
    if social is None:
        raise Refused(404, "Not Found")
    return social


Social = Annotated[SocialService, Depends(social_service)]


async def raw_body(request: Request) -> bytes:
    """The request's body (capped at 1 MB before, ``bot.web.request_limits``); parsed later."""
    return await request.body()


# The body read on the event loop, so that plain ``def`` routes can parse it in their thread
# when their other checks passed (the order of the answers stays: 404/409 before 400/422).
RawBody = Annotated[bytes, Depends(raw_body)]


router = APIRouter(tags=["social"])


@router.get("/webhooks/meta")
async def verify(request: Request) -> Response:
    """The verification challenge when the webhook is registered."""
    social = getattr(request.app.state, "social", None)
    if social is None:
        return PlainTextResponse("Not Found", status_code=404)
    challenge = verification_challenge(request.query_params, social.meta.verify_token)
    if challenge is None:
        return PlainTextResponse("Forbidden", status_code=403)
    return PlainTextResponse(challenge)


@router.post("/webhooks/meta")
async def webhook(request: Request) -> Response:
    """Meta's events: signature checked, then queued for the workers (on the event loop)."""
    social: SocialService | None = getattr(request.app.state, "social", None)
    if social is None:
        return PlainTextResponse("Not Found", status_code=404)
    raw = await request.body()  # capped at 1 MB before (bot.web.request_limits)
    if not signature_valid(social.meta.app_secret, raw, request.headers.get(SIGNATURE_HEADER)):
        logger.warning("webhook: refused a request with a missing or wrong signature")
        return PlainTextResponse("invalid signature", status_code=403)
    try:
        batch = parse_webhook(raw)
    except PayloadError as error:
        return PlainTextResponse(f"bad payload: {error}", status_code=400)
    if not social.submit(batch):
        # Overloaded: Meta delivers again later.
        return PlainTextResponse("busy", status_code=503, headers={"Retry-After": "60"})
    return PlainTextResponse("EVENT_RECEIVED")


# --- the console ----------------------------------------------------------------------------------


def console_agent(request: Request, ctx: deps.Context) -> Agent:
    """The logged-in agent; for writes also the CSRF token (``401``/``403`` otherwise)."""
    token = request.cookies.get(SESSION_COOKIE)
    agent = current_user(ctx, token)
    if agent is None:
        raise Refused(401, "Bitte melden Sie sich an.")
    if agent.role not in AGENT_ROLES:
        raise Refused(403, texts.NOT_ALLOWED)
    if request.method not in ("GET", "HEAD") and not ctx.signer.check_csrf(
        token, request.headers.get("X-CSRF-Token")
    ):
        raise Refused(403, texts.CSRF_FAILED)
    return agent


# The route's parameter: FastAPI runs the dependency once per request (cached with the router's).
ConsoleAgent = Annotated[Agent, Depends(console_agent)]
agent_router = APIRouter(prefix="/api/v1/agent", tags=["agent", "social"],
                         dependencies=[Depends(console_agent)])  # fmt: skip


def _json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object (``{}`` when empty); ``400``/``422`` otherwise."""
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise Refused(400, texts.INVALID_INPUT) from None
    if not isinstance(body, dict):
        raise Refused(400, texts.INVALID_INPUT)
    problem = json_problem(body)  # NUL, lone surrogates, deep nesting: no store takes them
    if problem is not None:
        raise Refused(422, problem[1])
    return body


def _social_conversation(ctx: WebContext, conversation_id: str) -> tuple[str, str, str, int | None]:
    """(channel, contact id, state, agent id) of a social conversation; 404/409 otherwise."""
    try:
        with ctx.session() as session:
            conversation = repo.get_conversation(session=session, conversation_id=conversation_id)
            found = (conversation.channel, conversation.contact_id, conversation.state,
                     conversation.agent_id)  # fmt: skip
    except repo.UnknownConversation:
        raise Refused(404, texts.UNKNOWN_CONVERSATION) from None
    channel, contact_id, state, holder = found
    if channel == Channel.WEB.value or contact_id is None:
        raise Refused(409, social_texts.NOT_SOCIAL)
    return channel, contact_id, state, holder


@agent_router.get("/conversations/{conversation_id}/window")
def get_window(conversation_id: str, ctx: deps.Context, social: Social) -> Any:
    """The messaging window for an agent's reply and what is possible once it closed."""
    _social_conversation(ctx, conversation_id)
    now = ctx.clock()
    current = social.agent_window(conversation_id)
    return {
        "channel": current.channel.value,
        "open": current.open,
        "closes_at": current.closes_at.isoformat() if current.closes_at else None,
        "tag": current.tag,
        "alternatives": [a.value for a in current.alternatives],
        "description": current.describe(now),
        "templates": list(social.meta.whatsapp_templates)
        if current.channel is Channel.WHATSAPP else [],
    }


def _channel_and_holder(ctx: WebContext, conversation_id: str) -> tuple[str, str, int | None]:
    """(channel, state, agent id) of a conversation (``UnknownConversation`` if none)."""
    with ctx.session() as session:
        conversation = repo.get_conversation(session=session, conversation_id=conversation_id)
        return conversation.channel, conversation.state, conversation.agent_id


async def agent_reply(ctx: WebContext, conversation_id: str, agent: Agent, text: str) -> Any:
    """An agent's message to a WhatsApp or Messenger customer (called by the agent API).

    Returns:
        None for a web conversation (the agent API stores it as before); else the answer:
        ``{"message": …}``, ``409`` (not the agent's, or the window closed: ``alternatives``),
        ``502`` (stored, but Meta did not take it).
    """
    try:
        channel, state, holder = await in_thread(_channel_and_holder, ctx, conversation_id)
    except repo.UnknownConversation:
        return None  # the agent API answers 404
    if channel == Channel.WEB.value:
        return None
    if state != "agent" or holder != agent.id:
        return JSONResponse({"detail": texts.NOT_ALLOWED}, status_code=409)
    social = ctx.social
    if social is None:
        return JSONResponse({"detail": social_texts.NOT_SOCIAL}, status_code=409)
    try:
        out = await social.agent_reply(conversation_id, agent, text)
    except WindowClosedError as error:
        return JSONResponse({
            "detail": error.text,
            "alternatives": [a.value for a in error.window.alternatives],
        }, status_code=409)
    except DeliveryFailed as error:
        _publish_to_agent(ctx, conversation_id, agent, error.message)
        return JSONResponse({"detail": error.text, "message": error.message}, status_code=502)
    _publish_to_agent(ctx, conversation_id, agent, out)
    return {"message": out}


def _publish_to_agent(ctx: WebContext, conversation_id: str, agent: Agent,
                      message: dict[str, Any]) -> None:  # fmt: skip
    ctx.hub.publish(agent_channel(agent.id),
                    {"type": "message", "conversation_id": conversation_id, "message": message})


@agent_router.post("/conversations/{conversation_id}/template")
async def send_template(
    conversation_id: str, raw: RawBody, ctx: deps.Context, social: Social, agent: ConsoleAgent
) -> Any:
    """Send an approved WhatsApp template (``{"name": …}``): allowed after the window closed."""
    channel, _, state, holder = await in_thread(_social_conversation, ctx, conversation_id)
    if state != "agent" or holder != agent.id:
        raise Refused(409, texts.NOT_IN_YOUR_HANDS)
    body = _json_object(raw)
    templates = social.meta.whatsapp_templates
    name = body.get("name")
    if channel != Channel.WHATSAPP.value or not isinstance(name, str) or name not in templates:
        raise Refused(422, social_texts.NO_TEMPLATE)
    try:
        out = await social.send_template(conversation_id, agent, name, "de")
    except DeliveryFailed as error:
        return JSONResponse({"detail": error.text, "message": error.message}, status_code=502)
    _publish_to_agent(ctx, conversation_id, agent, out)
    return {"message": out}


@agent_router.post("/conversations/{conversation_id}/callback")
def create_callback(
    conversation_id: str, raw: RawBody, ctx: deps.Context, agent: ConsoleAgent
) -> Any:
    """A callback ticket for a social customer (the window closed): the agents call back."""
    channel, contact_id, _, _ = _social_conversation(ctx, conversation_id)
    body = _json_object(raw)
    concern = body.get("concern")
    if not isinstance(concern, str) or not concern.strip() or len(concern) > 1000:
        raise Refused(422, texts.INVALID_INPUT)
    with ctx.session() as session:
        conversation = repo.get_conversation(session=session, conversation_id=conversation_id)
        name = conversation.contact_name or social_texts.CHANNEL_NAMES[channel]
        whatsapp = channel == Channel.WHATSAPP.value
        contact = f"+{contact_id}" if whatsapp else f"Messenger {contact_id}"
        if repo.open_ticket(session=session, conversation_id=conversation_id):
            raise Refused(409, texts.TICKET_ALREADY_OPEN)
        ticket = repo.add_ticket(session=session, conversation_id=conversation_id, name=name,
                                 contact=contact, concern=concern.strip(), now=ctx.clock())
        ticket_id = ticket.id
    logger.info("agent %s created a callback ticket %s", agent.id, ticket_id)
    return {"ticket_id": ticket_id}


@agent_router.post("/conversations/{conversation_id}/block")
def block_contact(
    conversation_id: str, raw: RawBody, ctx: deps.Context, agent: ConsoleAgent
) -> Any:
    """End the chat and block the contact for ``hours`` (default ``ABUSE_BLOCK_HOURS``).

    The messages stay (under retention); the contact gets no answer and no queue entry until
    the block ends.
    """
    from bot.web.agent_api import queue_json  # the agent API imports this module

    channel, contact_id, state, holder = _social_conversation(ctx, conversation_id)
    if state == "agent" and holder != agent.id:
        raise Refused(409, texts.ALREADY_CLAIMED)
    body = _json_object(raw)
    hours = body.get("hours", ctx.meta.block_hours if ctx.meta else 168)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not (
        0 < hours <= MAX_BLOCK_HOURS
    ):
        raise Refused(422, f"Bitte eine Sperrdauer zwischen 1 und {MAX_BLOCK_HOURS} Stunden.")
    now = ctx.clock()
    with ctx.session() as session:
        row = store.block(session=session, channel=channel, contact_id=contact_id,
                          hours=float(hours), agent_id=agent.id, now=now)  # fmt: skip
        until = row.blocked_until
        if state != "closed":
            repo.close(session=session, conversation_id=conversation_id, now=now)
    ctx.hub.publish(conversation_id, {"type": "state", "state": "closed", "queue_position": None})
    ctx.hub.publish(AGENTS, {"type": "queue", "queue": queue_json(ctx)})
    local = until.astimezone(ctx.hours.zone)
    return {
        "state": "closed",
        "blocked_until": until.isoformat(),
        "detail": social_texts.CONTACT_BLOCKED.format(until=f"{local:%d.%m.%Y %H:%M} Uhr"),
    }


AVATARS: Final = ("blatt", "sonne", "welle", "stern", "tropfen", "berg")  # static/avatars/
_ALIAS = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ .'-]){0,38}[^\W\d_]$")


@agent_router.get("/profile")
async def get_profile(agent: ConsoleAgent) -> Any:
    """What customers see of the logged-in agent: alias and avatar (and the avatars to choose)."""
    return {"alias": agent.alias, "avatar": agent.avatar, "public_name": public_name(agent),
            "avatars": list(AVATARS)}  # fmt: skip


@agent_router.put("/profile")
def set_profile(raw: RawBody, ctx: deps.Context, agent: ConsoleAgent) -> Any:
    """Set the public alias (2-40 letters, never the login name) and the avatar.

    With Messenger on, the agent's persona is (re)made from the alias after the answer; a
    failure there leaves the alias set (``bot.social.personas``).
    """
    body = _json_object(raw)
    alias, avatar = body.get("alias"), body.get("avatar")
    if not isinstance(alias, str) or not _ALIAS.match(alias.strip()):
        raise Refused(422, "Bitte einen Anzeigenamen aus 2 bis 40 Buchstaben wählen.")
    alias = " ".join(alias.split())
    if alias.casefold() == agent.username.casefold():
        raise Refused(422, "Der Anzeigename darf nicht Ihr Benutzername sein.")
    if avatar is not None and avatar not in AVATARS:
        raise Refused(422, "Bitte ein Bild aus der Auswahl wählen.")
    with ctx.session() as session:
        row = repo.get_agent(session=session, agent_id=agent.id)
        stale = set_public_profile(row, alias, avatar)
    social: SocialService | None = ctx.social
    if social is not None:
        _on_loop(social.persona_later, agent.id, stale)
    return {"alias": alias, "avatar": avatar, "public_name": alias, "avatars": list(AVATARS)}


def mention_store(request: Request) -> SqlMentionStore:
    """The app's "Erwähnungen" (public posts naming the utility)."""
    mentions: SqlMentionStore = request.app.state.mentions
    return mentions


Mentions = Annotated[SqlMentionStore, Depends(mention_store)]


@agent_router.get("/mentions")
def open_mentions(mentions: Mentions) -> Any:
    """The open "Erwähnungen", newest first."""
    return {"mentions": [mention_json(m) for m in mentions.open_mentions()]}


@agent_router.post("/mentions/{key}/done")
def mention_done(key: str, raw: RawBody, mentions: Mentions, agent: ConsoleAgent) -> Any:
    """Mark a mention as handled (``{"done": false}`` reopens it)."""
    body = _json_object(raw)
    done = body.get("done", True)
    if not isinstance(done, bool):
        raise Refused(422, texts.INVALID_INPUT)
    if not mentions.mark_done(key, done, agent.id):
        raise Refused(404, social_texts.UNKNOWN_MENTION)
    return {"key": key, "done": done}


# --- the admin dashboard ---------------------------------------------------------------------


def console_admin(request: Request, ctx: deps.Context) -> Agent:
    """The logged-in admin (``401``/``403`` otherwise)."""
    admin = current_user(ctx, request.cookies.get(SESSION_COOKIE))
    if admin is None:
        raise Refused(401, texts.LOGIN_REQUIRED)
    if admin.role != "admin":
        raise Refused(403, texts.ADMIN_ONLY)
    return admin


admin_router = APIRouter(prefix="/api/admin", tags=["admin", "social"],
                         dependencies=[Depends(console_admin)])  # fmt: skip


@admin_router.get("/abuse")
def abuse_per_week(request: Request, ctx: deps.Context) -> Any:
    """Conversations with abusive messages per ISO week, the last ``weeks`` (1-52, default 12)."""
    raw = request.query_params.get("weeks", "12")
    if not raw.isdigit() or not 1 <= int(raw) <= 52:
        raise Refused(422, "Bitte 1 bis 52 Wochen angeben.")
    with ctx.session() as session:
        weeks = store.abusive_conversations_per_week(session=session, now=ctx.clock(),
                                                     weeks=int(raw))  # fmt: skip
    return {"weeks": [{"week": week, "conversations": count} for week, count in weeks]}


@admin_router.get("/channels")
def per_channel(ctx: deps.Context) -> Any:
    """Web, WhatsApp and Messenger side by side, the last 7 days: conversations, handoffs, abuse."""
    since = ctx.clock() - timedelta(days=7)
    with ctx.session() as session:
        figures = store.channel_figures(session=session, since=since)
    return {"since": since.isoformat(), "channels": [
        {"channel": channel, "label": social_texts.CHANNEL_NAMES.get(channel, channel), **values}
        for channel, values in figures.items()
    ]}


def refused_handler(request: Request, exc: Exception) -> Response:
    """The JSON answer of :class:`Refused`."""
    assert isinstance(exc, Refused)
    if request.url.path.startswith("/webhooks/"):
        return PlainTextResponse(exc.detail, status_code=exc.status)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status)
