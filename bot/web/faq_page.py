"""The public FAQ page ``/faq``: every topic as the assistant answers it, grouped by measure.

The answers come from ``ctx.knowledge`` (the editors' published content, the same store the
assistant answers from) through ``render_answer``, so the page shows exactly the chat's text,
dated note included, rendered with the chat's safe Markdown (``bot.content.markdown``). Each topic
has the anchor ``#<topic id>``; ``?q=`` filters on the server, so the search needs no script.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup

from bot.content.markdown import NEW_WINDOW, link_kind, render_markdown
from bot.knowledge.model import MEASURES, KnowledgeBase, Topic
from bot.knowledge.store import render_answer
from bot.nlu.normalize import question_key
from bot.web import deps
from bot.web.pages import page_variables, templates
from bot.web.site import FAQ_PATH

logger = logging.getLogger(__name__)

# Longer search texts are cut, not refused: a web page should not answer 422.
MAX_QUERY_LENGTH = 200

# German headings of the groups, in the order of MEASURES (knowledge/README.md).
MEASURE_HEADINGS = {
    "preisbremsen": "Strom-, Gas- und Wärmepreisbremse",
    "soforthilfe": "Dezember-Soforthilfe",
    "mwst": "Mehrwertsteuer auf Gas und Fernwärme",
    "umlagen": "Gasumlagen",
    "staatliche_hilfen": "Weitere staatliche Hilfen",
    "abschlag_rechnung": "Abschlag, Rechnung und Preise",
    "service": "Service und Kontakt",
}
OTHER_HEADING = "Weitere Themen"


@dataclass(frozen=True)
class SourceLink:
    """A source as the page lists it; ``href`` is ``None`` when the URL is not safe to link."""

    title: str
    href: str | None
    external: bool


@dataclass(frozen=True)
class FaqEntry:
    """One topic on the page."""

    id: str
    title: str
    html: Markup
    sources: tuple[SourceLink, ...]
    related: tuple[tuple[str, str], ...]  # (topic id, title)


@dataclass(frozen=True)
class FaqGroup:
    """The topics of one measure, under one heading."""

    measure: str
    heading: str
    entries: tuple[FaqEntry, ...]

    @property
    def anchor(self) -> str:
        """The id of the group's heading (never equal to a topic id, which has no hyphen)."""
        return f"bereich-{self.measure}"


def _search_forms(text: str) -> str:
    """``text`` folded two ways, so "Wärme", "waerme" and "warme" all find "Wärme"."""
    folded = question_key(text)
    bare = "".join(
        c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c)
    )
    return f"{folded} {question_key(bare)}"


def matches(query: str, topic: Topic, answer_text: str, heading: str) -> bool:
    """Whether every word of ``query`` occurs in the topic (title, questions, answer, group)."""
    words = question_key(query).split()
    if not words:
        return True
    haystack = _search_forms(" ".join([topic.title, heading, answer_text, *topic.questions]))
    return all(word in haystack for word in words)


def _source_link(title: str, url: str) -> SourceLink:
    kind = link_kind(url)
    safe = kind == "external" or (kind == "relative" and url.startswith("/"))
    return SourceLink(title=title, href=url if safe else None, external=kind == "external")


def _ordered(topics: Iterable[Topic]) -> list[Topic]:
    """Overviews first, then by title (umlauts sorted like their base letter)."""
    return sorted(topics, key=lambda t: (not t.id.endswith("_ueberblick"), question_key(t.title)))


def faq_groups(kb: KnowledgeBase, today: date, query: str = "") -> list[FaqGroup]:
    """The page's content: groups in the order of ``MEASURES``, only topics matching ``query``."""
    titles = {topic_id: topic.title for topic_id, topic in kb.topics.items()}
    order = {measure: i for i, measure in enumerate(MEASURES)}
    by_measure: dict[str, list[FaqEntry]] = {}
    for topic in _ordered(kb.topics.values()):
        heading = MEASURE_HEADINGS.get(topic.measure, OTHER_HEADING)
        try:
            answer = render_answer(kb, topic.id, today)
        except (KeyError, ValueError):  # published content is validated; never fail the page
            logger.exception("FAQ page: topic %s cannot be rendered", topic.id)
            continue
        if not matches(query, topic, answer.text, heading):
            continue
        by_measure.setdefault(topic.measure, []).append(
            FaqEntry(
                id=topic.id,
                title=topic.title,
                html=Markup(render_markdown(answer.text)),  # escaped, then a few tags
                sources=tuple(_source_link(s.title, s.url) for s in topic.sources),
                related=tuple((r, titles[r]) for r in answer.related if r in titles),
            )
        )
    return [
        FaqGroup(measure, MEASURE_HEADINGS.get(measure, OTHER_HEADING), tuple(entries))
        for measure, entries in sorted(
            by_measure.items(), key=lambda item: (order.get(item[0], len(order)), item[0])
        )
    ]


router = APIRouter(include_in_schema=False)


@router.get(FAQ_PATH, response_class=HTMLResponse)
def faq(request: Request, ctx: deps.Context, q: str | None = None) -> Response:
    """The page (a worker thread: the published content may come from the database)."""
    query = " ".join((q or "").split())[:MAX_QUERY_LENGTH]
    today = ctx.clock().astimezone(ctx.hours.zone).date()
    kb = ctx.knowledge.knowledge()
    groups = faq_groups(kb, today, query)
    variables = page_variables(
        ctx,
        request,
        "faq",
        query=query,
        groups=groups,
        shown=sum(len(g.entries) for g in groups),
        total=len(kb.topics),
        new_window=Markup(NEW_WINDOW),
    )
    return templates.TemplateResponse(request, "faq.html", variables)
