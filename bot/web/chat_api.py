"""The chat API of the widget and integrations (shared/contracts.md §3).

Customer messages are stored (masked) and, while the bot owns the conversation, relayed to
Rasa; the bot's answers are stored with their ``faq_id``/``content_version``. A bot message
with metadata ``handoff: queued`` puts the conversation in the agents' queue; from then on
customer messages go to the agent, not to Rasa.

What the assistant did not understand goes to the editors' inbox (``bot.content.inbox``), in the
transaction of the triggering write and never failing the request: a bot message with metadata
``decision: fallback``, a thumbs down, and a handoff (``queued`` or ``offline``).

Nothing here blocks the event loop: the routes that only use the database are plain ``def``
(FastAPI's thread pool); the message route awaits Rasa and runs its two transactions (the
customer's message; the answers) in worker threads, as does the WebSocket its state lookup.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictBool, StrictStr, field_validator, model_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import retention
from bot.chat import repository as repo
from bot.chat.models import Conversation
from bot.chat.repository import AlreadyRated, UnknownAnswer, UnknownConversation
from bot.content import inbox
from bot.moderation import abuse
from bot.privacy import mask
from bot.retention import RasaTrackers
from bot.social.service import is_upset, mark_abusive
from bot.web import deps, texts
from bot.web.agent_api import queue_json
from bot.web.context import WebContext, message_out
from bot.web.deps import in_thread
from bot.web.events import AGENTS, agent_channel, stream
from bot.web.guard import ValidatedRoute
from bot.web.proxy import client_address
from bot.web.rasa_relay import BotMessage, RasaError

logger = logging.getLogger(__name__)

MAX_TEXT = 1000  # characters of one customer message (contract §3)
# The largest value of an INTEGER column (PostgreSQL: 32 bits); larger ones are refused (422).
MAX_DB_INT = 2**31 - 1
# A whole number an INTEGER column holds, at least 1.
DbInt = Annotated[int, Field(strict=True, ge=1, le=MAX_DB_INT)]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 ()/\-]{5,}$")
# The bot's "talk to a person" button; the web app hands over by itself when Rasa is away.
HANDOFF_PAYLOAD = "/human_handoff"
# Metadata of a bot message kept in its ``meta``: ``decision`` marks a fallback ("fallback").
STORED_META = ("handoff", "calculation", "decision")


class NewConversation(BaseModel):
    """Body of ``POST /conversations`` (optional)."""

    page: StrictStr | None = Field(None, max_length=100, pattern=r"^[a-z0-9_-]*$")


class CustomerMessage(BaseModel):
    """A typed message (``text``) or a button (``payload``, optionally its ``title``)."""

    text: StrictStr | None = None
    payload: StrictStr | None = Field(None, max_length=200)
    title: StrictStr | None = Field(None, max_length=200)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise ValueError("Die Nachricht ist leer.")
        if len(value) > MAX_TEXT:
            raise ValueError(f"Die Nachricht ist länger als {MAX_TEXT} Zeichen.")
        return value.strip()

    @field_validator("payload")
    @classmethod
    def _payload(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("Der Button-Wert ist leer.")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> CustomerMessage:
        if (self.text is None) == (self.payload is None):
            raise ValueError("Genau eines von 'text' oder 'payload' ist nötig.")
        return self


class FeedbackIn(BaseModel):
    """Thumbs up/down for one FAQ answer the assistant gave in this conversation.

    ``seq`` (optional, an extension of the contract) names the rated message; without it the
    newest unrated answer of the topic and version counts.
    """

    faq_id: StrictStr = Field(..., min_length=1, max_length=100)
    content_version: DbInt | None = None
    helpful: StrictBool
    seq: DbInt | None = None


class CallbackIn(BaseModel):
    """A callback or message request outside opening hours."""

    name: StrictStr = Field(..., min_length=1, max_length=100)
    contact: StrictStr = Field(..., min_length=3, max_length=200)
    concern: StrictStr = Field(..., min_length=1, max_length=MAX_TEXT)

    @field_validator("name", "concern")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Bitte ausfüllen.")
        return value.strip()

    @field_validator("contact")
    @classmethod
    def _contact(cls, value: str) -> str:
        value = value.strip()
        if not (_EMAIL.match(value) or _PHONE.match(value)):
            raise ValueError("Bitte geben Sie eine Telefonnummer oder E-Mail-Adresse an.")
        return value


@dataclass
class Turn:
    """A customer message that was accepted: the answer, and what the metrics count of it."""

    body: dict[str, Any]
    arrived_in: str  # the conversation's state when the message came (bot: relayed to Rasa)
    rasa_s: float | None = None  # time the relay took (None: not relayed)
    answers: list[dict[str, Any]] = field(default_factory=list)  # bot messages' metadata


def _not_found() -> JSONResponse:
    return JSONResponse({"detail": texts.UNKNOWN_CONVERSATION}, status_code=404)


# ---- blocking steps (database, rate limits): called in a worker thread, never on the loop ----


def _state(session: Session, conversation_id: str) -> dict[str, Any]:
    conversation = repo.get_conversation(session=session, conversation_id=conversation_id)
    position = (
        repo.queue_position(session=session, conversation_id=conversation_id)
        if conversation.state == "queued"
        else None
    )
    return {"state": conversation.state, "queue_position": position}


def _holder(session: Session, conversation_id: str) -> int | None:
    """The agent holding the conversation read by :func:`_state` (no second query)."""
    conversation = session.get(Conversation, conversation_id)
    return conversation.agent_id if conversation is not None else None


def state_of(ctx: WebContext, conversation_id: str) -> dict[str, Any]:
    """The conversation's state and queue position (``UnknownConversation`` if there is none)."""
    with ctx.session() as session:
        return _state(session, conversation_id)


def publish_messages(
    ctx: WebContext, conversation_id: str, messages: list[dict[str, Any]], state: str = "bot",
    holder: int | None = None,
) -> None:
    """To the customer's widget; to an agent only while they hold the conversation.

    ``state`` and ``holder``: the conversation's state and agent when the messages came.
    """
    for message in messages:
        ctx.hub.publish(conversation_id, {"type": "message", "message": message})
    if state == "agent" and holder is not None:
        for message in messages:
            ctx.hub.publish(agent_channel(holder), {
                "type": "message", "conversation_id": conversation_id, "message": message})
    elif state == "queued":
        publish_queue(ctx)  # the waiting conversation's summary changed


def publish_queue(ctx: WebContext) -> None:
    """The agents' queue as it is now (read from the database)."""
    ctx.hub.publish(AGENTS, {"type": "queue", "queue": queue_json(ctx)})


@dataclass
class Accepted:
    """A stored customer message: the conversation's state when it came, and its number."""

    current: dict[str, Any]
    seq: int


def accept_message(
    ctx: WebContext, conversation_id: str, body: CustomerMessage
) -> Accepted | JSONResponse:
    """Store the customer's message (masked) and show it; ``409`` closed, ``429`` too many."""
    shown = body.text if body.text is not None else (body.title or body.payload or "")
    with ctx.session() as session:
        current = _state(session, conversation_id)
        holder = _holder(session, conversation_id)
        if current["state"] == "closed":
            return JSONResponse({"detail": texts.CONVERSATION_CLOSED}, status_code=409)
        if not ctx.message_limiter.allow(conversation_id):
            return JSONResponse({"detail": texts.TOO_MANY_MESSAGES}, status_code=429)
        customer = repo.add_message(
            session=session,
            conversation_id=conversation_id,
            sender="customer",
            text=shown,
            meta={"payload": body.payload} if body.payload else None,
            public=ctx.public_numbers,
            now=ctx.clock(),
        )
        # Insults and threats (word list): blurred in the agents' console (issue 18).
        customer.abusive = abuse.assess(shown).abusive
        customer_out = message_out(customer)
        customer_seq = customer.seq
    publish_messages(ctx, conversation_id, [customer_out], current["state"], holder)
    return Accepted(current, customer_seq)


def store_answers(
    ctx: WebContext, conversation_id: str, answers: list[BotMessage], accepted: Accepted
) -> dict[str, Any]:
    """Store and show the bot's answers: queue, inbox and abuse flag as their metadata say."""
    out = []
    handoff: str | None = None
    fallback = False
    with ctx.session() as session:
        for answer in answers:
            meta = answer.metadata
            handoff = meta.get("handoff") or handoff
            fallback = fallback or meta.get("decision") == "fallback"
            stored = repo.add_message(
                session=session,
                conversation_id=conversation_id,
                sender="bot",
                text=answer.text,
                buttons=answer.buttons,
                faq_id=meta.get("faq_id"),
                content_version=meta.get("content_version"),
                meta={k: v for k, v in meta.items() if k in STORED_META},
                public=ctx.public_numbers,
                now=ctx.clock(),
            )
            out.append(message_out(stored))
        if any(is_upset(a.metadata) for a in answers):
            mark_abusive(session, conversation_id, accepted.seq)
        if handoff == "queued":
            repo.enqueue(
                session=session,
                conversation_id=conversation_id,
                reason=str(answers[-1].metadata.get("handoff_reason") or "asked"),
                now=ctx.clock(),
            )
        now = ctx.clock()
        if fallback:
            inbox.collect(
                session,
                inbox.record_fallback,
                conversation_id=conversation_id,
                message_seq=accepted.seq,
                now=now,
            )
        if handoff in ("queued", "offline"):
            inbox.collect(
                session,
                inbox.record_handoff,
                conversation_id=conversation_id,
                request_seq=accepted.seq,
                now=now,
            )
        unclear = inbox.unclear_topic(a.metadata for a in answers)
        if unclear is not None:
            inbox.collect(
                session,
                inbox.record_feedback,
                conversation_id=conversation_id,
                faq_id=unclear,
                now=now,
            )
        state = _state(session, conversation_id) if handoff == "queued" else accepted.current
    publish_messages(ctx, conversation_id, out)
    if handoff == "queued":
        publish_queue(ctx)
        ctx.hub.publish(conversation_id, {"type": "state", **state})
    return {"messages": out, **state}


def assistant_trouble(
    ctx: WebContext, conversation_id: str, accepted: Accepted, *, wants_person: bool
) -> dict[str, Any]:
    """The German notice with the phone number and a way to a person, without Rasa."""
    now = ctx.clock()
    phone = str(ctx.utility.get("phone", ""))
    handoff = None
    if not wants_person:
        text, buttons = (texts.ASSISTANT_UNAVAILABLE.format(phone=phone),
                         [{"title": texts.TALK_TO_PERSON, "payload": HANDOFF_PAYLOAD}])
    elif ctx.hours.is_open(now):
        text, buttons, handoff = texts.HANDOFF_QUEUED_DIRECT, [], "queued"
    else:
        opening = ctx.hours.describe_next_opening(now) or texts.TICKET_WHEN_SOON
        text = texts.HANDOFF_OFFLINE_DIRECT.format(
            hours=ctx.hours.describe(), next_opening=opening, phone=phone
        )
        buttons, handoff = [], "offline"
    with ctx.session() as session:
        notice = repo.add_message(
            session=session,
            conversation_id=conversation_id,
            sender="system",
            text=text,
            buttons=buttons,
            meta={"handoff": handoff} if handoff else None,
            public=ctx.public_numbers,
            now=now,
        )
        out = [message_out(notice)]
        if handoff == "queued":
            repo.enqueue(session=session, conversation_id=conversation_id,
                         reason="assistant_unavailable", now=now)
        if handoff:
            inbox.collect(session, inbox.record_handoff, conversation_id=conversation_id,
                          request_seq=accepted.seq, now=now)
        state = _state(session, conversation_id) if handoff == "queued" else accepted.current
    publish_messages(ctx, conversation_id, out)
    if handoff == "queued":
        publish_queue(ctx)
        ctx.hub.publish(conversation_id, {"type": "state", **state})
    return {"messages": out, **state}


async def turn(ctx: WebContext, conversation_id: str, body: CustomerMessage) -> Turn | JSONResponse:
    """One customer message and what answers it (``UnknownConversation`` if there is none)."""
    # Two short transactions per turn (customer message; bot answers and state), each in a
    # worker thread, with the relay to Rasa in between outside of any transaction.
    accepted = await in_thread(accept_message, ctx, conversation_id, body)
    if isinstance(accepted, JSONResponse):
        return accepted
    current = accepted.current
    if current["state"] != "bot":  # an agent owns it, or it waits for one
        return Turn({"messages": [], **current}, current["state"])

    ctx.hub.publish(conversation_id, {"type": "typing", "sender": "bot"})
    relayed = time.perf_counter()
    try:
        # Rasa's tracker gets the text masked like the chat store (no IBAN, phone or e-mail
        # in a second store); button payloads are the bot's own and stay as they are.
        answers = await ctx.relay.send(
            conversation_id,
            body.payload or mask(body.text or "", public=ctx.public_numbers),
            message_id=f"{conversation_id}:{accepted.seq}",
        )
    except RasaError:
        logger.exception("relaying to Rasa failed")
        answers = []
    rasa_s = time.perf_counter() - relayed
    if not answers:
        # Rasa unreachable, or it said nothing (its action server is away): the customer
        # learns that and can still reach a person, which needs no Rasa.
        trouble = await in_thread(assistant_trouble, ctx, conversation_id, accepted,
                                  wants_person=body.payload == HANDOFF_PAYLOAD)
        return Turn(trouble, "bot", rasa_s, [])
    answered = await in_thread(store_answers, ctx, conversation_id, answers, accepted)
    return Turn(answered, "bot", rasa_s, [a.metadata for a in answers])


# ---- the routes ------------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1", tags=["chat"], route_class=ValidatedRoute)


@router.post("/conversations", status_code=201)
def create_conversation(
    request: Request, ctx: deps.Context, metrics: deps.Metrics,
    body: NewConversation | None = None,
) -> Any:
    """Start a conversation (``429`` when this address started too many)."""
    if not ctx.conversation_limiter.allow(client_address(request)):
        return JSONResponse({"detail": texts.TOO_MANY_MESSAGES}, status_code=429)
    with ctx.session() as session:
        conversation = repo.create_conversation(
            session=session, page=body.page if body else None, now=ctx.clock()
        )
        conversation_id = conversation.id
    metrics.conversations.inc()
    return {"conversation_id": conversation_id}


@router.post("/conversations/{conversation_id}/messages")
async def post_message(
    conversation_id: str, body: CustomerMessage, ctx: deps.Context, metrics: deps.Metrics
) -> Any:
    """A customer message and the answers to it (the assistant's while it owns the chat)."""
    started = time.perf_counter()
    try:
        result = await turn(ctx, conversation_id, body)
    except UnknownConversation:  # unknown, or deleted while Rasa answered
        return _not_found()
    if not isinstance(result, Turn):
        return result
    metrics.observe_turn(
        channel="button" if body.payload is not None else "text",
        state=result.arrived_in,
        rasa_s=result.rasa_s,
        answers=result.answers,
        handoffs={m.get("handoff") for m in result.body["messages"]},
        request_s=time.perf_counter() - started,
    )
    return result.body


@router.get("/conversations/{conversation_id}/messages")
def get_messages(
    conversation_id: str, ctx: deps.Context, after: int = Query(0, ge=0, le=MAX_DB_INT)
) -> Any:
    """The messages after ``after`` and the conversation's state."""
    try:
        with ctx.session() as session:
            messages = repo.transcript(
                session=session, conversation_id=conversation_id, after=after
            )
            out = [message_out(m) for m in messages]
            current = _state(session, conversation_id)
    except UnknownConversation:
        return _not_found()
    return {"messages": out, **current}


@router.websocket("/conversations/{conversation_id}/ws")
async def live(websocket: WebSocket, conversation_id: str, ctx: deps.Context) -> None:
    """The conversation's live events: its state first, then messages, typing, state."""
    try:
        current = await in_thread(state_of, ctx, conversation_id)
    except UnknownConversation:
        await websocket.close(code=4404)
        return
    await websocket.accept()
    queue = ctx.hub.subscribe(conversation_id)  # on the loop: its queue belongs to it
    try:
        await websocket.send_json({"type": "state", **current})
        await stream(websocket, queue)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        ctx.hub.unsubscribe(conversation_id, queue)


@router.post("/conversations/{conversation_id}/feedback", status_code=204)
def feedback(
    conversation_id: str, body: FeedbackIn, request: Request, ctx: deps.Context
) -> Response:
    """Thumbs up or down for an answer; a thumbs down goes to the editors' inbox."""
    if not ctx.feedback_limiter.allow(client_address(request)):
        return JSONResponse({"detail": texts.TOO_MANY_RATINGS}, status_code=429)
    try:
        with ctx.session() as session:
            repo.add_feedback(
                session=session,
                conversation_id=conversation_id,
                faq_id=body.faq_id,
                content_version=body.content_version,
                helpful=body.helpful,
                seq=body.seq,
                now=ctx.clock(),
            )
            if not body.helpful:
                inbox.collect(
                    session,
                    inbox.record_feedback,
                    conversation_id=conversation_id,
                    faq_id=body.faq_id,
                    now=ctx.clock(),
                )
    except UnknownConversation:
        return _not_found()
    except UnknownAnswer:
        return JSONResponse({"detail": texts.FEEDBACK_UNKNOWN_ANSWER}, status_code=422)
    except (AlreadyRated, IntegrityError):  # the same message rated at the same moment
        return JSONResponse({"detail": texts.FEEDBACK_TWICE}, status_code=409)
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/callback", status_code=201)
def callback(conversation_id: str, body: CallbackIn, request: Request, ctx: deps.Context) -> Any:
    """A callback request (a ticket for the agents) and its German confirmation."""
    now = ctx.clock()
    try:
        with ctx.session() as session:
            state = _state(session, conversation_id)["state"]
            holder = _holder(session, conversation_id)
            if repo.open_ticket(session=session, conversation_id=conversation_id):
                return JSONResponse({"detail": texts.TICKET_ALREADY_OPEN}, status_code=409)
            if not ctx.callback_limiter.allow(client_address(request)):
                return JSONResponse({"detail": texts.TOO_MANY_CALLBACKS}, status_code=429)
            ticket = repo.add_ticket(
                session=session,
                conversation_id=conversation_id,
                name=body.name,
                contact=body.contact,
                concern=body.concern,
                now=now,
            )
            ticket_id = ticket.id
            opening = ctx.hours.describe_next_opening(now)
            when = (
                texts.TICKET_WHEN_NEXT.format(when=opening)
                if opening
                else texts.TICKET_WHEN_SOON
            )
            # Our words only: the customer's name or concern never speak as the system.
            confirmation = repo.add_message(
                session=session,
                conversation_id=conversation_id,
                sender="system",
                text=texts.TICKET_CONFIRMED.format(when=when),
                public=ctx.public_numbers,
                now=now,
            )
            out = message_out(confirmation)
    except UnknownConversation:
        return _not_found()
    publish_messages(ctx, conversation_id, [out], state, holder)
    ctx.hub.publish(AGENTS, {"type": "ticket", "ticket_id": ticket_id})
    return {"ticket_id": ticket_id, "message": out}


@router.delete("/conversations/{conversation_id}", status_code=204)
async def delete(conversation_id: str, ctx: deps.Context) -> Response:
    """Delete the conversation everywhere (the customer's right to erasure)."""
    # Every trace in the chat store at once; Rasa's tracker on every replica now, or by the
    # web app's background task once Rasa answers again (bot/retention.py; its database work
    # runs in threads).
    try:
        async with RasaTrackers.from_settings(ctx.settings) as trackers:
            await retention.delete_conversation(
                ctx.sessions, trackers, conversation_id, now=ctx.clock()
            )
    except UnknownConversation:
        return _not_found()
    ctx.hub.publish(conversation_id, {"type": "state", "state": "closed"})
    return Response(status_code=204)


@router.get("/config")
async def config(ctx: deps.Context) -> Any:
    """What the widget shows before the first message: brand, opening hours, contacts."""
    u = ctx.utility
    return {
        "brand": {
            "name": u.get("name"),
            "short_name": u.get("short_name"),
            "colors": u.get("colors") or {"primary": "#00558c", "on_primary": "#ffffff"},
            "logo_url": u.get("logo_url"),
        },
        "open_now": ctx.hours.is_open(ctx.clock()),
        "hours": ctx.hours.describe(),
        "phone": u.get("phone"),
        "privacy_url": u.get("privacy_url", "/datenschutz"),
        "start_topics": u.get("start_topics") or {},
    }
