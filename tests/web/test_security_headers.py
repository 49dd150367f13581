"""Security headers on every answer, no inline script, no API docs or metrics for the public.

Through the real app (issue 15): the probe found no Content-Security-Policy, no frame
protection, inline scripts in the pages, and ``/docs``, ``/openapi.json`` and ``/metrics``
served to anyone in production.
"""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from bot.web.app import build_context, create_app
from bot.web.site import SITE_PAGES
from tests.web.conftest import OPEN

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def assert_protected(response) -> None:
    headers = response.headers
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, (response.url, name, headers.get(name))
    policy = headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'", policy
    assert directives["style-src"] == "'self'", policy
    assert directives["frame-ancestors"] == "'none'", policy
    assert directives["object-src"] == "'none'", policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


class InlineFinder(HTMLParser):
    """Collects what a strict Content-Security-Policy would block in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.blocked.append("inline <script>")
        if tag == "style":
            self.blocked.append("<style>")
        for name, value in attrs:
            if name.startswith("on"):
                self.blocked.append(f"{tag} {name}=")
            if name == "style":
                self.blocked.append(f"{tag} style=")
            if name in ("href", "src", "action") and (value or "").startswith("javascript:"):
                self.blocked.append(f"{tag} {name}=javascript:")


def inline_code(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.blocked


def test_every_page_has_the_headers_and_no_inline_code(client, login_as):
    staff = {"agent": login_as("anna", "agent"), "editor": login_as("erik", "editor"),
             "admin": login_as("alex", "admin")}
    pages = [(client, path) for path in [*SITE_PAGES, "/faq", "/agent/login"]]
    pages += [(staff["agent"], "/agent/"), (staff["editor"], "/editor/"),
              (staff["admin"], "/admin/"), (staff["admin"], "/admin/datenschutz"),
              (staff["agent"], "/editor/")]  # the 403 page
    for who, path in pages:
        response = who.get(path)
        assert response.status_code in (200, 403), (path, response.status_code)
        assert "text/html" in response.headers["content-type"]
        assert_protected(response)
        assert inline_code(response.text) == [], path


@pytest.mark.parametrize(
    "path",
    ["/health", "/api/v1/config", "/static/widget.js", "/static/site.css", "/brand.css",
     "/gibt-es-nicht", "/api/v1/conversations/unbekannt/messages", "/agent/"],
)
def test_every_other_answer_has_the_headers_too(client, path):
    response = client.get(path, follow_redirects=False)
    assert_protected(response)


def test_the_brand_colour_comes_from_a_stylesheet(client, ctx):
    response = client.get("/brand.css")
    assert response.headers["content-type"].startswith("text/css")
    assert ctx.utility["colors"]["primary"] in response.text


@pytest.fixture
def production(tmp_path, relay):
    from bot.settings import get_settings

    settings = dataclasses.replace(
        get_settings(), database_url=f"sqlite:///{tmp_path / 'prod.db'}", secret_key="p" * 40,
        demo=False, training_worker=False, trusted_proxies=("10.0.0.0/8",),
    )
    context = build_context(settings, relay=relay)
    context.clock = lambda: OPEN
    with TestClient(create_app(context=context)) as test_client:
        yield test_client


def test_production_serves_no_api_docs(production, client):
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        assert production.get(path).status_code == 404, path
    assert client.get("/openapi.json").status_code == 200  # the demo keeps them
    response = production.get("/")
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_production_metrics_only_for_direct_scrapes(production):
    assert production.get("/metrics").status_code == 200  # Prometheus, inside the cluster
    for headers in ({"X-Forwarded-For": "203.0.113.9"}, {"X-Forwarded-Proto": "https"},
                    {"Forwarded": "for=203.0.113.9"}):
        assert production.get("/metrics", headers=headers).status_code == 404, headers
