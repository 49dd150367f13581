"""The agent console: queue, claim, live chat, hand back, close, canned replies, tickets.

Every route needs a valid session cookie of an agent or admin (``401``, ``403``); every
state-changing request needs the CSRF token in ``X-CSRF-Token`` (``403``): the dependency
:func:`console_agent` checks both before the body is parsed. Agents appear to customers under
their public ``alias`` (else their ``display_name``) with their avatar, never their login name
or full name.

Need to know: the live connection (``/ws``) carries the queue, callback requests and the
messages of the conversations this agent holds, nothing of other agents' or the assistant's
chats. An agent hands back or closes only a conversation waiting in the queue or held by
themself (``409`` otherwise); a conversation with the assistant is the customer's.

The database is never used on the event loop: the routes are plain ``def`` (FastAPI's thread
pool; live events and forwarding to WhatsApp or Messenger are thread-safe), except sending a
message, which awaits Meta's Graph API (``social_api.agent_reply``), and the live connection;
those two hand their database work to a thread (``deps.in_thread``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, Field, StrictStr, field_validator

from bot.chat import repository as repo
from bot.chat.models import Agent, Message
from bot.chat.repository import InvalidTransition, UnknownConversation
from bot.handoff import queue as handoff_queue
from bot.web import deps, guard, social_api, texts
from bot.web.context import WebContext, message_out
from bot.web.events import AGENTS, agent_channel, stream
from bot.web.sessions import SESSION_COOKIE, current_user
from bot.web.social_api import public_name

CANNED_REPLIES = "canned_replies.yml"  # in the knowledge directory


class AgentMessage(BaseModel):
    """An agent's chat message."""

    text: StrictStr = Field(..., min_length=1, max_length=2000)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Die Nachricht ist leer.")
        return value.strip()


def canned_replies(path: Path) -> list[dict[str, str]]:
    """Canned replies from ``knowledge/canned_replies.yml`` (title + text)."""
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [
        {"title": str(item["title"]), "text": str(item["text"])}
        for item in data
        if isinstance(item, dict) and item.get("title") and item.get("text")
    ]


def console_message(message: Message) -> dict[str, Any]:
    """A message as the console shows it, with the abuse flag and the delivery state.

    Abusive messages are blurred until clicked; on WhatsApp and Messenger our messages carry
    Meta's delivery state (sent, delivered, read, failed with its code).
    """
    out = message_out(message)
    out["abusive"] = bool(message.abusive)
    out["delivery_state"] = message.delivery_state
    out["delivery_error"] = message.delivery_error
    return out


def summary_out(summary: handoff_queue.Summary) -> dict[str, Any]:
    """What an agent sees before claiming (``bot.handoff.queue``) as JSON."""
    return {
        "topic": summary.topic,
        "topics": summary.topics,
        "bot_answers": summary.bot_answers,
        "calculation": summary.calculation,
        "last_turns": [console_message(m) for m in summary.last_turns],
    }


def queue_json(ctx: WebContext) -> list[dict[str, Any]]:
    """The waiting conversations with their summaries, longest waiting first (blocking)."""
    with ctx.session() as session:
        return [
            {
                "conversation_id": entry.conversation_id,
                "position": entry.position,
                "waiting_seconds": entry.waiting_seconds,
                "channel": entry.channel,
                "summary": summary_out(entry.summary),
            }
            for entry in handoff_queue.waiting(session, ctx.clock())
        ]


def console_agent(request: Request, ctx: deps.Context) -> Agent:
    """The logged-in agent or admin; for writes also the CSRF token (``401``/``403`` otherwise).

    A plain function: FastAPI runs it in its thread pool (the session is looked up in the
    database), once per request.
    """
    token = request.cookies.get(SESSION_COOKIE)
    agent = current_user(ctx, token)
    if agent is None:
        raise HTTPException(401, texts.LOGIN_REQUIRED)
    if agent.role not in guard.AGENT_ROLES:
        raise HTTPException(403, texts.NOT_ALLOWED)
    if request.method not in guard.SAFE_METHODS and not ctx.signer.check_csrf(
        token, request.headers.get(guard.CSRF_HEADER)
    ):
        raise HTTPException(403, texts.CSRF_FAILED)
    return agent


ConsoleAgent = Annotated[Agent, Depends(console_agent)]
router = APIRouter(prefix="/api/v1/agent", tags=["agent"], route_class=guard.ValidatedRoute)


# --- an agent's steps -------------------------------------------------------------------------


def publish_message(
    ctx: WebContext, conversation_id: str, message: dict[str, Any], agent_id: int
) -> None:
    """A message to the customer's widget and to the console of the agent holding the chat."""
    ctx.hub.publish(conversation_id, {"type": "message", "message": message})
    ctx.hub.publish(
        agent_channel(agent_id),
        {"type": "message", "conversation_id": conversation_id, "message": message},
    )


def announce(ctx: WebContext, conversation_id: str, state: str, text: str, agent: Agent) -> None:
    """Tell everyone following the conversation about ``agent``'s step (blocking).

    The system message ``text`` (``{name}``: the agent's public name) is stored and sent to the
    customer (on WhatsApp and Messenger too) and the agent; then the new ``state`` and the queue.
    """
    meta = {"agent_id": agent.id, "agent_name": public_name(agent), "avatar": agent.avatar}
    with ctx.session() as session:
        stored = repo.add_message(
            session=session,
            conversation_id=conversation_id,
            sender="system",
            text=text.format(name=public_name(agent)),
            meta=meta,
            public=ctx.public_numbers,
            now=ctx.clock(),
        )
        message, message_id = message_out(stored), stored.id
    publish_message(ctx, conversation_id, message, agent.id)
    social_api.forward(ctx, conversation_id, message_id)
    ctx.hub.publish(conversation_id, {"type": "state", "state": state, "queue_position": None})
    ctx.hub.publish(AGENTS, {"type": "queue", "queue": queue_json(ctx)})


def end(
    ctx: WebContext, conversation_id: str, agent: Agent, state: Literal["bot", "closed"]
) -> None:
    """Hand the conversation back to the assistant or close it (blocking; ``404``, ``409``)."""
    try:
        with ctx.session() as session:
            conversation = repo.get_conversation(session=session, conversation_id=conversation_id)
            if conversation.state == "agent" and conversation.agent_id != agent.id:
                raise HTTPException(409, texts.ALREADY_CLAIMED)
            if conversation.state not in ("queued", "agent"):
                # With the assistant (or closed): not an agent's to end or hand back.
                raise HTTPException(409, texts.NOT_IN_YOUR_HANDS)
            if state == "bot":
                repo.release_to_bot(
                    session=session, conversation_id=conversation_id, now=ctx.clock()
                )
            else:
                repo.close(session=session, conversation_id=conversation_id, now=ctx.clock())
    except UnknownConversation:
        raise HTTPException(404, texts.UNKNOWN_CONVERSATION) from None
    except InvalidTransition:
        raise HTTPException(409, texts.NOT_ALLOWED) from None
    text = texts.BACK_TO_BOT if state == "bot" else texts.CLOSED_BY_AGENT
    announce(ctx, conversation_id, state, text, agent)


def _store_reply(ctx: WebContext, conversation_id: str, agent: Agent, text: str) -> dict[str, Any]:
    """Store an agent's message in a web conversation they hold (blocking)."""
    try:
        with ctx.session() as session:
            conversation = repo.get_conversation(session=session, conversation_id=conversation_id)
            if conversation.state != "agent" or conversation.agent_id != agent.id:
                raise HTTPException(409, texts.NOT_ALLOWED)
            stored = repo.add_message(
                session=session,
                conversation_id=conversation_id,
                sender="agent",
                text=text,
                meta={"agent_id": agent.id, "agent_name": public_name(agent),
                      "avatar": agent.avatar},
                public=ctx.public_numbers,
                now=ctx.clock(),
            )
            return message_out(stored)
    except UnknownConversation:
        raise HTTPException(404, texts.UNKNOWN_CONVERSATION) from None


# --- routes ---------------------------------------------------------------------------------------


@router.get("/queue")
def get_queue(ctx: deps.Context, agent: ConsoleAgent, channel: str | None = None) -> Any:
    """The waiting conversations (``?channel=``: of one channel) and the agent's public name."""
    queue = queue_json(ctx)
    if channel:  # the console's per-channel filter (web, whatsapp, messenger)
        queue = [item for item in queue if item["channel"] == channel]
    return {"queue": queue, "agent": {"display_name": public_name(agent), "avatar": agent.avatar}}


@router.get("/conversations/{conversation_id}", dependencies=[Depends(console_agent)])
def get_conversation(conversation_id: str, ctx: deps.Context) -> Any:
    """A conversation's state, channel, transcript and summary."""
    try:
        with ctx.session() as session:
            conversation = repo.get_conversation(session=session, conversation_id=conversation_id)
            messages = repo.transcript(session=session, conversation_id=conversation_id)
            return {
                "conversation_id": conversation_id,
                "state": conversation.state,
                "channel": conversation.channel,
                "messages": [console_message(m) for m in messages],
                "summary": summary_out(handoff_queue.summarize(messages)),
            }
    except UnknownConversation:
        raise HTTPException(404, texts.UNKNOWN_CONVERSATION) from None


@router.post("/conversations/{conversation_id}/claim")
def claim(conversation_id: str, ctx: deps.Context, agent: ConsoleAgent) -> Any:
    """Take a waiting conversation (``409`` when another agent was quicker)."""
    try:
        with ctx.session() as session:
            repo.claim(
                session=session,
                conversation_id=conversation_id,
                agent_id=agent.id,
                now=ctx.clock(),
            )
    except UnknownConversation:
        raise HTTPException(404, texts.UNKNOWN_CONVERSATION) from None
    except InvalidTransition:
        raise HTTPException(409, texts.ALREADY_CLAIMED) from None
    announce(ctx, conversation_id, "agent", texts.AGENT_JOINED, agent)
    return {"state": "agent"}


@router.post("/conversations/{conversation_id}/messages")
async def send(
    conversation_id: str, body: AgentMessage, ctx: deps.Context, agent: ConsoleAgent
) -> Any:
    """Send a message to the customer of a conversation the agent holds."""
    # WhatsApp and Messenger: through the Graph API, within the messaging window.
    social = await social_api.agent_reply(ctx, conversation_id, agent, body.text)
    if social is not None:
        return social
    out = await deps.in_thread(_store_reply, ctx, conversation_id, agent, body.text)
    publish_message(ctx, conversation_id, out, agent.id)
    return {"message": out}


@router.post("/conversations/{conversation_id}/handback")
def handback(conversation_id: str, ctx: deps.Context, agent: ConsoleAgent) -> Any:
    """Hand the conversation back to the assistant."""
    end(ctx, conversation_id, agent, "bot")
    return {"state": "bot"}


@router.post("/conversations/{conversation_id}/close")
def close(conversation_id: str, ctx: deps.Context, agent: ConsoleAgent) -> Any:
    """End the conversation."""
    end(ctx, conversation_id, agent, "closed")
    return {"state": "closed"}


@router.get("/canned", dependencies=[Depends(console_agent)])
def canned(ctx: deps.Context) -> Any:
    """The canned replies (``knowledge/canned_replies.yml``)."""
    return canned_replies(ctx.settings.knowledge_dir / CANNED_REPLIES)


@router.get("/tickets", dependencies=[Depends(console_agent)])
def tickets(ctx: deps.Context) -> Any:
    """The callback requests."""
    with ctx.session() as session:
        return [
            {
                "id": t.id,
                "conversation_id": t.conversation_id,
                "name": t.name,
                "contact": t.contact,
                "concern": t.concern,
                "created_at": t.created_at.isoformat().replace("+00:00", "Z"),
            }
            for t in repo.tickets(session=session)
        ]


def _agent_of(ctx: WebContext, token: str | None) -> Agent | None:
    """The agent or admin this session token belongs to, else None (blocking)."""
    user = current_user(ctx, token)
    return user if user is not None and user.role in guard.AGENT_ROLES else None


@router.websocket("/ws")
async def live(websocket: WebSocket, ctx: deps.Context) -> None:
    """The live connection: the queue, callback requests and the messages of own chats."""
    token = websocket.cookies.get(SESSION_COOKIE)
    agent = await deps.in_thread(_agent_of, ctx, token)
    if agent is None:
        await websocket.close(code=4401)
        return

    async def still_logged_in() -> bool:
        # A logout, password reset, role change or deactivation ends the session: the live
        # connection goes with it (the console then asks to log in again).
        return await deps.in_thread(_agent_of, ctx, token) is not None

    await websocket.accept()
    # Subscribed on the event loop, before the queue is read: no change in between is lost.
    own = agent_channel(agent.id)
    queue = ctx.hub.subscribe(AGENTS)
    ctx.hub.subscribe(own, queue)
    try:
        await websocket.send_json({"type": "queue", "queue": await deps.in_thread(queue_json, ctx)})
        if not await stream(websocket, queue, alive=still_logged_in):
            await websocket.close(code=4401)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        ctx.hub.unsubscribe(AGENTS, queue)
        ctx.hub.unsubscribe(own, queue)
