"""``/api/editor/inbox``: questions the assistant did not answer well, grouped, and acted on.

An editor turns a group into a question variant of a topic, into the first question of a new
topic, or dismisses it (``bot.content.inbox`` collects, groups and acts).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from bot.content import inbox
from bot.content import repository as content
from bot.web.deps import Context, Editor
from bot.web.editor.schemas import PREFIX, AddVariantIn, ItemPathId, ItemsIn
from bot.web.editor.shapes import INBOX_KIND_LABELS, revision_out
from bot.web.guard import EditorRoute

router = APIRouter(prefix=f"{PREFIX}/inbox", tags=["editor"], route_class=EditorRoute)


@router.get("")
def inbox_groups(ctx: Context, limit: int = Query(50, ge=1, le=200)) -> dict[str, Any]:
    """The open inbox items in groups of similar questions."""
    with ctx.session() as session:
        groups = inbox.open_groups(session, limit=limit)
        total = inbox.open_count(session)
        titles = {
            topic_id: str(doc.get("title") or topic_id)
            for topic_id, doc in content.published_documents(session).items()
        }
    out = []
    for group in groups:
        data = group.as_dict()
        data["key"] = group.item_ids[0]
        data["kind_labels"] = [INBOX_KIND_LABELS.get(k, k) for k in group.kinds]
        data["topics"] = [{"id": t, "title": titles.get(t, t)} for t in group.faq_ids]
        out.append(data)
    return {"groups": out, "open": total}


@router.get("/items/{item_id}/excerpt")
def inbox_excerpt(item_id: ItemPathId, ctx: Context) -> dict[str, Any]:
    """The conversation around one inbox item (personal data masked)."""
    with ctx.session() as session:
        return {"item_id": item_id, "messages": inbox.excerpt(session, item_id)}


@router.post("/add-variant")
def inbox_add(body: AddVariantIn, ctx: Context, actor: Editor) -> dict[str, Any]:
    """Inbox items → a question variant of a topic (published or sent for review)."""
    with ctx.session() as session:
        rev = inbox.add_as_variant(
            session,
            item_ids=body.item_ids,
            topic_id=body.topic_id,
            text=body.text,
            actor=actor,
            knowledge_dir=ctx.settings.knowledge_dir,
            now=ctx.clock(),
        )
        out = revision_out(rev)
    question = " ".join(body.text.split())
    if out["state"] == "pending":
        message = (
            f"„{question}“ ist als Fragevariante von „{out['title']}“ vorgemerkt und wartet "
            "auf Freigabe."
        )
    else:
        message = f"„{question}“ ist jetzt eine Fragevariante von „{out['title']}“."
        if ctx.settings.training_enabled:
            message += " Der Assistent lernt sie im Hintergrund (Stand unter „Training“)."
    return {"revision": out, "message": message}


@router.post("/start-topic")
def inbox_start_topic(body: ItemsIn, ctx: Context, actor: Editor) -> dict[str, Any]:
    """Inbox items → the first question of a new topic (the items are resolved)."""
    with ctx.session() as session:
        question = inbox.start_topic(
            session, item_ids=body.item_ids, actor=actor, now=ctx.clock()
        )
    return {"question": question}


@router.post("/dismiss")
def inbox_dismiss(body: ItemsIn, ctx: Context, actor: Editor) -> dict[str, Any]:
    """Inbox items → dismissed."""
    with ctx.session() as session:
        count = inbox.dismiss(session, item_ids=body.item_ids, actor=actor, now=ctx.clock())
    return {"dismissed": count, "message": f"{count} Einträge verworfen."}
