"""What the editor console needs around the topics.

Who is logged in, the answer preview, placeholders, editorial checks, retraining runs and the
audit log.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query

from bot.content import inbox, overview, preview
from bot.content import repository as content
from bot.content.markdown import render_markdown
from bot.knowledge.model import FACETS, MEASURES, MIN_QUESTIONS
from bot.web.deps import Context, User
from bot.web.editor.schemas import (
    FACET_LABELS,
    FACET_VALUE_LABELS,
    MAX_ANSWER,
    MAX_NOTE,
    MAX_QUESTION,
    MAX_QUESTIONS,
    MAX_RELATED,
    MAX_SOURCE_TITLE,
    MAX_SOURCES,
    MAX_TITLE,
    MAX_URL,
    PREFIX,
    PreviewIn,
)
from bot.web.editor.shapes import (
    TRAINING_STATE_LABELS,
    audit_out,
    calculation_button,
    iso,
    training_out,
)
from bot.web.faq_page import MEASURE_HEADINGS
from bot.web.guard import EditorRoute
from bot.web.site import site_paths

router = APIRouter(prefix=PREFIX, tags=["editor"], route_class=EditorRoute)


@router.get("/me")
def me(ctx: Context, user: User) -> dict[str, Any]:
    """The logged-in user, the four-eyes switch, open work, measures, facets and limits."""
    with ctx.session() as session:
        four_eyes = content.four_eyes(session)
        open_items = inbox.open_count(session)
        pending = len([r for r in content.open_revisions(session) if r.state == "pending"])
    return {
        "user": {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role,
        },
        "four_eyes": four_eyes,
        "inbox_open": open_items,
        "reviews_pending": pending,
        "measures": [{"id": m, "label": MEASURE_HEADINGS.get(m, m)} for m in MEASURES],
        "facets": [
            {
                "id": name,
                "label": FACET_LABELS[name],
                "values": [{"id": v, "label": FACET_VALUE_LABELS.get(v, v)} for v in values],
            }
            for name, values in FACETS.items()
        ],
        "min_questions": MIN_QUESTIONS,
        "training_enabled": ctx.settings.training_enabled,
        "limits": {
            "title": MAX_TITLE,
            "answer": MAX_ANSWER,
            "question": MAX_QUESTION,
            "questions": MAX_QUESTIONS,
            "sources": MAX_SOURCES,
            "source_title": MAX_SOURCE_TITLE,
            "url": MAX_URL,
            "related": MAX_RELATED,
            "note": MAX_NOTE,
        },
    }


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None  # checked by PreviewIn


@router.post("/preview")
def preview_answer(body: PreviewIn, ctx: Context) -> dict[str, Any]:
    """The answer as the assistant would send it today, with its problems."""
    shown = preview.preview_answer(
        ctx.knowledge.knowledge(),
        body.answer,
        today=ctx.clock().date(),
        stand=_date(body.stand),
        valid_from=_date(body.valid_from),
        valid_to=_date(body.valid_to),
        offers_calculation=body.offers_calculation,
    )
    buttons = (
        [{"title": calculation_button(), "payload": "/instalment_calculation"}]
        if body.offers_calculation
        else []
    )
    return {"text": shown.text, "html": render_markdown(shown.text), "buttons": buttons,
            "problems": shown.problems}


@router.get("/placeholders")
def placeholders(ctx: Context) -> dict[str, Any]:
    """Facts and utility keys an answer may use, with their current values."""
    return preview.placeholders(ctx.knowledge.knowledge())


@router.get("/checks")
def checks(ctx: Context) -> dict[str, Any]:
    """The editorial checks of the published content (dates, sources, links, Markdown)."""
    with ctx.session() as session:
        docs = content.published_documents(session)
        results = overview.published_checks(
            session,
            ctx.settings.knowledge_dir,
            today=ctx.clock().date(),
            max_stand_age_days=ctx.settings.content_max_stand_age_days,
            site_paths=site_paths(),
        )
    return {
        "results": [
            {
                "code": r.code,
                "severity": r.severity,
                "topic_id": r.topic_id,
                "title": str((docs.get(r.topic_id) or {}).get("title") or r.topic_id),
                "message": r.message,
                "field": r.field,
            }
            for r in results
        ],
        "errors": sum(1 for r in results if r.severity == "error"),
        "warnings": sum(1 for r in results if r.severity == "warning"),
        "checked_at": iso(ctx.clock()),
    }


@router.get("/training")
def training(ctx: Context, limit: int = Query(10, ge=1, le=100)) -> dict[str, Any]:
    """The latest retraining runs and the one in progress."""
    with ctx.session() as session:
        runs = [training_out(run) for run in content.training_runs(session, limit=limit)]
    active = next((r for r in runs if r["state"] in ("queued", "training", "evaluating")), None)
    return {
        "enabled": ctx.settings.training_enabled,
        "runs": runs,
        "active": active,
        "labels": TRAINING_STATE_LABELS,
    }


@router.get("/audit")
def audit(
    ctx: Context,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
    target: str | None = Query(None, max_length=200),
) -> dict[str, Any]:
    """Who changed what, newest first."""
    with ctx.session() as session:
        entries = content.audit_log(session, limit=limit, offset=offset, target=target)
        return {"entries": audit_out(entries)}
