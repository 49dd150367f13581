"""Cheap checks of the web front end, without a browser.

The templates render with Jinja2 (autoescape on, undefined variables are errors), each page of
the demo site embeds the chat widget exactly once, and the scripts write HTML only through the
one escaping helper.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = REPO_ROOT / "bot" / "web" / "templates"
STATIC = REPO_ROOT / "bot" / "web" / "static"

# template -> the data-page its widget tag must carry
SITE_PAGES = {
    "index.html": "start",
    "preisbremsen.html": "preisbremsen",
    "kontakt.html": "kontakt",
    "datenschutz.html": "datenschutz",
    "kundenportal.html": "kundenportal",
    "preise.html": "preise",
    "zaehlerstand.html": "zaehlerstand",
}
CONSOLE_PAGES = ["login.html", "agent.html"]
WIDGET_TAG = re.compile(r"<script\b[^>]*\bsrc=\"/static/widget\.js\"[^>]*>")
HOURS = "Mo–Fr 8–18 Uhr, Sa 9–13 Uhr"


@pytest.fixture(scope="module")
def env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
    )


@pytest.fixture(scope="module")
def utility() -> dict:
    return yaml.safe_load((REPO_ROOT / "knowledge" / "utility.yml").read_text(encoding="utf-8"))


def render(env: Environment, name: str, utility: dict, **extra) -> str:
    variables = {
        "utility": utility,
        "hours": HOURS,
        "brand_color": "#00587c",
        "page": name.removesuffix(".html"),
        "csrf_token": "csrf-sample-token",
        **extra,
    }
    return env.get_template(name).render(**variables)


def main_of(html: str) -> str:
    match = re.search(r"<main\b.*?</main>", html, re.S)
    assert match, "no <main>"
    return match.group(0)


def js_source(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [*SITE_PAGES, *CONSOLE_PAGES])
def test_template_renders_semantic_german_page(env, utility, name):
    html = render(env, name, utility)
    assert '<html lang="de"' in html
    assert '<a class="skip-link" href="#inhalt">' in html
    assert '<main id="inhalt"' in html
    for tag in ("<header", "<footer", "<h1"):
        assert tag in html, tag
    assert html.count("<h1") == 1


@pytest.mark.parametrize(("name", "page"), SITE_PAGES.items())
def test_site_page_embeds_the_widget_exactly_once(env, utility, name, page):
    html = render(env, name, utility)
    tags = WIDGET_TAG.findall(html)
    assert len(tags) == 1, tags
    assert f'data-page="{page}"' in tags[0]
    assert " defer" in tags[0]
    assert 'data-api=""' in tags[0]
    assert "<nav" in html


@pytest.mark.parametrize("name", CONSOLE_PAGES)
def test_console_pages_have_no_widget(env, utility, name):
    assert not WIDGET_TAG.search(render(env, name, utility))


def test_navigation_marks_the_current_page(env, utility):
    html = render(env, "preisbremsen.html", utility)
    assert f'<a href="{utility["preisbremsen_url"]}" aria-current="page">' in html
    assert html.count('aria-current="page"') == 1


def test_login_form_posts_with_csrf_field(env, utility):
    html = render(env, "login.html", utility)
    assert '<form class="form" method="post" action="/agent/login">' in html
    assert '<input type="hidden" name="csrf_token" value="csrf-sample-token">' in html
    assert 'name="username"' in html and 'name="password"' in html
    assert 'type="password"' in html
    assert 'role="alert"' not in html  # no error without one
    failed = render(env, "login.html", utility, error="Anmeldung fehlgeschlagen.", username="anna")
    assert '<p class="form-error" role="alert">Anmeldung fehlgeschlagen.</p>' in failed
    assert 'value="anna"' in failed


def test_console_carries_csrf_meta_and_its_script(env, utility):
    html = render(env, "agent.html", utility, agent={"display_name": "Anna", "username": "anna"})
    assert '<meta name="csrf-token" content="csrf-sample-token">' in html
    assert '<script src="/static/agent.js" defer></script>' in html
    assert "Angemeldet als <strong>Anna</strong>" in html
    ids = ("queue-list", "chat-log", "chat-input", "canned", "chat-handback", "chat-close")
    for element_id in (*ids, "tickets-body"):
        assert f'id="{element_id}"' in html, element_id


def test_contact_page_shows_phone_email_and_hours(env, utility):
    main = main_of(render(env, "kontakt.html", utility))
    assert utility["phone"] in main
    assert utility["email"] in main
    assert HOURS in main


def test_privacy_page_names_the_retention_period(env, utility):
    main = main_of(render(env, "datenschutz.html", utility))
    assert f"{utility['chat_retention_days']} Tage" in main
    assert "Chat beenden und löschen" in main


def test_preisbremsen_page_leaves_figures_to_the_assistant(env, utility):
    main = main_of(render(env, "preisbremsen.html", utility))
    text = re.sub(r"<[^>]+>", " ", main)
    assert not re.search(r"\d", text), "figures belong in knowledge/, not on the page"
    assert "Fragen Sie unseren Chat-Assistenten" in text


def test_templates_escape_their_data(env, utility):
    hostile = {
        **utility,
        "name": '<script>alert("x")</script>',
        "phone": '"><img src=x onerror=alert(1)>',
    }
    for name in [*SITE_PAGES, *CONSOLE_PAGES]:
        html = render(env, name, hostile)
        assert "<script>alert" not in html, name
        assert "<img src=x" not in html, name


@pytest.mark.parametrize("name", ["widget.js", "agent.js", "editor.js"])
def test_scripts_insert_only_the_servers_html_and_render_no_markdown(name):
    """Issue 17: one renderer, on the server (bot/content/markdown.py); the scripts insert its
    ``html`` in one place and have no Markdown code of their own."""
    source = js_source(name)
    writers = re.findall(
        r"\.(?:innerHTML|outerHTML)\s*\+?=|insertAdjacentHTML|document\.write", source
    )
    assert writers == [".innerHTML ="], writers
    helper = re.search(r"function setServerHtml\(el, html, text\) \{\s*(.*?)\s*\}\n", source,
                       re.S)
    assert helper, "setServerHtml missing"
    assert helper.group(1).split("\n") == [
        "if (typeof html === 'string') el.innerHTML = html;",
        "    else el.textContent = text || '';",
    ]
    for markdown_code in ("renderMarkdown", "escapeHtml", "\\*\\*", "linkKind", "<strong>"):
        assert markdown_code not in source, markdown_code
    assert "eval(" not in source and "new Function" not in source


def test_widget_follows_the_chat_api_contract():
    source = js_source("widget.js")
    for needle in (
        "'stadtwerk-chat-id'",
        "'/api/v1/conversations'",
        "'/api/v1/config'",
        "/messages?after=",
        "conv('/ws')",
        "conv('/feedback')",
        "conv('/callback')",
        "api('DELETE', conv())",
        "{ page: PAGE }",
        "'aria-live': 'polite'",
        "role: 'dialog'",
        "'aria-modal': 'false'",
        "'aria-expanded'",
    ):
        assert needle in source, needle
    # Agent calls carry the session cookie and the CSRF header.
    agent = js_source("agent.js")
    assert "credentials: 'same-origin'" in agent
    assert "'X-CSRF-Token': CSRF" in agent


def test_widget_stays_small_and_framework_free():
    source = js_source("widget.js")
    assert len(source.encode()) < 42_000  # readable source with comments; ~13 KB gzipped
    assert "import " not in source and "require(" not in source
    assert "http://" not in source.replace("http://www.w3.org/2000/svg", "")  # no CDN


def test_widget_css_respects_users_settings():
    css = (STATIC / "widget.css").read_text(encoding="utf-8")
    assert "@media (prefers-reduced-motion: no-preference)" in css
    assert "animation" not in css.split("@media (prefers-reduced-motion: no-preference)")[0]
    assert re.search(r":focus-visible \{\s*outline: 3px solid", css)
    assert "@media (max-width: 30rem)" in css
    assert not re.search(r"font-size:\s*\d+px", css), "font sizes in rem/em, for zoom"
