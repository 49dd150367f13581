"""The one Markdown renderer (bot/content/markdown.py): answers, agent messages and the editor's
preview become sanitised HTML on the server (issue 17, item 2).

What matters is checked by parsing the output, not by comparing text with another renderer:
which elements and attributes exist, where links point, that raw HTML stays text. The editors'
problem list (``markdown_problems``) is checked here too.
"""

from __future__ import annotations

import random
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.content.markdown import NEW_WINDOW, link_kind, markdown_problems, render_markdown

ALLOWED = {"p": set(), "br": set(), "ul": set(), "ol": {"start"}, "li": set(), "strong": set(),
           "em": set(), "a": {"href", "target", "rel"}, "span": {"class"}}
SAFE_HREF = ("https://", "http://", "mailto:", "tel:", "/", "#", "./", "../")


class Elements(HTMLParser):
    """The elements of an HTML fragment with their attributes, and its text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text += data

    def tags(self) -> list[str]:
        return [tag for tag, _ in self.elements]

    def links(self) -> list[dict[str, str | None]]:
        return [attrs for tag, attrs in self.elements if tag == "a"]


def assert_safe(html: str) -> Elements:
    parsed = Elements(html)
    for tag, attrs in parsed.elements:
        assert tag in ALLOWED, (tag, html)
        assert set(attrs) <= ALLOWED[tag], (tag, attrs, html)
        if tag == "span":
            assert attrs["class"] == "sr-only", html
    for link in parsed.links():
        href = link["href"] or ""
        assert href.startswith(SAFE_HREF) and not href.startswith("//"), html
        assert link["rel"] == "noopener noreferrer", html  # every link, also to this site
        assert link.get("target") in (None, "_blank"), html
    return parsed


def test_the_answers_markdown_becomes_html():
    html = render_markdown("Hallo **fett** und _kursiv_\nneue Zeile\n\n- eins\n- zwei\n\nEnde")
    parsed = assert_safe(html)
    assert parsed.tags() == ["p", "strong", "em", "br", "ul", "li", "li", "p"]
    assert parsed.text.replace("\n", "") == "Hallo fett und kursivneue ZeileeinszweiEnde"


def test_links_to_this_site_stay_here_and_external_ones_open_a_new_window():
    html = render_markdown("[Kontakt](/kontakt) und [BMWK](https://example.org/a_b?x=1&y=2)")
    site, external = assert_safe(html).links()
    assert site["href"] == "/kontakt" and "target" not in site
    assert external["href"] == "https://example.org/a_b?x=1&y=2"
    assert external["target"] == "_blank"
    assert NEW_WINDOW in html  # "(öffnet in neuem Fenster)" for screen readers
    mail, phone = assert_safe(render_markdown("[Mail](mailto:a@b.de) [Tel](tel:+49301234)")).links()
    assert (mail["href"], phone["href"]) == ("mailto:a@b.de", "tel:+49301234")


@pytest.mark.parametrize(
    "text",
    [
        "[x](javascript:alert`1`)", "[x](JaVaScRiPt:alert`1`)", "[x](jav&#x61;script:alert`1`)",
        "[x](data:text/html;base64,PHNjcmlwdD4=)", "[x](vbscript:msgbox)",
        "[x](//evil.example/)", "[x](https:/evil.example)", "[x](ftp://example.org/a)",
        "[x](file:///etc/passwd)",
    ],
)
def test_unsafe_link_targets_keep_their_words_and_lose_the_link(text):
    parsed = assert_safe(render_markdown(text))
    assert parsed.links() == [] and parsed.text == "x"


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('x')</script>", "<img src=x onerror=alert(1)>", "**<b>x</b>**",
        '<a href="javascript:alert(1)">x</a> <svg/onload=alert(1)> <iframe src=//evil>',
        '[<img src=x onerror=alert(1)>](/a) [x](/a"><script>alert(1)</script>)',
        "<!-- versteckt --> Text", "<style>body{display:none}</style>",
    ],
)
def test_raw_html_is_shown_as_text_never_run(text):
    html = render_markdown(text)
    parsed = assert_safe(html)
    assert not {"script", "img", "svg", "iframe", "b", "style"} & set(parsed.tags())
    assert "<" in parsed.text or "&lt;" in html  # the angle brackets are visible text


def test_attribute_breakout_is_impossible():
    for text in ('[x](/a"onmouseover="alert`1`)', "[x](/a'onmouseover='alert)",
                 '[x" onclick="y](/k)'):
        for _, attrs in assert_safe(render_markdown(text)).elements:
            assert not any(name.startswith("on") for name in attrs), text


def test_only_the_answers_subset_is_markdown():
    # An indented line is no code block, "# " no heading, an image no image, "---" no rule.
    parsed = assert_safe(render_markdown("    eingerückt\n# kein Titel\n![Bild](https://x/y.png)"
                                         "\n\n---\n\n> kein Zitat"))
    assert not {"pre", "code", "h1", "img", "hr", "blockquote"} & set(parsed.tags())
    assert "kein Titel" in parsed.text and "eingerückt" in parsed.text


def test_words_with_underscores_stay_words():
    assert render_markdown("faq_id und preis_bremse_neu") == "<p>faq_id und preis_bremse_neu</p>"
    assert render_markdown("") == ""


def test_random_text_only_yields_allowed_elements_and_safe_links():
    rng = random.Random(20261206)
    alphabet = [*"<>\"'&[]()*_-/\\:=#.\n\r\t ab1äß", "javascript:", "https://", "**", "- ",
                "](", "\u0000", "&#x61;", "<img ", "mailto:", "1. "]
    for _ in range(1500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80)))
        assert_safe(render_markdown(text))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_unicode_text_renders_safely(text):
    assert_safe(render_markdown(text))


def test_lone_surrogates_and_nul_do_not_break_rendering():
    assert render_markdown("a\ud800b **c\x00d** \U0001f600") == (
        "<p>a\ufffdb <strong>cd</strong> \U0001f600</p>")


def test_link_kinds():
    assert link_kind("https://example.org/x") == "external"
    assert link_kind("mailto:a@b.de") == link_kind("tel:+4930") == "contact"
    assert link_kind("/kontakt") == link_kind("#a") == link_kind("../x") == "relative"
    for url in ("//evil", "/\\evil", "javascript:x", "https://", "/a b", "", "data:x"):
        assert link_kind(url) is None, url


# ---- the editors' problem list ------------------------------------------------------------------

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
