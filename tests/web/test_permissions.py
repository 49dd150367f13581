"""The permission matrix: every editor and admin route, tried as anonymous, agent, editor, admin.

The routes are read from ``app.routes``, so a route added later is covered without touching this
file. Path parameters get harmless values (an existing topic, ids that do not exist), bodies are
empty JSON objects: what matters is who gets past the door, not what happens behind it.

Expected (issue 5, shared/contracts.md §4):

===========  =====================================  ====================================
who          /editor/…, /api/editor/…               /admin/…, /api/admin/…
===========  =====================================  ====================================
anonymous    401 (API) or 303 to the login (page)   same
agent        403                                    403
editor       allowed (never 401/403/5xx)            403
admin        allowed                                allowed
===========  =====================================  ====================================

And every state-changing request (POST, PUT, PATCH, DELETE) of a logged-in editor or admin
without the CSRF header, or with a wrong one, gets 403.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from bot.web.app import create_app

PREFIXES = ("/editor", "/admin", "/api/editor", "/api/admin")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
# Values for path parameters: an existing topic; ids far beyond anything the test creates (so
# an admin's DELETE of a user never hits a real one).
PARAMS = {"topic_id": "gaspreisbremse", "revision_id": "987654", "item_id": "987654"}
DEFAULT_PARAM = "987654"
LOGIN = "/agent/login"
CSRF_FAILED = "Die Sitzung ist abgelaufen. Bitte laden Sie die Seite neu."


def _flat(routes):
    """Routes of included routers too (FastAPI >= 0.120 keeps each included router as one entry
    holding its ``original_router``; our routers carry their prefix themselves)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        yield from _flat(included.routes) if included is not None else (route,)


def staff_routes(app):
    """(method, path template) of every route under the editor and admin prefixes."""
    found = []
    for route in _flat(app.routes):
        if not isinstance(route, APIRoute) or not route.path.startswith(PREFIXES):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, route.path))
    return found


def concrete(path):
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: PARAMS.get(m.group(1), DEFAULT_PARAM), path)


def is_admin_area(path):
    return path.startswith(("/admin", "/api/admin"))


def is_page(path):
    return not path.startswith("/api/")


def call(client, method, path, **kwargs):
    if method in STATE_CHANGING:
        kwargs.setdefault("json", {})
    return client.request(method, concrete(path), follow_redirects=False, **kwargs)


@pytest.fixture
def routes(ctx):
    found = staff_routes(create_app(context=ctx))
    # The matrix is only worth something if it sees the routes: a few known ones must be there.
    for expected in (
        ("GET", "/editor/"),
        ("GET", "/admin/"),
        ("GET", "/api/editor/topics"),
        ("POST", "/api/editor/revisions/{revision_id}/submit"),
        ("POST", "/api/editor/revisions/{revision_id}/approve"),
        ("POST", "/api/editor/topics/{topic_id}/rollback"),
        ("POST", "/api/editor/inbox/add-variant"),
        ("POST", "/api/admin/users"),
        ("DELETE", "/api/admin/users/{user_id}"),
        ("PUT", "/api/admin/settings/four-eyes"),
    ):
        assert expected in found, expected
    assert len(found) >= 30
    return found


@pytest.fixture
def users(ctx, login_as, client):
    return {
        "anonymous": client,
        "agent": login_as("anna", "agent", "Anna"),
        "editor": login_as("erik", "editor", "Erik"),
        "admin": login_as("alex", "admin", "Alex"),
    }


def test_anonymous_never_gets_a_page_or_data(routes, users):
    client = users["anonymous"]
    for method, path in routes:
        response = call(client, method, path)
        assert response.status_code != 200, (method, path)
        if is_page(path):
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"] == LOGIN, (method, path)
        else:
            assert response.status_code == 401, (method, path, response.status_code)
            assert response.json() == {"detail": "Bitte melden Sie sich an."}


def test_anonymous_with_a_broken_body_still_only_learns_to_log_in(routes, users):
    client = users["anonymous"]
    for method, path in routes:
        if method not in STATE_CHANGING:
            continue
        response = client.request(
            method,
            concrete(path),
            content=b"{kaputt",
            headers={"Content-Type": "application/json"},
            follow_redirects=False,
        )
        assert response.status_code == 401, (method, path, response.status_code)


def test_agents_are_refused_everywhere(routes, users):
    client = users["agent"]
    for method, path in routes:
        response = call(client, method, path)
        assert response.status_code == 403, (method, path, response.status_code)
        if is_page(path):
            assert "Keine Berechtigung" in response.text
        else:
            assert (
                "Berechtigung" in response.json()["detail"]
                or "Bereich" in response.json()["detail"]
            )


def test_editors_use_the_editor_area_but_not_the_admin_area(routes, users):
    client = users["editor"]
    for method, path in routes:
        response = call(client, method, path)
        if is_admin_area(path):
            assert response.status_code == 403, (method, path, response.status_code)
        else:
            assert response.status_code not in (401, 403), (method, path, response.text)
            assert response.status_code < 500, (method, path, response.text)


def test_admins_use_both_areas(routes, users):
    client = users["admin"]
    for method, path in routes:
        response = call(client, method, path)
        assert response.status_code not in (401, 403), (method, path, response.text)
        assert response.status_code < 500, (method, path, response.text)


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_state_changing_requests_need_the_csrf_token(routes, users, role):
    client = users[role]
    good = client.headers["X-CSRF-Token"]
    checked = 0
    for method, path in routes:
        if method not in STATE_CHANGING or (role == "editor" and is_admin_area(path)):
            continue
        checked += 1
        for token in (None, "falsch", good[:-1]):
            del client.headers["X-CSRF-Token"]
            if token is not None:
                client.headers["X-CSRF-Token"] = token
            try:
                response = call(client, method, path)
            finally:
                client.headers["X-CSRF-Token"] = good
            assert response.status_code == 403, (role, method, path, token, response.text)
            assert response.json()["detail"] == CSRF_FAILED
    assert checked >= 10


def test_a_token_of_another_session_does_not_fit(ctx, routes, users):
    erik, alex = users["editor"], users["admin"]
    with TestClient(create_app(context=ctx)) as thief:
        thief.cookies.set("agent_session", erik.cookies["agent_session"])
        thief.headers["X-CSRF-Token"] = alex.headers["X-CSRF-Token"]
        response = thief.post("/api/editor/preview", json={"answer": "x"})
        assert response.status_code == 403
        thief.headers["X-CSRF-Token"] = erik.headers["X-CSRF-Token"]
        assert thief.post("/api/editor/preview", json={"answer": "x"}).status_code == 200


def test_pages_carry_the_csrf_token_and_are_not_cached(users):
    for role, path in (("editor", "/editor/"), ("admin", "/admin/"), ("admin", "/editor/")):
        client = users[role]
        response = client.get(path)
        assert response.status_code == 200
        assert (
            f'<meta name="csrf-token" content="{client.headers["X-CSRF-Token"]}">' in response.text
        )
        assert response.headers["cache-control"] == "no-store"
    forbidden = users["editor"].get("/admin/")
    assert forbidden.status_code == 403
    assert 'name="csrf-token"' not in forbidden.text
