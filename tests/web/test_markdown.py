"""Server-side safe Markdown (bot/web/markdown.py) without node, and the editors' problem list.

That the Python output equals the widget's for every case is test_markdown_js.py's job.
"""

from __future__ import annotations

import pytest

from bot.web.markdown import link_kind, markdown_problems, render_markdown
from tests.web.test_markdown_js import CASES, UNSAFE_LINKS


@pytest.mark.parametrize(("text", "expected"), CASES.items())
def test_known_cases_render_like_the_widget_expects(text, expected):
    assert render_markdown(text) == expected


@pytest.mark.parametrize("text", UNSAFE_LINKS)
def test_unsafe_link_targets_stay_text(text):
    assert render_markdown(text) == "<p>x</p>"


def test_link_kinds():
    assert link_kind("https://example.org/x") == "external"
    assert link_kind("/kontakt") == link_kind("#a") == link_kind("../x") == "relative"
    for url in ("//evil", "/\\evil", "javascript:x", "httpſ://evil", "https://", "/a b", ""):
        assert link_kind(url) is None, url


@pytest.mark.parametrize(
    "text",
    [
        "Normaler **Text** mit _Betonung_ und Liste:\n- eins\n- zwei",
        "Links: [Kontakt](/kontakt), [oben](#top), [BMWK](https://www.bmwk.de/x_y?a=1&b=2)",
        "[Mail](mailto:service@example.org) und [Anruf](tel:08001234567)",
        "Platzhalter: [Kontakt]({{utility.contact_url}}) und [Portal]({{ utility.portal_url }})",
        "Vergleiche: weniger als 5 < 7, und <Kundennummer> bitte nicht im Chat angeben.",
    ],
)
def test_clean_answers_have_no_problems(text):
    assert markdown_problems(text) == []


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("<script>alert('x')</script>", "„<script>“"),
        ('Bild: <img src="x" onerror="alert(1)">', "„<img>“"),
        ('<a href="/kontakt">Kontakt</a>', "„<a>“"),
        ("Zeile<br>Zeile", "„<br>“"),
        ("<kundennummer data-x=1>", "„<kundennummer>“"),  # attributes: HTML, whatever the name
        ("Text <!-- intern --> Text", "HTML-Kommentare"),
        ("[klick](javascript:alert(1))", "javascript:-Links"),
        ("[klick](JaVaScRiPt:alert`1`)", "javascript:-Links"),
        ("[klick](jav&#x61;script:alert`1`)", "javascript:-Links"),
        ("[klick](data:text/html;base64,PHNjcmlwdD4=)", "data:-Links"),
        ("[klick](vbscript:msgbox)", "vbscript:-Links"),
        ("[klick](ftp://example.org/datei)", "„ftp:“"),
        ("[klick](https:/example.org)", "keine gültige Webadresse"),
        ("[klick](//evil.example/)", "kein Pfad auf unserer Website"),
        ("[klick](kontakt)", "kein Pfad auf unserer Website"),
        ("[klick](./kontakt)", "kein Pfad auf unserer Website"),
        ("[klick]()", "kein Ziel"),
    ],
)
def test_problems_are_reported_in_german(text, needle):
    problems = markdown_problems(text)
    assert len(problems) == 1, problems
    assert needle in problems[0]


def test_each_problem_is_reported_once():
    text = "<b>a</b> <b>b</b> [x](javascript:a) [y](javascript:a) <i>c</i>"
    assert len(markdown_problems(text)) == 3
