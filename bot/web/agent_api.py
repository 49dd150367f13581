"""The agent console: login, queue, claim, live chat, hand back, close, canned replies, tickets.

Every route needs a valid session cookie (401, or a redirect to the login page for HTML
pages); every state-changing request needs the CSRF token in ``X-CSRF-Token``. Agents appear
to customers under their public ``alias`` (else their ``display_name``) with their avatar,
never their login name or full name.

Need to know: the live connection (``/ws``) carries the queue, callback requests and the
messages of the conversations this agent holds, nothing of other agents' or the assistant's
chats. An agent hands back or closes only a conversation waiting in the queue or held by
themself (``409`` otherwise); a conversation with the assistant is the customer's.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictStr, field_validator

from bot.chat import repository as repo
from bot.chat.models import Agent
from bot.chat.repository import InvalidTransition, UnknownConversation
from bot.web import social_api, texts
from bot.web.context import WebContext, message_out
from bot.web.events import AGENTS, agent_channel, stream
from bot.web.guard import validated_route
from bot.web.sessions import SESSION_COOKIE, current_user
from bot.web.social_api import public_name

logger = logging.getLogger(__name__)
AGENT_ROLES = ("agent", "admin")  # who may use the console


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


def console_message(message: Any) -> dict[str, Any]:
    """A message as the console shows it, with the abuse flag and the delivery state.

    Abusive messages are blurred until clicked; on WhatsApp and Messenger our messages carry
    Meta's delivery state (sent, delivered, read, failed with its code).
    """
    out = message_out(message)
    out["abusive"] = bool(message.abusive)
    out["delivery_state"] = message.delivery_state
    out["delivery_error"] = message.delivery_error
    return out


def summary(ctx: WebContext, conversation_id: str) -> dict[str, Any]:
    """What an agent sees before claiming: topic, bot answers, calculation, last turns."""
    with ctx.session() as session:
        messages = repo.transcript(session=session, conversation_id=conversation_id)
        bot_answers = [m for m in messages if m.sender == "bot"]
        topics = [m.faq_id for m in bot_answers if m.faq_id]
        calculation = next(
            (
                (m.meta or {}).get("calculation")
                for m in reversed(bot_answers)
                if (m.meta or {}).get("calculation")
            ),
            None,
        )
        return {
            "topic": topics[-1] if topics else None,
            "topics": list(dict.fromkeys(topics)),
            "bot_answers": len(bot_answers),
            "calculation": calculation,
            "last_turns": [console_message(m) for m in messages[-5:]],
        }


def queue_json(ctx: WebContext) -> list[dict[str, Any]]:
    """The waiting conversations with their summaries, longest waiting first."""
    with ctx.session() as session:
        entries = repo.queue(session=session, now=ctx.clock())
        ids = [(e.conversation.id, e.position, e.waiting_seconds, e.conversation.channel)
               for e in entries]  # fmt: skip
    return [
        {
            "conversation_id": cid,
            "position": pos,
            "waiting_seconds": wait,
            "channel": channel,
            "summary": summary(ctx, cid),
        }
        for cid, pos, wait, channel in ids
    ]


def build_router(ctx: WebContext) -> APIRouter:
    """The agent API bound to ``ctx``."""
    router = APIRouter(prefix="/api/v1/agent", tags=["agent"], route_class=validated_route())
    canned_path = ctx.settings.knowledge_dir / "canned_replies.yml"

    def auth(request: Request, *, write: bool = False) -> Agent | JSONResponse:
        token = request.cookies.get(SESSION_COOKIE)
        agent = current_user(ctx, token)
        if agent is None:
            return JSONResponse({"detail": "Bitte melden Sie sich an."}, status_code=401)
        if agent.role not in AGENT_ROLES:
            return JSONResponse({"detail": texts.NOT_ALLOWED}, status_code=403)
        if write and not ctx.signer.check_csrf(token, request.headers.get("X-CSRF-Token")):
            return JSONResponse({"detail": texts.CSRF_FAILED}, status_code=403)
        return agent

    def announce(conversation_id: str, text: str, agent: Agent) -> dict[str, Any]:
        """A system message about ``agent``'s step, to the customer and to that agent."""
        meta = {"agent_id": agent.id, "agent_name": public_name(agent), "avatar": agent.avatar}
        with ctx.session() as session:
            stored = repo.add_message(
                session=session,
                conversation_id=conversation_id,
                sender="system",
                text=text,
                meta=meta,
                public=ctx.public_numbers,
                now=ctx.clock(),
            )
            out = message_out(stored)
        publish(conversation_id, out, agent)
        social_api.forward(ctx, conversation_id, stored.id)  # WhatsApp, Messenger: sent there
        return out

    def publish(conversation_id: str, message: dict[str, Any], agent: Agent) -> None:
        ctx.hub.publish(conversation_id, {"type": "message", "message": message})
        ctx.hub.publish(
            agent_channel(agent.id),
            {"type": "message", "conversation_id": conversation_id, "message": message},
        )

    def publish_state(conversation_id: str, state: str) -> None:
        ctx.hub.publish(conversation_id, {"type": "state", "state": state, "queue_position": None})
        ctx.hub.publish(AGENTS, {"type": "queue", "queue": queue_json(ctx)})

    @router.get("/queue")
    async def get_queue(request: Request) -> Any:
        agent = auth(request)
        if isinstance(agent, JSONResponse):
            return agent
        queue = queue_json(ctx)
        channel = request.query_params.get("channel")
        if channel:  # the console's per-channel filter (web, whatsapp, messenger)
            queue = [item for item in queue if item["channel"] == channel]
        return {"queue": queue, "agent": {"display_name": public_name(agent),
                                          "avatar": agent.avatar}}

    @router.get("/conversations/{conversation_id}")
    async def get_conversation(conversation_id: str, request: Request) -> Any:
        agent = auth(request)
        if isinstance(agent, JSONResponse):
            return agent
        try:
            with ctx.session() as session:
                conversation = repo.get_conversation(
                    session=session, conversation_id=conversation_id
                )
                messages = [
                    console_message(m)
                    for m in repo.transcript(session=session, conversation_id=conversation_id)
                ]
                state, channel = conversation.state, conversation.channel
        except UnknownConversation:
            return JSONResponse({"detail": texts.UNKNOWN_CONVERSATION}, status_code=404)
        return {
            "conversation_id": conversation_id,
            "state": state,
            "channel": channel,
            "messages": messages,
            "summary": summary(ctx, conversation_id),
        }

    @router.post("/conversations/{conversation_id}/claim")
    async def claim(conversation_id: str, request: Request) -> Any:
        agent = auth(request, write=True)
        if isinstance(agent, JSONResponse):
            return agent
        try:
            with ctx.session() as session:
                repo.claim(
                    session=session,
                    conversation_id=conversation_id,
                    agent_id=agent.id,
                    now=ctx.clock(),
                )
        except UnknownConversation:
            return JSONResponse({"detail": texts.UNKNOWN_CONVERSATION}, status_code=404)
        except InvalidTransition:
            return JSONResponse({"detail": texts.ALREADY_CLAIMED}, status_code=409)
        announce(conversation_id, texts.AGENT_JOINED.format(name=public_name(agent)), agent)
        publish_state(conversation_id, "agent")
        return {"state": "agent"}

    @router.post("/conversations/{conversation_id}/messages")
    async def send(conversation_id: str, body: AgentMessage, request: Request) -> Any:
        agent = auth(request, write=True)
        if isinstance(agent, JSONResponse):
            return agent
        # WhatsApp and Messenger: through the Graph API, within the messaging window.
        social = await social_api.agent_reply(ctx, conversation_id, agent, body.text)
        if social is not None:
            return social
        try:
            with ctx.session() as session:
                conversation = repo.get_conversation(
                    session=session, conversation_id=conversation_id
                )
                if conversation.state != "agent" or conversation.agent_id != agent.id:
                    return JSONResponse({"detail": texts.NOT_ALLOWED}, status_code=409)
                stored = repo.add_message(
                    session=session,
                    conversation_id=conversation_id,
                    sender="agent",
                    text=body.text,
                    meta={"agent_id": agent.id, "agent_name": public_name(agent),
                          "avatar": agent.avatar},
                    public=ctx.public_numbers,
                    now=ctx.clock(),
                )
                out = message_out(stored)
        except UnknownConversation:
            return JSONResponse({"detail": texts.UNKNOWN_CONVERSATION}, status_code=404)
        publish(conversation_id, out, agent)
        return {"message": out}

    async def _transition(conversation_id: str, request: Request, state: str, text: str) -> Any:
        agent = auth(request, write=True)
        if isinstance(agent, JSONResponse):
            return agent
        try:
            with ctx.session() as session:
                conversation = repo.get_conversation(
                    session=session, conversation_id=conversation_id
                )
                if conversation.state == "agent" and conversation.agent_id != agent.id:
                    return JSONResponse({"detail": texts.ALREADY_CLAIMED}, status_code=409)
                if conversation.state not in ("queued", "agent"):
                    # With the assistant (or closed): not an agent's to end or hand back.
                    return JSONResponse({"detail": texts.NOT_IN_YOUR_HANDS}, status_code=409)
                if state == "bot":
                    repo.release_to_bot(
                        session=session, conversation_id=conversation_id, now=ctx.clock()
                    )
                else:
                    repo.close(session=session, conversation_id=conversation_id, now=ctx.clock())
        except UnknownConversation:
            return JSONResponse({"detail": texts.UNKNOWN_CONVERSATION}, status_code=404)
        except InvalidTransition:
            return JSONResponse({"detail": texts.NOT_ALLOWED}, status_code=409)
        announce(conversation_id, text.format(name=public_name(agent)), agent)
        publish_state(conversation_id, state)
        return {"state": state}

    @router.post("/conversations/{conversation_id}/handback")
    async def handback(conversation_id: str, request: Request) -> Any:
        return await _transition(conversation_id, request, "bot", texts.BACK_TO_BOT)

    @router.post("/conversations/{conversation_id}/close")
    async def close(conversation_id: str, request: Request) -> Any:
        return await _transition(conversation_id, request, "closed", texts.CLOSED_BY_AGENT)

    @router.get("/canned")
    async def canned(request: Request) -> Any:
        agent = auth(request)
        if isinstance(agent, JSONResponse):
            return agent
        return canned_replies(canned_path)

    @router.get("/tickets")
    async def tickets(request: Request) -> Any:
        agent = auth(request)
        if isinstance(agent, JSONResponse):
            return agent
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

    @router.websocket("/ws")
    async def live(websocket: WebSocket) -> None:
        token = websocket.cookies.get(SESSION_COOKIE)
        agent = current_user(ctx, token)
        if agent is None or agent.role not in AGENT_ROLES:
            await websocket.close(code=4401)
            return

        async def still_logged_in() -> bool:
            # A logout, password reset, role change or deactivation ends the session: the live
            # connection goes with it (the console then asks to log in again).
            user = await asyncio.to_thread(current_user, ctx, token)
            return user is not None and user.role in AGENT_ROLES

        await websocket.accept()
        own = agent_channel(agent.id)
        queue = ctx.hub.subscribe(AGENTS)
        ctx.hub.subscribe(own, queue)
        try:
            await websocket.send_json({"type": "queue", "queue": queue_json(ctx)})
            if not await stream(websocket, queue, alive=still_logged_in):
                await websocket.close(code=4401)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            ctx.hub.unsubscribe(AGENTS, queue)
            ctx.hub.unsubscribe(own, queue)

    return router
