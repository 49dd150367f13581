"""``/api/editor/revisions`` and ``/reviews``: one draft's way to publication.

Submit publishes, or sends the draft for review when the four-eyes rule is on; a second person
approves (publishes) or rejects it with a note; the author (or an admin) discards it. Only the
author may change or submit a draft: the four-eyes rule needs to know who wrote what.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from bot.chat.models import Agent
from bot.content import repository as content
from bot.content.models import ContentTopic
from bot.content.preview import missing_fields
from bot.knowledge.errors import Problem
from bot.knowledge.model import MIN_QUESTIONS
from bot.web import texts
from bot.web.deps import Context, Editor, User
from bot.web.editor.schemas import PREFIX, RejectIn, RevisionId
from bot.web.editor.shapes import REVISION_STATE_LABELS, revision_out
from bot.web.guard import EditorRoute

router = APIRouter(prefix=PREFIX, tags=["editor"], route_class=EditorRoute)


def refuse_others_draft(session: Session, revision_id: int, user: Agent) -> None:
    """Refuse to change or submit someone else's draft (the four-eyes rule needs authors)."""
    rev = content.revision(session, revision_id)
    if rev.author_id is not None and rev.author_id != user.id:
        raise content.NotAllowed(texts.NOT_YOUR_DRAFT.format(name=rev.author_name))


@router.get("/revisions/{revision_id}")
def get_revision(revision_id: RevisionId, ctx: Context) -> dict[str, Any]:
    """One draft with its diff to the published version."""
    with ctx.session() as session:
        rev = content.revision(session, revision_id)
        current = session.get(ContentTopic, rev.topic_id)
        text = content.diff(
            dict(current.data) if current else None,
            dict(rev.data),
            old_label=f"Version {current.version}" if current else "neu",
            new_label=REVISION_STATE_LABELS.get(rev.state, rev.state),
        )
        return {"revision": revision_out(rev, data=True), "diff": text}


@router.post("/revisions/{revision_id}/submit")
def submit(revision_id: RevisionId, ctx: Context, user: User, actor: Editor) -> dict[str, Any]:
    """Publish a draft, or send it for review while the four-eyes rule is on."""
    with ctx.session() as session:
        refuse_others_draft(session, revision_id, user)
        rev = content.revision(session, revision_id)
        if rev.state in ("draft", "rejected"):
            missing = missing_fields(rev.data, min_questions=MIN_QUESTIONS)
            if missing:
                raise content.InvalidContent(
                    [Problem.text(name, message) for name, message in missing.items()]
                )
        current = session.get(ContentTopic, rev.topic_id)
        retrain = content.questions_changed(
            dict(current.data) if current else None, dict(rev.data)
        )
        rev = content.submit(
            session,
            revision_id=revision_id,
            actor=actor,
            knowledge_dir=ctx.settings.knowledge_dir,
            now=ctx.clock(),
        )
        out = revision_out(rev)
    if out["state"] == "pending":
        message = (
            f"„{out['title']}“ wurde zur Freigabe gesendet. Eine zweite Person aus der "
            "Redaktion prüft die Änderung und veröffentlicht sie."
        )
    else:
        message = (
            f"„{out['title']}“ ist veröffentlicht (Version {out['version']}). Kunden sehen "
            "die neue Antwort in wenigen Sekunden."
        )
        if retrain and ctx.settings.training_enabled:
            message += (
                " Die Fragevarianten haben sich geändert: Der Assistent wird im Hintergrund "
                "neu trainiert (Stand unter „Training“)."
            )
    return {"revision": out, "retrain": retrain, "message": message}


@router.post("/revisions/{revision_id}/approve")
def approve(revision_id: RevisionId, ctx: Context, actor: Editor) -> dict[str, Any]:
    """A second person publishes a draft waiting for review."""
    with ctx.session() as session:
        rev = content.approve(
            session,
            revision_id=revision_id,
            actor=actor,
            knowledge_dir=ctx.settings.knowledge_dir,
            now=ctx.clock(),
        )
        out = revision_out(rev)
    return {
        "revision": out,
        "message": f"„{out['title']}“ ist freigegeben und veröffentlicht "
        f"(Version {out['version']}).",
    }


@router.post("/revisions/{revision_id}/reject")
def reject(revision_id: RevisionId, body: RejectIn, ctx: Context, actor: Editor) -> Any:
    """Send a draft waiting for review back to its author, with a note."""
    with ctx.session() as session:
        rev = content.reject(
            session, revision_id=revision_id, actor=actor, note=body.note, now=ctx.clock()
        )
        out = revision_out(rev)
    return {
        "revision": out,
        "message": f"„{out['title']}“ ging mit Ihrer Begründung an {out['author']} zurück.",
    }


@router.post("/revisions/{revision_id}/discard")
def discard(revision_id: RevisionId, ctx: Context, user: User, actor: Editor) -> dict[str, Any]:
    """Throw a draft away (its author, or an admin)."""
    with ctx.session() as session:
        if user.role != "admin":
            refuse_others_draft(session, revision_id, user)
        rev = content.discard(session, revision_id=revision_id, actor=actor, now=ctx.clock())
        out = revision_out(rev)
    return {"revision": out, "message": "Der Entwurf wurde verworfen."}


@router.get("/reviews")
def reviews(ctx: Context, user: User) -> dict[str, Any]:
    """Drafts waiting for review, with their diffs."""
    with ctx.session() as session:
        pending = [r for r in content.open_revisions(session) if r.state == "pending"]
        published = content.published_documents(session)
        out = []
        for rev in pending:
            before = published.get(rev.topic_id)
            out.append(
                {
                    **revision_out(rev, data=True),
                    "own": rev.author_id == user.id,
                    "diff": content.diff(
                        before,
                        dict(rev.data),
                        old_label=f"Version {before.get('version')}" if before else "neu",
                        new_label="Entwurf",
                    ),
                }
            )
        four_eyes = content.four_eyes(session)
    return {"reviews": out, "four_eyes": four_eyes}
