"""Data protection for admins: find, export and delete one conversation; retention status.

Routes (role ``admin`` only; session, CSRF, size limit and German errors as in
``bot.web.guard``, the route class ``AdminRoute``)::

    GET    /api/admin/conversations?q=                  find conversations (below)
    GET    /api/admin/conversations/{id}/export         everything stored about it (download)
    DELETE /api/admin/conversations/{id}                delete it everywhere (204)
    GET    /api/admin/privacy                           retention period, what is due, pending

Finding: ``q`` is the start of a conversation id (at least :data:`MIN_ID_PREFIX` characters:
the agent console shows the first eight in the conversation's header), or part of the name or
contact of a callback request (telephone numbers compared by their digits). The answer never
repeats a name or contact, only the conversations.

The export is a JSON file with the conversation row, its messages, handoffs, feedback, callback
requests (name and contact as given) and the editors' inbox items quoting it, plus the Rasa
tracker fetched from a replica (``GET /conversations/{id}/tracker``, with ``RASA_TOKEN``); when
no replica answers, the file says so. Deleting is the widget's deletion (``bot.retention``):
the chat store at once, Rasa's tracker at once or, when Rasa cannot be reached, by the
background task. Both write the audit log (``conversation.export``, ``conversation.delete``),
naming the conversation by the first eight characters of its id only.

Finding and the status are plain ``def`` routes (FastAPI's thread pool); the export and the
deletion await Rasa, so their database work goes to a thread (``deps.in_thread``).

``build_worker`` is the web app's background task of ``bot.retention`` (pending tracker
deletions every minute, the retention run daily).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import retention
from bot.chat import repository as repo
from bot.chat.models import (
    CONVERSATION_ID_LENGTH,
    Conversation,
    Feedback,
    Handoff,
    Message,
    Ticket,
)
from bot.content import repository as content
from bot.content.models import InboxItem
from bot.content.repository import Actor
from bot.social import store as social_store
from bot.web import deps, guard
from bot.web.context import WebContext
from bot.web.editor.shapes import iso
from bot.web.guard import NotFound

# A conversation id is 32 characters; eight (the console's header) are 48 random bits.
MIN_ID_PREFIX: Final = 6
MIN_QUERY: Final = 3
MAX_RESULTS: Final = 20
# A telephone number is searched by its digits once the query has this many.
MIN_PHONE_DIGITS: Final = 6

UNKNOWN = "Dieses Gespräch gibt es nicht (mehr). Vielleicht wurde es schon gelöscht."
QUERY_TOO_SHORT = (
    "Bitte geben Sie mindestens {n} Zeichen ein: den Anfang der Gesprächskennung oder einen "
    "Namen, eine Telefonnummer oder E-Mail-Adresse aus einem Rückrufwunsch."
)
TRACKER_UNAVAILABLE = (
    "Der Gesprächsspeicher des Assistenten (Rasa) war beim Export nicht erreichbar; dieser Teil "
    "fehlt in der Datei. Bitte exportieren Sie später noch einmal."
)
STATE_LABELS: Final = {
    "bot": "Assistent",
    "queued": "Warteschlange",
    "agent": "Kundenservice",
    "closed": "Beendet",
}
_DIGITS = re.compile(r"\D+")


class UnknownConversationError(NotFound):
    """No conversation with this id (the guard answers ``404``)."""


def _target(conversation_id: str) -> str:
    """How the audit log names a conversation: its id grants access, so only the start."""
    return f"conversation:{conversation_id[:8]}…"


def _digits(text: str) -> str:
    return _DIGITS.sub("", text)


def rasa_trackers(ctx: WebContext) -> retention.RasaTrackers:
    """A client of the Rasa replicas of ``RASA_URL`` (close it after use)."""
    return retention.RasaTrackers.from_settings(ctx.settings)


def build_worker(ctx: WebContext) -> retention.RetentionWorker:
    """The web app's background task: pending tracker deletions and the daily retention run."""
    return retention.RetentionWorker(
        ctx.sessions,
        lambda: rasa_trackers(ctx),
        days=ctx.settings.retention_days,
        clock=lambda: ctx.clock(),
    )


# --- export ---------------------------------------------------------------------------------------


def conversation_out(conversation: Conversation) -> dict[str, Any]:
    """The conversation row as JSON."""
    return {
        "id": conversation.id,
        "created_at": iso(conversation.created_at),
        "updated_at": iso(conversation.updated_at),
        "state": conversation.state,
        "page": conversation.page,
        "agent_id": conversation.agent_id,
        "queued_at": iso(conversation.queued_at),
        "claimed_at": iso(conversation.claimed_at),
        "last_seq": conversation.last_seq,
        # WhatsApp/Messenger: the customer's wa_id (phone number) or PSID and profile name.
        "channel": conversation.channel,
        "contact_id": conversation.contact_id,
        "contact_name": conversation.contact_name,
        "last_customer_message_at": iso(conversation.last_customer_message_at),
    }


def _rows(session: Session, model: Any, conversation_id: str, *order: Any) -> list[Any]:
    statement = select(model).where(model.conversation_id == conversation_id).order_by(*order)
    return list(session.execute(statement).scalars())


def stored_data(session: Session, conversation_id: str) -> dict[str, Any]:
    """Everything the web app's database holds about one conversation.

    Raises:
        UnknownConversationError: no conversation with this id.
    """
    try:
        conversation = repo.get_conversation(session=session, conversation_id=conversation_id)
    except repo.UnknownConversation:
        raise UnknownConversationError(UNKNOWN) from None
    messages = _rows(session, Message, conversation_id, Message.seq)
    handoffs = _rows(session, Handoff, conversation_id, Handoff.requested_at, Handoff.id)
    feedback = _rows(session, Feedback, conversation_id, Feedback.created_at, Feedback.id)
    tickets = _rows(session, Ticket, conversation_id, Ticket.created_at, Ticket.id)
    inbox = _rows(session, InboxItem, conversation_id, InboxItem.created_at, InboxItem.id)
    return {
        "conversation": conversation_out(conversation),
        "messages": [
            {
                "seq": m.seq,
                "sender": m.sender,
                "text": m.text,
                "buttons": m.buttons or [],
                "faq_id": m.faq_id,
                "content_version": m.content_version,
                "meta": m.meta or {},
                "created_at": iso(m.created_at),
                "external_id": m.external_id,
                "delivery_state": m.delivery_state,
                "abusive": m.abusive,
            }
            for m in messages
        ],
        "blocked": social_store.blocks_of(
            session=session, channel=conversation.channel, contact_id=conversation.contact_id
        ) if conversation.contact_id else [],
        "handoffs": [
            {
                "reason": h.reason,
                "requested_at": iso(h.requested_at),
                "agent_id": h.agent_id,
                "claimed_at": iso(h.claimed_at),
                "closed_at": iso(h.closed_at),
            }
            for h in handoffs
        ],
        "feedback": [
            {
                "faq_id": f.faq_id,
                "content_version": f.content_version,
                "helpful": f.helpful,
                "created_at": iso(f.created_at),
            }
            for f in feedback
        ],
        "tickets": [
            {
                "id": t.id,
                "name": t.name,
                "contact": t.contact,
                "concern": t.concern,
                "created_at": iso(t.created_at),
                "done_at": iso(t.done_at),
            }
            for t in tickets
        ],
        "inbox_items": [
            {
                "id": i.id,
                "kind": i.kind,
                "message_seq": i.message_seq,
                "text": i.text,
                "faq_id": i.faq_id,
                "state": i.state,
                "created_at": iso(i.created_at),
                "resolved_at": iso(i.resolved_at),
            }
            for i in inbox
        ],
    }


# --- finding --------------------------------------------------------------------------------------


def find_conversations(session: Session, query: str) -> list[dict[str, Any]]:
    """Conversations whose id starts with ``query`` or with a callback request matching it."""
    query = query.strip()
    found: dict[str, str] = {}
    if len(query) >= MIN_ID_PREFIX:
        statement = (
            select(Conversation.id)
            .where(Conversation.id.startswith(query, autoescape=True))  # type: ignore[call-arg]
            .limit(MAX_RESULTS)
        )
        for conversation_id in session.execute(statement).scalars():
            found[conversation_id] = "Gesprächskennung"
    lowered, digits = query.casefold(), _digits(query)
    if len(digits) >= MIN_PHONE_DIGITS or len(query) >= MIN_ID_PREFIX:
        # A WhatsApp number (wa_id: digits without "+") or a Messenger PSID.
        contacts = select(Conversation.id).where(
            Conversation.contact_id.in_({query, digits})  # type: ignore[union-attr]
        ).limit(MAX_RESULTS)
        for conversation_id in session.execute(contacts).scalars():
            found.setdefault(conversation_id, "WhatsApp/Messenger-Kontakt")
    tickets = session.execute(select(Ticket.conversation_id, Ticket.name, Ticket.contact))
    for conversation_id, name, contact in tickets:
        if len(found) >= MAX_RESULTS:
            break
        if (
            lowered in name.casefold()
            or lowered in contact.casefold()
            or (len(digits) >= MIN_PHONE_DIGITS and digits in _digits(contact))
        ):
            found.setdefault(conversation_id, "Rückrufwunsch")
    if not found:
        return []
    rows = session.execute(
        select(Conversation).where(Conversation.id.in_(list(found)))  # type: ignore[attr-defined]
        .order_by(Conversation.updated_at.desc())  # type: ignore[attr-defined]
    ).scalars()
    out = []
    for conversation in rows:
        counts = retention.count_traces(session, [conversation.id])
        out.append(
            {
                "id": conversation.id,
                "created_at": iso(conversation.created_at),
                "updated_at": iso(conversation.updated_at),
                "state": conversation.state,
                "state_label": STATE_LABELS.get(conversation.state, conversation.state),
                "messages": counts["messages"],
                "tickets": counts["tickets"],
                "found_by": found[conversation.id],
            }
        )
    return out


# --- routes ---------------------------------------------------------------------------------------


router = APIRouter(prefix="/api/admin", tags=["admin"], route_class=guard.AdminRoute)
ConversationId = Annotated[str, Path(min_length=1, max_length=CONVERSATION_ID_LENGTH)]


@router.get("/conversations")
def search(ctx: deps.Context, q: str = Query("", max_length=200)) -> Any:
    """Conversations by the start of their id or a callback request's name or contact."""
    if len(q.strip()) < MIN_QUERY:
        return {"conversations": [], "message": QUERY_TOO_SHORT.format(n=MIN_QUERY)}
    with ctx.session() as session:
        return {"conversations": find_conversations(session, q)}


def _stored(ctx: WebContext, conversation_id: str) -> dict[str, Any]:
    """:func:`stored_data` in a session of its own (blocking)."""
    with ctx.session() as session:
        return stored_data(session, conversation_id)


def _audit(
    ctx: WebContext,
    actor: Actor,
    action: str,
    conversation_id: str,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    """Record the admin's export or deletion in the audit log (blocking)."""
    with ctx.session() as session:
        content.audit(
            session,
            actor=actor,
            action=action,
            target=_target(conversation_id),
            detail=detail,
            now=now,
        )


@router.get("/conversations/{conversation_id}/export")
async def export(
    conversation_id: ConversationId, ctx: deps.Context, actor: deps.Editor
) -> Response:
    """Everything stored about the conversation, with Rasa's tracker, as a JSON download."""
    now = ctx.clock()
    data = await deps.in_thread(_stored, ctx, conversation_id)
    async with rasa_trackers(ctx) as trackers:
        tracker, problems = await trackers.tracker(conversation_id)
    rasa: dict[str, Any]
    if tracker is not None:
        rasa = {"available": True, **tracker}
    else:
        rasa = {"available": False, "note": TRACKER_UNAVAILABLE, "problems": problems}
    document = {
        "exported_at": iso(now),
        "conversation_id": conversation_id,
        **data,
        "rasa_tracker": rasa,
    }
    detail = {"messages": len(data["messages"]), "rasa_tracker": rasa["available"]}
    await deps.in_thread(_audit, ctx, actor, "conversation.export", conversation_id, detail, now)
    body = json.dumps(document, ensure_ascii=False, indent=2)
    filename = f"gespraech-{re.sub(r'[^A-Za-z0-9_-]', '', conversation_id[:8])}.json"
    return Response(
        body,
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.delete("/conversations/{conversation_id}", status_code=204)
async def delete(
    conversation_id: ConversationId, ctx: deps.Context, actor: deps.Editor
) -> Response:
    """Delete the conversation in every store (``X-Tracker-Deletion: pending``: Rasa later)."""
    now = ctx.clock()
    try:
        async with rasa_trackers(ctx) as trackers:
            # The database part runs in a thread (bot.retention).
            deletion = await retention.delete_conversation(
                ctx.sessions, trackers, conversation_id, now=now
            )
    except repo.UnknownConversation:
        raise UnknownConversationError(UNKNOWN) from None
    detail = {**deletion.counts, "rasa_tracker_deleted": deletion.tracker_deleted}
    await deps.in_thread(_audit, ctx, actor, "conversation.delete", conversation_id, detail, now)
    ctx.hub.publish(conversation_id, {"type": "state", "state": "closed"})
    headers = {} if deletion.tracker_deleted else {"X-Tracker-Deletion": "pending"}
    return Response(status_code=204, headers=headers)


@router.get("/privacy")
def status(ctx: deps.Context) -> Any:
    """The retention period, what is due, the pending tracker deletions, the Rasa replicas."""
    days = ctx.settings.retention_days
    with ctx.session() as session:
        current = retention.retention_status(session, now=ctx.clock(), days=days)
    return {
        "retention_days": days,
        "cutoff": iso(current.cutoff),
        "due": {"conversations": current.due_conversations, **current.due_counts},
        "pending_tracker_deletions": current.pending_tracker_deletions,
        "oldest_activity": iso(current.oldest_activity),
        "rasa_replicas": ctx.settings.rasa_urls,
        "rasa_token": ctx.settings.rasa_token is not None,
    }
