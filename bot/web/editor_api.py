"""The editors' JSON API ``/api/editor/...`` (roles ``editor`` and ``admin``).

Editors keep the FAQ current here without a developer (issue 5): find topics, edit them as
drafts with a live preview, publish (or send for review with the four-eyes rule), compare
versions, roll back, act on the inbox of unanswered questions, and watch content checks,
retraining and the audit log. The content store (``bot.content.repository``) does the work;
this module checks input, maps errors and shapes JSON.

Access, CSRF, the body size limit and the German error answers come from ``bot.web.guard``
(401 without session, 403 for agents or without ``X-CSRF-Token`` on a change, 413, 422 with
``problems`` per field, 409 for edit conflicts and steps the state or the four-eyes rule
forbids, 404 for unknown ids). Published answers go live without retraining: the assistant's
store (``ctx.knowledge``) sees the new content generation within its check interval.

Routes (all JSON; ``{topic_id}`` is a topic's id, ``{revision_id}`` a draft's id)::

    GET  /api/editor/me                            user, four-eyes switch, measures, limits
    GET  /api/editor/topics?q=&measure=&expired=&low_feedback=&many_fallbacks=
    POST /api/editor/topics                        a new topic as a draft (201)
    GET  /api/editor/topics/{topic_id}             published document, open drafts, history
    POST /api/editor/topics/{topic_id}/drafts      save a draft (new, or revision_id to update)
    GET  /api/editor/topics/{topic_id}/diff?old=&new=   diff of two published versions
    POST /api/editor/topics/{topic_id}/rollback    publish an earlier version again
    GET  /api/editor/revisions/{revision_id}       one draft with its diff to the published one
    POST /api/editor/revisions/{revision_id}/submit    publish, or send for review (four-eyes)
    POST /api/editor/revisions/{revision_id}/approve   a second person publishes it
    POST /api/editor/revisions/{revision_id}/reject    back to the author, with a note
    POST /api/editor/revisions/{revision_id}/discard   throw a draft away
    GET  /api/editor/reviews                       drafts waiting for review, with diffs
    POST /api/editor/preview                       the answer as the assistant would send it
    GET  /api/editor/placeholders                  facts and utility keys with their values
    GET  /api/editor/checks                        editorial checks of the published content
    GET  /api/editor/inbox                         open inbox groups
    GET  /api/editor/inbox/items/{item_id}/excerpt the conversation around an item
    POST /api/editor/inbox/add-variant             items → a question variant of a topic
    POST /api/editor/inbox/start-topic             items → the first question of a new topic
    POST /api/editor/inbox/dismiss                 items → dismissed
    GET  /api/editor/training                      retraining runs (queued … live/rejected)
    GET  /api/editor/audit?limit=&offset=&target=  who changed what, newest first

Filters of the topic list: ``expired``: ``valid_to`` before today; ``low_feedback``: at least
:data:`LOW_FEEDBACK_MIN_VOTES` votes on the *published version*, of which at least
:data:`LOW_FEEDBACK_SHARE` thumbs down; ``many_fallbacks``: at least :data:`MANY_FALLBACKS`
open inbox items of the last :data:`RECENT_DAYS` days related to the topic (a thumbs down or a
handoff after its answer, or a fallback within :data:`FALLBACK_AFTER_ANSWER` messages after
its answer: the customer's follow-up was not understood).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Annotated, Any, Final

import yaml
from fastapi import APIRouter, Path, Query, Request
from pydantic import AfterValidator, BaseModel, Field, StrictBool, StrictStr, field_validator
from sqlalchemy import desc, func, select
from sqlalchemy.orm import Session

from bot.chat.models import Feedback, Message
from bot.content import inbox
from bot.content import repository as content
from bot.content.checks import CheckResult, run_checks
from bot.content.markdown import markdown_problems, render_markdown
from bot.content.models import ContentRevision, ContentTopic, InboxItem, TrainingRun
from bot.knowledge.errors import KnowledgeError
from bot.knowledge.model import FACETS, MEASURES, MIN_QUESTIONS, KnowledgeBase, Topic
from bot.knowledge.render import digits_outside_placeholders, format_fact, unknown_placeholders
from bot.knowledge.store import render_answer
from bot.nlu.normalize import fold
from bot.settings import REPO_ROOT
from bot.web import texts
from bot.web.context import WebContext
from bot.web.faq_page import MEASURE_HEADINGS
from bot.web.guard import actor_of, guarded_route, user_of
from bot.web.site import site_paths

logger = logging.getLogger(__name__)

EDITOR_ROLES: Final = ("editor", "admin")

# ---- size limits (the longest answer in knowledge/ has about 1,200 characters, the longest
# question 170, the largest topic 50 questions; the limits leave room and stop abuse) ----------
MAX_TITLE: Final = 200
MAX_ANSWER: Final = 6000
MAX_QUESTION: Final = 300
MAX_QUESTIONS: Final = 300
MAX_SOURCES: Final = 20
MAX_SOURCE_TITLE: Final = 300
MAX_URL: Final = 1000
MAX_RELATED: Final = 20
MAX_NOTE: Final = 500
MAX_QUERY: Final = 200
MAX_TOPIC_ID: Final = 64
MAX_ITEM_IDS: Final = inbox.MAX_GROUPED_ITEMS
MAX_ID: Final = 2**31 - 1  # ids and versions: larger numbers overflow the database's integers
MAX_HISTORY: Final = 200

# ---- topic list filters (module docstring) -----------------------------------------------------
# Three votes are the fewest that say more than one unhappy customer; 30 % thumbs down is about
# three times the share of the well-rated demo answers.
LOW_FEEDBACK_MIN_VOTES: Final = 3
LOW_FEEDBACK_SHARE: Final = 0.3
MANY_FALLBACKS: Final = 3
RECENT_DAYS: Final = 30
# A fallback this many messages after an answer is a follow-up to it (customer, bot, customer).
FALLBACK_AFTER_ANSWER: Final = 4
OPEN_STATES: Final = ("draft", "rejected", "pending")

REVISION_STATE_LABELS: Final = {
    "draft": "Entwurf",
    "pending": "Wartet auf Freigabe",
    "published": "Veröffentlicht",
    "rejected": "Zurückgewiesen",
    "discarded": "Verworfen",
}
TRAINING_STATE_LABELS: Final = {
    "queued": "In der Warteschlange",
    "training": "Training läuft",
    "evaluating": "Wird geprüft",
    "live": "Live",
    "rejected": "Abgelehnt",
    "failed": "Fehlgeschlagen",
}
AUDIT_LABELS: Final = {
    "conversation.export": "Gespräch exportiert (Datenschutz)",
    "conversation.delete": "Gespräch gelöscht (Datenschutz)",
    "draft.save": "Entwurf gespeichert",
    "draft.discard": "Entwurf verworfen",
    "publish": "Veröffentlicht",
    "review.request": "Zur Freigabe gesendet",
    "review.approve": "Freigegeben und veröffentlicht",
    "review.reject": "Zurückgewiesen",
    "rollback": "Auf frühere Version zurückgesetzt",
    "import": "Import aus knowledge/",
    "imported": "Geänderte Datei aus knowledge/ beim Start übernommen",
    "inbox.add": "Frage aus dem Posteingang übernommen",
    "inbox.new_topic": "Neues Thema aus dem Posteingang",
    "inbox.dismiss": "Posteingang: verworfen",
    "settings.four_eyes": "Vier-Augen-Prinzip umgestellt",
    "user.create": "Benutzer angelegt",
    "user.update": "Benutzer geändert",
    "user.password": "Passwort zurückgesetzt",
    "user.delete": "Benutzer gelöscht",
}
INBOX_KIND_LABELS: Final = {
    "fallback": "Nicht verstanden",
    "feedback": "Daumen runter",
    "handoff": "Weitergeleitet an Mitarbeitende",
}
_DATE: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TOPIC_ID: Final = content.TOPIC_ID
_PREVIEW_ID: Final = "vorschau"
DEFAULT_CALCULATION_BUTTON: Final = "Meinen Abschlag berechnen"


# ---- request bodies ------------------------------------------------------------------------------


def _date_or_none(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        if not _DATE.match(value):
            raise ValueError(value)
        date.fromisoformat(value)
    except ValueError:
        raise ValueError("Bitte ein gültiges Datum angeben (JJJJ-MM-TT).") from None
    return value


def _related_id(value: str) -> str:
    if len(value) > MAX_TOPIC_ID or not _TOPIC_ID.match(value):
        raise ValueError("Das ist keine Themenkennung.")
    return value


def _question(value: str) -> str:
    if len(value.strip()) > MAX_QUESTION:
        raise ValueError(f"Höchstens {MAX_QUESTION} Zeichen je Frage.")
    return " ".join(value.split())


def _item_id(value: int) -> int:
    if not 1 <= value <= MAX_ID:
        raise ValueError("Das ist keine Eintragsnummer.")
    return value


# German names of the facets and their values (issue 16: follow-ups), for the editor console.
FACET_LABELS = {"energy": "Energie", "audience": "Zielgruppe", "aspect": "Aspekt"}
FACET_VALUE_LABELS = {
    "strom": "Strom",
    "gas": "Gas",
    "waerme": "Fernwärme",
    "heizstrom": "Heizstrom/Wärmepumpe",
    "haushalt": "Haushalte",
    "mieter": "Mieter",
    "gewerbe": "Gewerbe/Firmen",
    "funktion": "Wie es funktioniert",
    "berechnung": "Berechnung",
    "zeitraum": "Zeitraum",
    "antrag": "Antrag",
    "abschlag": "Abschlag",
    "jahresabrechnung": "Jahresabrechnung",
    "steuer": "Steuer",
    "sparen": "Sparen",
    "grundpreis": "Grundpreis",
    "umzug": "Umzug/Wechsel",
    "missbrauch": "Missbrauch",
}

# List items checked one by one (a problem names the item: "Frage 3: ...").
RelatedId = Annotated[StrictStr, AfterValidator(_related_id)]
Question = Annotated[StrictStr, AfterValidator(_question)]
ItemId = Annotated[int, AfterValidator(_item_id)]


class SourceIn(BaseModel):
    """A source of an answer: title and address."""

    title: StrictStr = Field("", max_length=MAX_SOURCE_TITLE)
    url: StrictStr = Field("", max_length=MAX_URL)

    @field_validator("title", "url")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class TopicIn(BaseModel):
    """A topic's content as editors write it (drafts may be incomplete; publishing checks)."""

    title: StrictStr = Field("", max_length=MAX_TITLE)
    measure: StrictStr = Field("", max_length=40)
    valid_from: StrictStr | None = Field(None, max_length=10)
    valid_to: StrictStr | None = Field(None, max_length=10)
    stand: StrictStr | None = Field(None, max_length=10)
    answer: StrictStr = Field("", max_length=MAX_ANSWER)
    sources: list[SourceIn] = Field(default_factory=list, max_length=MAX_SOURCES)
    related: list[RelatedId] = Field(default_factory=list, max_length=MAX_RELATED)
    offers_calculation: StrictBool = False
    facets: dict[StrictStr, list[StrictStr]] = Field(default_factory=dict, max_length=len(FACETS))
    questions: list[Question] = Field(default_factory=list, max_length=MAX_QUESTIONS)

    @field_validator("valid_from", "valid_to", "stand")
    @classmethod
    def _dates(cls, value: str | None) -> str | None:
        return _date_or_none(value)

    @field_validator("facets")
    @classmethod
    def _facets(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        """Known facets with known values only; empty facets are dropped (general)."""
        cleaned = {}
        for name, values in value.items():
            if name not in FACETS:
                raise ValueError(f"Die Facette „{name}“ gibt es nicht.")
            unknown = [v for v in values if v not in FACETS[name]]
            if unknown:
                raise ValueError(
                    f"„{unknown[0]}“ ist kein Wert der Facette „{FACET_LABELS[name]}“."
                )
            if values:
                cleaned[name] = sorted(set(values))
        return cleaned

    @field_validator("measure")
    @classmethod
    def _measure(cls, value: str) -> str:
        value = value.strip()
        if value and value not in MEASURES:
            raise ValueError("Bitte einen Bereich aus der Liste wählen.")
        return value

    @field_validator("answer")
    @classmethod
    def _safe_markdown(cls, value: str) -> str:
        problems = markdown_problems(value)
        if problems:
            raise ValueError(" ".join(problems))
        return value.strip()

    @field_validator("questions")
    @classmethod
    def _drop_empty(cls, value: list[str]) -> list[str]:
        return [q for q in value if q]

    def document(self) -> dict[str, Any]:
        """The topic document (``bot.content.documents``) without id and version."""
        return {
            "title": self.title.strip(),
            "measure": self.measure,
            "valid_from": self.valid_from,
            "valid_to": self.valid_to,
            "stand": self.stand,
            "answer": self.answer,
            "sources": [{"title": s.title, "url": s.url} for s in self.sources],
            "related": list(dict.fromkeys(self.related)),
            "offers_calculation": self.offers_calculation,
            "facets": self.facets,
            "questions": self.questions,
        }


class DraftIn(TopicIn):
    """Save a draft: a new one, or ``revision_id`` to update one's own open draft.

    ``base_version`` is the published version the editor started from; when it is given and
    the topic has been published since, the save is refused (409) instead of silently basing
    the draft on content the editor never saw.
    """

    revision_id: int | None = Field(None, ge=1, le=MAX_ID)
    base_version: int | None = Field(None, ge=1, le=MAX_ID)


class NewTopicIn(TopicIn):
    """A new topic: its id (the permanent key of answers and training data) and content."""

    id: StrictStr = Field(..., min_length=1, max_length=MAX_TOPIC_ID)

    @field_validator("id")
    @classmethod
    def _topic_id(cls, value: str) -> str:
        value = value.strip()
        if not _TOPIC_ID.match(value):
            raise ValueError(
                "Nur Kleinbuchstaben ohne Umlaute, Ziffern und _, 3 bis 64 Zeichen, am Anfang "
                "ein Buchstabe (z. B. waermepumpe_tarif)."
            )
        return value


class RejectIn(BaseModel):
    """Send a pending draft back, saying why."""

    note: StrictStr = Field(..., min_length=1, max_length=MAX_NOTE)

    @field_validator("note")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Bitte schreiben Sie kurz, was geändert werden soll.")
        return value.strip()


class RollbackIn(BaseModel):
    """The published version to go back to."""

    version: int = Field(..., ge=1, le=MAX_ID)


class PreviewIn(BaseModel):
    """What the preview needs: the answer and the dates of the dated note."""

    answer: StrictStr = Field("", max_length=MAX_ANSWER)
    stand: StrictStr | None = Field(None, max_length=10)
    valid_from: StrictStr | None = Field(None, max_length=10)
    valid_to: StrictStr | None = Field(None, max_length=10)
    offers_calculation: StrictBool = False

    @field_validator("valid_from", "valid_to", "stand")
    @classmethod
    def _dates(cls, value: str | None) -> str | None:
        return _date_or_none(value)


class ItemsIn(BaseModel):
    """Inbox items to act on (usually a group's ``item_ids``)."""

    item_ids: list[ItemId] = Field(..., min_length=1, max_length=MAX_ITEM_IDS)


class AddVariantIn(ItemsIn):
    """Inbox items → a question variant of ``topic_id`` in the editor's wording ``text``."""

    topic_id: StrictStr = Field(..., min_length=1, max_length=MAX_TOPIC_ID)
    text: StrictStr = Field(..., min_length=1, max_length=MAX_QUESTION)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("Bitte geben Sie die Frage ein.")
        return value.strip()


# ---- JSON shapes ---------------------------------------------------------------------------------


def iso(when: datetime | None) -> str | None:
    """ISO 8601 in UTC with ``Z`` (``None`` stays ``None``)."""
    if when is None:
        return None
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def revision_out(rev: ContentRevision, *, data: bool = False) -> dict[str, Any]:
    """A revision as JSON (``data``: with the document)."""
    out: dict[str, Any] = {
        "id": rev.id,
        "topic_id": rev.topic_id,
        "state": rev.state,
        "state_label": REVISION_STATE_LABELS.get(rev.state, rev.state),
        "base_version": rev.base_version,
        "version": rev.version,
        "title": str((rev.data or {}).get("title") or rev.topic_id),
        "author": rev.author_name,
        "author_id": rev.author_id,
        "created_at": iso(rev.created_at),
        "updated_at": iso(rev.updated_at),
        "reviewer": rev.reviewer_name,
        "reviewed_at": iso(rev.reviewed_at),
        "published_at": iso(rev.published_at),
        "note": rev.note,
    }
    if data:
        out["data"] = dict(rev.data)
    return out


def training_out(run: TrainingRun) -> dict[str, Any]:
    """A training run as JSON, with its German state and reason."""
    return {
        "id": run.id,
        "state": run.state,
        "state_label": TRAINING_STATE_LABELS.get(run.state, run.state),
        "generation": run.generation,
        "requested_by": run.requested_by,
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "accuracy": run.accuracy,
        "live_accuracy": run.live_accuracy,
        "reason": run.reason,
    }


def audit_out(entries: Iterable[Any]) -> list[dict[str, Any]]:
    """Audit entries as JSON; a publication's diff is left out (the history shows it)."""
    out = []
    for entry in entries:
        detail = dict(entry.detail or {})
        has_diff = bool(detail.pop("diff", None))
        out.append(
            {
                "id": entry.id,
                "at": iso(entry.at),
                "actor": entry.actor_name,
                "action": entry.action,
                "action_label": AUDIT_LABELS.get(entry.action, entry.action),
                "target": entry.target,
                "detail": detail,
                "has_diff": has_diff,
            }
        )
    return out


@lru_cache(maxsize=1)
def calculation_button() -> str:
    """The title of the calculation button the assistant adds (``domain.yml``)."""
    try:
        domain = yaml.safe_load((REPO_ROOT / "domain.yml").read_text(encoding="utf-8"))
        variants = domain["responses"]["utter_option_offer_calculation"]
        return str(variants[0]["text"])
    except (OSError, yaml.YAMLError, KeyError, IndexError, TypeError):
        return DEFAULT_CALCULATION_BUTTON


# ---- queries -------------------------------------------------------------------------------------


def feedback_stats(session: Session) -> dict[tuple[str, int | None], tuple[int, int]]:
    """Thumbs up and down per (topic, content version)."""
    statement = select(
        Feedback.faq_id, Feedback.content_version, Feedback.helpful, func.count()
    ).group_by(Feedback.faq_id, Feedback.content_version, Feedback.helpful)
    stats: dict[tuple[str, int | None], tuple[int, int]] = {}
    for faq_id, version, helpful, count in session.execute(statement):
        up, down = stats.get((faq_id, version), (0, 0))
        stats[(faq_id, version)] = (up + count, down) if helpful else (up, down + count)
    return stats


def inbox_counts(session: Session, since: datetime) -> dict[str, int]:
    """Open inbox items since ``since`` related to each topic (module docstring)."""
    answered_before = (
        select(Message.faq_id)
        .where(
            Message.conversation_id == InboxItem.conversation_id,
            Message.sender == "bot",
            Message.faq_id.isnot(None),  # type: ignore[union-attr]
            # Columns (SQL expressions), not the ints mypy sees on the model.
            Message.seq < InboxItem.message_seq,  # type: ignore[operator]
            Message.seq >= InboxItem.message_seq - FALLBACK_AFTER_ANSWER,  # type: ignore[operator]
        )
        .order_by(desc(Message.seq))
        .limit(1)
        .correlate(InboxItem)
        .scalar_subquery()
    )
    statement = select(InboxItem.kind, InboxItem.faq_id, answered_before).where(
        InboxItem.state == "open", InboxItem.created_at >= since
    )
    counts: dict[str, int] = {}
    for kind, faq_id, previous in session.execute(statement):
        topic = faq_id or (previous if kind == "fallback" else None)
        if topic:
            counts[topic] = counts.get(topic, 0) + 1
    return counts


def _matches(doc: dict[str, Any], words: list[str]) -> bool:
    haystack = fold(
        " ".join(
            [str(doc.get("title") or ""), str(doc.get("answer") or ""), str(doc.get("id") or "")]
            + [str(q) for q in doc.get("questions") or []]
        )
    )
    return all(word in haystack for word in words)


def _published_version(session: Session, topic_id: str, version: int) -> ContentRevision:
    rev = (
        session.execute(
            select(ContentRevision)
            .where(
                ContentRevision.topic_id == topic_id,
                ContentRevision.state == "published",
                ContentRevision.version == version,
            )
            .order_by(desc(ContentRevision.id))
        )
        .scalars()
        .first()
    )
    if not isinstance(rev, ContentRevision):
        raise content.UnknownRevision(
            texts.UNKNOWN_VERSION.format(version=version, topic_id=topic_id)
        )
    return rev


# Fields a topic needs before it can be published, with what the editor is asked for. The
# loader stops at the first missing field; checking them all first lists them at once.
REQUIRED: Final = {
    "title": "Bitte einen Titel angeben.",
    "measure": "Bitte einen Bereich aus der Liste wählen.",
    "stand": "Bitte das Datum angeben, an dem die Antwort zuletzt geprüft wurde.",
    "answer": "Bitte eine Antwort schreiben.",
    "sources": "Bitte mindestens eine Quelle mit Titel und Adresse angeben.",
    "questions": f"Bitte mindestens {MIN_QUESTIONS} Fragevarianten angeben, eine pro Zeile.",
}


def missing_fields(doc: dict[str, Any]) -> list[str]:
    """``Feld 'x': …`` for every required field that is empty (``InvalidContent`` form)."""
    return [f"Feld '{name}': {message}" for name, message in REQUIRED.items() if not doc.get(name)]


def _preview_problems(answer: str, kb: KnowledgeBase) -> list[str]:
    problems = list(markdown_problems(answer))
    for bad in unknown_placeholders(answer, kb.facts, kb.utility):
        problems.append(
            f"Den Platzhalter {bad} gibt es nicht. Bitte einen Platzhalter aus der Liste einfügen."
        )
    for figure in digits_outside_placeholders(answer):
        problems.append(
            f"Die Zahl „{figure}“ muss als Platzhalter eingefügt werden (Liste „Platzhalter“), "
            "damit jede Zahl an einer Stelle gepflegt und geprüft wird."
        )
    return problems


# ---- the router ----------------------------------------------------------------------------------


def build_router(ctx: WebContext) -> APIRouter:
    """The editors' API bound to ``ctx``."""
    router = APIRouter(
        prefix="/api/editor",
        tags=["editor"],
        route_class=guarded_route(ctx, EDITOR_ROLES, texts.EDITOR_ONLY),
    )
    knowledge_dir = ctx.settings.knowledge_dir

    def today() -> date:
        return ctx.clock().date()

    topic_path = Path(..., min_length=1, max_length=MAX_TOPIC_ID)
    revision_path = Path(..., ge=1, le=MAX_ID)

    def own_open_revision(session: Session, revision_id: int, request: Request) -> None:
        """Refuse to change or submit someone else's draft (the four-eyes rule needs authors)."""
        rev = content.revision(session, revision_id)
        user = user_of(request)
        if rev.author_id is not None and rev.author_id != user.id:
            raise content.NotAllowed(texts.NOT_YOUR_DRAFT.format(name=rev.author_name))

    @router.get("/me")
    def me(request: Request) -> dict[str, Any]:
        user = user_of(request)
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

    @router.get("/topics")
    def topics(
        q: str = Query("", max_length=MAX_QUERY),
        measure: str = Query("", max_length=40),
        expired: bool = False,
        low_feedback: bool = False,
        many_fallbacks: bool = False,
    ) -> dict[str, Any]:
        day = today()
        since = ctx.clock() - timedelta(days=RECENT_DAYS)
        with ctx.session() as session:
            docs = content.published_documents(session)
            published_at = dict(
                session.execute(select(ContentTopic.id, ContentTopic.published_at)).all()
            )
            open_revs = content.open_revisions(session)
            votes = feedback_stats(session)
            related_items = inbox_counts(session, since)
        drafts: dict[str, list[ContentRevision]] = {}
        for rev in open_revs:
            drafts.setdefault(rev.topic_id, []).append(rev)
        items: list[dict[str, Any]] = []
        for topic_id in sorted(set(docs) | set(drafts)):
            published = topic_id in docs
            doc = docs.get(topic_id) or dict(drafts[topic_id][-1].data)
            version = doc.get("version") if published else None
            up, down = votes.get((topic_id, version), (0, 0)) if published else (0, 0)
            share = down / (up + down) if up + down else None
            valid_to = doc.get("valid_to")
            items.append(
                {
                    "id": topic_id,
                    "title": str(doc.get("title") or topic_id),
                    "measure": doc.get("measure"),
                    "measure_label": MEASURE_HEADINGS.get(str(doc.get("measure")), ""),
                    "published": published,
                    "version": version,
                    "published_at": iso(published_at.get(topic_id)),
                    "valid_from": doc.get("valid_from"),
                    "valid_to": valid_to,
                    "stand": doc.get("stand"),
                    "expired": bool(valid_to) and str(valid_to) < day.isoformat(),
                    "questions": len(doc.get("questions") or []),
                    "feedback": {"up": up, "down": down, "share_down": share},
                    "low_feedback": up + down >= LOW_FEEDBACK_MIN_VOTES
                    and share is not None
                    and share >= LOW_FEEDBACK_SHARE,
                    "inbox": related_items.get(topic_id, 0),
                    "many_fallbacks": related_items.get(topic_id, 0) >= MANY_FALLBACKS,
                    "drafts": sum(1 for r in drafts.get(topic_id, []) if r.state != "pending"),
                    "pending": sum(1 for r in drafts.get(topic_id, []) if r.state == "pending"),
                    "_doc": doc,
                }
            )
        total = len(items)
        words = fold(q).split()
        selected = [
            item
            for item in items
            if (not words or _matches(item["_doc"], words))
            and (not measure or item["measure"] == measure)
            and (not expired or item["expired"])
            and (not low_feedback or item["low_feedback"])
            and (not many_fallbacks or item["many_fallbacks"])
        ]
        for item in items:
            del item["_doc"]
        selected.sort(key=lambda item: fold(item["title"]))
        return {"topics": selected, "total": total, "today": day.isoformat()}

    @router.post("/topics", status_code=201)
    def new_topic(body: NewTopicIn, request: Request) -> dict[str, Any]:
        with ctx.session() as session:
            # An id is free again when every draft of it was discarded before publishing.
            taken = session.get(ContentTopic, body.id) is not None or any(
                rev.state != "discarded" for rev in content.history(session, body.id)
            )
            if taken:
                raise content.NotAllowed(texts.TOPIC_EXISTS.format(topic_id=body.id))
            rev = content.save_draft(
                session,
                topic_id=body.id,
                data=body.document(),
                actor=actor_of(request),
                now=ctx.clock(),
            )
            return {"revision": revision_out(rev, data=True)}

    @router.get("/topics/{topic_id}")
    def topic(request: Request, topic_id: str = topic_path) -> dict[str, Any]:
        with ctx.session() as session:
            row = session.get(ContentTopic, topic_id)
            revisions = content.history(session, topic_id)
            if row is None and not revisions:
                raise content.UnknownTopic(texts.UNKNOWN_TOPIC.format(topic_id=topic_id))
            votes = feedback_stats(session)
            four_eyes = content.four_eyes(session)
            version = row.version if row else None
            up, down = votes.get((topic_id, version), (0, 0)) if row else (0, 0)
            user = user_of(request)
            return {
                "topic_id": topic_id,
                "published": dict(row.data) if row else None,
                "version": version,
                "published_at": iso(row.published_at) if row else None,
                "drafts": [
                    {**revision_out(r, data=True), "own": r.author_id == user.id}
                    for r in revisions
                    if r.state in OPEN_STATES
                ],
                "history": [revision_out(r) for r in revisions[:MAX_HISTORY]],
                "feedback": {"up": up, "down": down},
                "four_eyes": four_eyes,
            }

    @router.post("/topics/{topic_id}/drafts")
    def save_draft(body: DraftIn, request: Request, topic_id: str = topic_path) -> dict[str, Any]:
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
                own_open_revision(session, body.revision_id, request)
            rev = content.save_draft(
                session,
                topic_id=topic_id,
                data=body.document(),
                actor=actor_of(request),
                revision_id=body.revision_id,
                now=ctx.clock(),
            )
            return {"revision": revision_out(rev, data=True)}

    @router.get("/topics/{topic_id}/diff")
    def version_diff(
        topic_id: str = topic_path,
        old: int = Query(..., ge=1, le=MAX_ID),
        new: int | None = Query(None, ge=1, le=MAX_ID),
    ) -> dict[str, Any]:
        with ctx.session() as session:
            current = content.published(session, topic_id)
            newer = new if new is not None else current.version
            before = _published_version(session, topic_id, old).data
            after = _published_version(session, topic_id, newer).data
            text = content.diff(
                before, after, old_label=f"Version {old}", new_label=f"Version {newer}"
            )
        return {"topic_id": topic_id, "old": old, "new": newer, "diff": text}

    @router.post("/topics/{topic_id}/rollback")
    def rollback(body: RollbackIn, request: Request, topic_id: str = topic_path) -> Any:
        with ctx.session() as session:
            rev = content.rollback(
                session,
                topic_id=topic_id,
                to_version=body.version,
                actor=actor_of(request),
                knowledge_dir=knowledge_dir,
                now=ctx.clock(),
            )
            out = revision_out(rev)
        return {
            "revision": out,
            "message": f"Auf Version {body.version} zurückgesetzt und als Version "
            f"{out['version']} veröffentlicht. Kunden sehen die Antwort in wenigen Sekunden.",
        }

    @router.get("/revisions/{revision_id}")
    def get_revision(revision_id: int = revision_path) -> dict[str, Any]:
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
    def submit(request: Request, revision_id: int = revision_path) -> dict[str, Any]:
        with ctx.session() as session:
            own_open_revision(session, revision_id, request)
            rev = content.revision(session, revision_id)
            missing = missing_fields(rev.data) if rev.state in ("draft", "rejected") else []
            if missing:
                raise content.InvalidContent(missing)
            current = session.get(ContentTopic, rev.topic_id)
            retrain = content.questions_changed(
                dict(current.data) if current else None, dict(rev.data)
            )
            rev = content.submit(
                session,
                revision_id=revision_id,
                actor=actor_of(request),
                knowledge_dir=knowledge_dir,
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
    def approve(request: Request, revision_id: int = revision_path) -> dict[str, Any]:
        with ctx.session() as session:
            rev = content.approve(
                session,
                revision_id=revision_id,
                actor=actor_of(request),
                knowledge_dir=knowledge_dir,
                now=ctx.clock(),
            )
            out = revision_out(rev)
        return {
            "revision": out,
            "message": f"„{out['title']}“ ist freigegeben und veröffentlicht "
            f"(Version {out['version']}).",
        }

    @router.post("/revisions/{revision_id}/reject")
    def reject(body: RejectIn, request: Request, revision_id: int = revision_path) -> Any:
        with ctx.session() as session:
            rev = content.reject(
                session,
                revision_id=revision_id,
                actor=actor_of(request),
                note=body.note,
                now=ctx.clock(),
            )
            out = revision_out(rev)
        return {
            "revision": out,
            "message": f"„{out['title']}“ ging mit Ihrer Begründung an {out['author']} zurück.",
        }

    @router.post("/revisions/{revision_id}/discard")
    def discard(request: Request, revision_id: int = revision_path) -> dict[str, Any]:
        with ctx.session() as session:
            if user_of(request).role != "admin":
                own_open_revision(session, revision_id, request)
            rev = content.discard(
                session, revision_id=revision_id, actor=actor_of(request), now=ctx.clock()
            )
            out = revision_out(rev)
        return {"revision": out, "message": "Der Entwurf wurde verworfen."}

    @router.get("/reviews")
    def reviews(request: Request) -> dict[str, Any]:
        user = user_of(request)
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

    @router.post("/preview")
    def preview(body: PreviewIn) -> dict[str, Any]:
        kb = ctx.knowledge.knowledge()
        day = today()
        problems = _preview_problems(body.answer, kb)
        template = body.answer
        for bad in unknown_placeholders(template, kb.facts, kb.utility):
            # Shown as text (and listed above): the preview still renders the rest.
            template = template.replace(bad, f"«unbekannter Platzhalter {bad[2:-2].strip()}»")
        if not body.stand:
            problems.append("Der Stand fehlt; die Vorschau zeigt das heutige Datum.")
        topic = Topic(
            id=_PREVIEW_ID,
            version=1,
            title="",
            measure="service",
            valid_from=date.fromisoformat(body.valid_from) if body.valid_from else None,
            valid_to=date.fromisoformat(body.valid_to) if body.valid_to else None,
            stand=date.fromisoformat(body.stand) if body.stand else day,
            answer=template,
            sources=(),
            related=(),
            questions=(),
            offers_calculation=body.offers_calculation,
        )
        # The assistant's own function on a knowledge base of just this topic: the preview is
        # the text a customer would get today, dated note included.
        single = replace(kb, topics={_PREVIEW_ID: topic})
        try:
            text = render_answer(single, _PREVIEW_ID, day).text
        except (KeyError, ValueError, TypeError) as exc:
            problems.append(f"Die Antwort lässt sich nicht darstellen: {exc}")
            text = ""
        buttons = (
            [{"title": calculation_button(), "payload": "/instalment_calculation"}]
            if body.offers_calculation
            else []
        )
        return {"text": text, "html": render_markdown(text), "buttons": buttons,
                "problems": problems}

    @router.get("/placeholders")
    def placeholders() -> dict[str, Any]:
        kb = ctx.knowledge.knowledge()
        facts = []
        for name in sorted(kb.facts):
            fact = kb.facts[name]
            is_date = isinstance(fact.value, date)
            styles = ["long", "month", "year"] if is_date else ["num"]
            facts.append(
                {
                    "name": name,
                    "placeholder": f"{{{{{name}}}}}",
                    "value": format_fact(fact),
                    "unit": fact.unit,
                    "formats": [
                        {
                            "placeholder": f"{{{{{name}:{style}}}}}",
                            "value": format_fact(fact, style),
                        }
                        for style in styles
                    ],
                }
            )
        utility = [
            {"key": key, "placeholder": f"{{{{utility.{key}}}}}", "value": str(value)}
            for key, value in sorted(kb.utility.items())
            if isinstance(value, (str, int, float)) and not isinstance(value, bool)
        ]
        return {"facts": facts, "utility": utility}

    @router.get("/checks")
    def checks() -> dict[str, Any]:
        day = today()
        results: list[CheckResult] = []
        with ctx.session() as session:
            docs = content.published_documents(session)
            try:
                kb: KnowledgeBase | None = content.knowledge_base(session, knowledge_dir)
            except KnowledgeError as exc:  # never expected: publishing validates
                kb = None
                results = [
                    CheckResult("invalid_content", "error", "", text, "content")
                    for text in exc.problems
                ]
        if kb is not None:
            results = run_checks(
                kb,
                today=day,
                max_stand_age_days=ctx.settings.content_max_stand_age_days,
                site_paths=site_paths(),
            )
            # Raw HTML and unsafe links, as `python -m bot check` reports them.
            results += [
                CheckResult("markdown", "error", t.id, p, "answer")
                for t in kb.topics.values()
                for p in markdown_problems(t.answer)
            ]
        out = [
            {
                "code": r.code,
                "severity": r.severity,
                "topic_id": r.topic_id,
                "title": str((docs.get(r.topic_id) or {}).get("title") or r.topic_id),
                "message": r.message,
                "field": r.field,
            }
            for r in results
        ]
        return {
            "results": out,
            "errors": sum(1 for r in results if r.severity == "error"),
            "warnings": sum(1 for r in results if r.severity == "warning"),
            "checked_at": iso(ctx.clock()),
        }

    @router.get("/inbox")
    def inbox_groups(limit: int = Query(50, ge=1, le=200)) -> dict[str, Any]:
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

    @router.get("/inbox/items/{item_id}/excerpt")
    def inbox_excerpt(item_id: int = Path(..., ge=1, le=MAX_ID)) -> dict[str, Any]:
        with ctx.session() as session:
            return {"item_id": item_id, "messages": inbox.excerpt(session, item_id)}

    @router.post("/inbox/add-variant")
    def inbox_add(body: AddVariantIn, request: Request) -> dict[str, Any]:
        with ctx.session() as session:
            rev = inbox.add_as_variant(
                session,
                item_ids=body.item_ids,
                topic_id=body.topic_id,
                text=body.text,
                actor=actor_of(request),
                knowledge_dir=knowledge_dir,
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

    @router.post("/inbox/start-topic")
    def inbox_start_topic(body: ItemsIn, request: Request) -> dict[str, Any]:
        with ctx.session() as session:
            question = inbox.start_topic(
                session, item_ids=body.item_ids, actor=actor_of(request), now=ctx.clock()
            )
        return {"question": question}

    @router.post("/inbox/dismiss")
    def inbox_dismiss(body: ItemsIn, request: Request) -> dict[str, Any]:
        with ctx.session() as session:
            count = inbox.dismiss(
                session, item_ids=body.item_ids, actor=actor_of(request), now=ctx.clock()
            )
        return {"dismissed": count, "message": f"{count} Einträge verworfen."}

    @router.get("/training")
    def training(limit: int = Query(10, ge=1, le=100)) -> dict[str, Any]:
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
        limit: int = Query(50, ge=1, le=200),
        offset: int = Query(0, ge=0, le=1_000_000),
        target: str | None = Query(None, max_length=200),
    ) -> dict[str, Any]:
        with ctx.session() as session:
            entries = content.audit_log(session, limit=limit, offset=offset, target=target)
            return {"entries": audit_out(entries)}

    return router
