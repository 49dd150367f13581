"""``/api/editor/topics``: find topics, start new ones, save drafts, compare and roll back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from bot.content import overview
from bot.content import repository as content
from bot.content.models import ContentTopic
from bot.web import texts
from bot.web.deps import Context, Editor, User
from bot.web.editor.revisions import refuse_others_draft
from bot.web.editor.schemas import (
    MAX_HISTORY,
    MAX_ID,
    MAX_QUERY,
    PREFIX,
    DraftIn,
    NewTopicIn,
    RollbackIn,
    TopicId,
)
from bot.web.editor.shapes import iso, revision_out
from bot.web.faq_page import MEASURE_HEADINGS
from bot.web.guard import EditorRoute

router = APIRouter(prefix=f"{PREFIX}/topics", tags=["editor"], route_class=EditorRoute)


async def topic_filter(
    q: str = Query("", max_length=MAX_QUERY),
    measure: str = Query("", max_length=40),
    expired: bool = False,
    low_feedback: bool = False,
    many_fallbacks: bool = False,
) -> overview.TopicFilter:
    """The topic list's query parameters (``bot.content.overview`` explains the signals)."""
    return overview.TopicFilter(q, measure, expired, low_feedback, many_fallbacks)


@router.get("")
def list_topics(
    ctx: Context, wanted: Annotated[overview.TopicFilter, Depends(topic_filter)]
) -> dict[str, Any]:
    """Topics matching the filter, sorted by title, with state and signals."""
    now = ctx.clock()
    with ctx.session() as session:
        found = overview.topic_list(session, wanted, now=now)
    for item in found.topics:
        item["measure_label"] = MEASURE_HEADINGS.get(str(item["measure"]), "")
        item["published_at"] = iso(item["published_at"])
    return {"topics": found.topics, "total": found.total, "today": now.date().isoformat()}


@router.post("", status_code=201)
def new_topic(body: NewTopicIn, ctx: Context, actor: Editor) -> dict[str, Any]:
    """A new topic as a draft (the id is its permanent key)."""
    with ctx.session() as session:
        # An id is free again when every draft of it was discarded before publishing.
        taken = session.get(ContentTopic, body.id) is not None or any(
            rev.state != "discarded" for rev in content.history(session, body.id)
        )
        if taken:
            raise content.NotAllowed(texts.TOPIC_EXISTS.format(topic_id=body.id))
        rev = content.save_draft(
            session, topic_id=body.id, data=body.document(), actor=actor, now=ctx.clock()
        )
        return {"revision": revision_out(rev, data=True)}


@router.get("/{topic_id}")
def get_topic(topic_id: TopicId, ctx: Context, user: User) -> dict[str, Any]:
    """A topic: the published document, open drafts, history and feedback."""
    with ctx.session() as session:
        row = session.get(ContentTopic, topic_id)
        revisions = content.history(session, topic_id)
        if row is None and not revisions:
            raise content.UnknownTopic(texts.UNKNOWN_TOPIC.format(topic_id=topic_id))
        version = row.version if row else None
        up, down = overview.topic_votes(session, topic_id, version)
        return {
            "topic_id": topic_id,
            "published": dict(row.data) if row else None,
            "version": version,
            "published_at": iso(row.published_at) if row else None,
            "drafts": [
                {**revision_out(r, data=True), "own": r.author_id == user.id}
                for r in revisions
                if r.state in overview.OPEN_STATES
            ],
            "history": [revision_out(r) for r in revisions[:MAX_HISTORY]],
            "feedback": {"up": up, "down": down},
            "four_eyes": content.four_eyes(session),
        }


@router.post("/{topic_id}/drafts")
def save_draft(
    topic_id: TopicId, body: DraftIn, ctx: Context, user: User, actor: Editor
) -> dict[str, Any]:
    """Save a new draft of a topic, or update one's own open draft."""
    with ctx.session() as session:
        current = session.get(ContentTopic, topic_id)
        if body.revision_id is None:
            if current is None and not content.history(session, topic_id):
                raise content.UnknownTopic(texts.UNKNOWN_TOPIC.format(topic_id=topic_id))
            version = current.version if current else None
            if "base_version" in body.model_fields_set and body.base_version != version:
                raise content.EditConflict(texts.STALE_TOPIC.format(version=version))
        else:
            rev = content.revision(session, body.revision_id)
            if rev.topic_id != topic_id:
                raise content.UnknownRevision(
                    f"Den Entwurf {body.revision_id} gibt es zu diesem Thema nicht."
                )
            refuse_others_draft(session, body.revision_id, user)
        rev = content.save_draft(
            session,
            topic_id=topic_id,
            data=body.document(),
            actor=actor,
            revision_id=body.revision_id,
            now=ctx.clock(),
        )
        return {"revision": revision_out(rev, data=True)}


@router.get("/{topic_id}/diff")
def version_diff(
    topic_id: TopicId,
    ctx: Context,
    old: int = Query(..., ge=1, le=MAX_ID),
    new: int | None = Query(None, ge=1, le=MAX_ID),
) -> dict[str, Any]:
    """The diff of two published versions (``new`` defaults to the current one)."""
    with ctx.session() as session:
        newer = new if new is not None else content.published(session, topic_id).version
        before, after = (overview.published_version(session, topic_id, v) for v in (old, newer))
        for version, rev in ((old, before), (newer, after)):
            if rev is None:
                raise content.UnknownRevision(
                    texts.UNKNOWN_VERSION.format(version=version, topic_id=topic_id)
                )
        assert before is not None and after is not None
        text = content.diff(
            before.data, after.data, old_label=f"Version {old}", new_label=f"Version {newer}"
        )
    return {"topic_id": topic_id, "old": old, "new": newer, "diff": text}


@router.post("/{topic_id}/rollback")
def rollback(topic_id: TopicId, body: RollbackIn, ctx: Context, actor: Editor) -> dict[str, Any]:
    """Publish an earlier version again (as a new version)."""
    with ctx.session() as session:
        rev = content.rollback(
            session,
            topic_id=topic_id,
            to_version=body.version,
            actor=actor,
            knowledge_dir=ctx.settings.knowledge_dir,
            now=ctx.clock(),
        )
        out = revision_out(rev)
    return {
        "revision": out,
        "message": f"Auf Version {body.version} zurückgesetzt und als Version "
        f"{out['version']} veröffentlicht. Kunden sehen die Antwort in wenigen Sekunden.",
    }

