"""The public FAQ page: every published topic, exactly the chat's text, searchable without JS."""

from __future__ import annotations

import dataclasses
import html as html_lib
import re
from datetime import date

import pytest

from bot.content.markdown import render_markdown
from bot.knowledge.model import MEASURES, KnowledgeBase
from bot.knowledge.store import Answer, render_answer
from bot.web.faq_page import MEASURE_HEADINGS
from tests.web.conftest import OPEN

TODAY = OPEN.date()  # 23.11.2026 in Berlin as well


class StaticStore:
    """A knowledge store over a fixed KnowledgeBase (hostile content for the escaping tests)."""

    def __init__(self, kb: KnowledgeBase):
        self.kb = kb

    def knowledge(self) -> KnowledgeBase:
        return self.kb

    def answer(self, topic_id: str, today: date | None = None) -> Answer:
        return render_answer(self.kb, topic_id, today or date.today())


def articles(page: str) -> dict[str, str]:
    return dict(
        re.findall(r'<article class="faq-topic" id="([^"]+)".*?>(.*?)</article>', page, re.S)
    )


@pytest.fixture
def page(client):
    response = client.get("/faq")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def test_every_topic_appears_once_with_its_anchor(ctx, page):
    topics = ctx.knowledge.knowledge().topics
    assert sorted(articles(page)) == sorted(topics)
    for topic_id, topic in topics.items():
        assert page.count(f'id="{topic_id}"') == 1
        assert f'<h3 id="{topic_id}-titel">{html_lib.escape(topic.title, quote=False)}</h3>' in page


def test_answer_is_exactly_what_the_assistant_sends(ctx, page):
    found = articles(page)
    for topic_id in ctx.knowledge.knowledge().topics:
        answer = ctx.knowledge.answer(topic_id, TODAY)
        expected = f'<div class="faq-answer">{render_markdown(answer.text)}</div>'
        assert expected in found[topic_id], topic_id
    # The dated note is part of it: "Stand" everywhere, "ausgelaufen" for ended measures.
    assert "ausgelaufen" in found["gaspreisbremse"]
    assert "<em>Stand: " in found["kontakt_oeffnungszeiten"]


def test_topics_are_grouped_by_measure_under_german_headings(ctx, page):
    headings = re.findall(r'<h2 id="bereich-([a-z_]+)">([^<]+)</h2>', page)
    used = {t.measure for t in ctx.knowledge.knowledge().topics.values()}
    assert [m for m, _ in headings] == [m for m in MEASURES if m in used]
    for measure, heading in headings:
        assert html_lib.unescape(heading) == MEASURE_HEADINGS[measure]
    section = page.split('id="bereich-soforthilfe"')[1].split("</section>")[0]
    assert 'id="soforthilfe_ueberblick"' in section and 'id="gaspreisbremse"' not in section


def test_page_is_accessible_german_html(page):
    assert '<html lang="de"' in page
    assert page.count("<h1") == 1 and '<main id="inhalt"' in page
    assert '<form class="faq-search" role="search" method="get" action="/faq">' in page
    assert '<label for="faq-q">' in page and 'id="faq-q"' in page
    assert '<nav class="faq-toc" aria-label="Themenbereiche">' in page
    # Headings never skip a level: h1 -> h2 (groups) -> h3 (topics).
    levels = [int(n) for n in re.findall(r"<h([1-6])\b", page.split('<main id="inhalt"')[1])]
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    assert '<a href="/faq" aria-current="page">Häufige Fragen</a>' in page


def test_sources_are_listed_and_external_ones_open_safely(ctx, page):
    topic = ctx.knowledge.knowledge().topics["gaspreisbremse"]
    article = articles(page)["gaspreisbremse"]
    assert f"Quellen ({len(topic.sources)})" in article
    for source in topic.sources:
        assert html_lib.escape(source.title, quote=False) in article
        if source.url.startswith("http"):
            href = html_lib.escape(source.url)
            assert f'<a href="{href}" target="_blank" rel="noopener noreferrer">' in article


def test_search_filters_on_the_server(client):
    page = client.get("/faq", params={"q": "Mieter"}).text
    found = set(articles(page))
    assert {"preisbremse_mieter", "soforthilfe_mieter"} <= found
    assert "zaehlerstand_melden" not in found
    assert re.search(r'role="status">\d+ Themen passen zu „Mieter“', page)
    assert 'value="Mieter"' in page
    # Umlauts folded: "waerme", "warme" and "Wärme" find the same topics.
    results = [
        set(articles(client.get("/faq", params={"q": q}).text))
        for q in ("waerme", "warme", "Wärme")
    ]
    assert results[0] == results[1] == results[2] and "waermepreisbremse" in results[0]


def test_search_without_result_offers_the_chat_and_all_topics(client):
    page = client.get("/faq", params={"q": "Quantencomputer Raumfahrt"}).text
    assert not articles(page)
    assert "Keine passende Antwort gefunden" in page
    assert '<a href="/faq">alle Fragen</a>' in page


def test_long_or_hostile_queries_are_cut_and_escaped(client):
    response = client.get("/faq", params={"q": "<script>alert(1)</script>" + "x" * 500})
    assert response.status_code == 200
    assert "<script>alert(1)" not in response.text
    assert "&lt;script&gt;alert(1)" in response.text


def test_script_in_an_answer_is_escaped(ctx, client):
    kb = ctx.knowledge.knowledge()
    topic = dataclasses.replace(
        kb.topics["gaspreisbremse"],
        title='<img src=x onerror=alert("t")>',
        answer='<script>alert("x")</script> [klick](javascript:alert`y`) **fett**',
    )
    ctx.knowledge = StaticStore(dataclasses.replace(kb, topics={**kb.topics, topic.id: topic}))
    article = articles(client.get("/faq").text)["gaspreisbremse"]
    assert "<script>alert" not in article and "<img src=x" not in article
    assert (
        '<p>&lt;script&gt;alert("x")&lt;/script&gt; klick <strong>fett</strong></p>'
        in article
    )
    assert "javascript:" not in article
    assert (
        '<h3 id="gaspreisbremse-titel">&lt;img src=x onerror=alert(&#34;t&#34;)&gt;</h3>' in article
    )


def test_unsafe_source_urls_are_not_linked(ctx, client):
    kb = ctx.knowledge.knowledge()
    base = kb.topics["gaspreisbremse"]
    sources = (
        dataclasses.replace(base.sources[0], title="Böse Quelle", url="javascript:alert(1)"),
    )
    topic = dataclasses.replace(base, sources=sources)
    ctx.knowledge = StaticStore(dataclasses.replace(kb, topics={**kb.topics, topic.id: topic}))
    article = articles(client.get("/faq").text)["gaspreisbremse"]
    assert "<li>Böse Quelle</li>" in article
    assert "javascript:" not in article


def test_answers_follow_published_content(ctx, client):
    kb = ctx.knowledge.knowledge()
    topic = dataclasses.replace(kb.topics["mwst_ende"], answer="Neu formuliert: _bitte lesen_.")
    ctx.knowledge = StaticStore(dataclasses.replace(kb, topics={**kb.topics, topic.id: topic}))
    assert (
        "<p>Neu formuliert: <em>bitte lesen</em>.</p>"
        in articles(client.get("/faq").text)["mwst_ende"]
    )
