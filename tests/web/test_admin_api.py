"""The admins' API: users with generated passwords, roles, deletion rules, four-eyes, audit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bot.chat import repository as chat_repo
from bot.content import repository as content
from bot.web.app import create_app
from tests.web.conftest import log_in


def users(client):
    return {u["username"]: u for u in client.get("/api/admin/users").json()["users"]}


def audit(client, limit=5):
    return client.get(f"/api/admin/audit?limit={limit}").json()["entries"]


def test_users_are_listed_without_password_hashes(admin_client, editor_client):
    data = admin_client.get("/api/admin/users").json()
    listed = {u["username"]: u for u in data["users"]}
    assert set(listed) == {"alex", "erik"}
    assert listed["erik"]["role_label"] == "Redaktion"
    assert data["me"] == listed["alex"]["id"]
    assert "password" not in str(data) and "argon2" not in str(data)


def test_created_user_logs_in_with_the_password_shown_once(ctx, admin_client):
    response = admin_client.post(
        "/api/admin/users", json={"username": "nina", "display_name": " Nina ", "role": "editor"}
    )
    assert response.status_code == 201, response.text
    data = response.json()
    assert data["user"]["display_name"] == "Nina"
    password = data["password"]
    assert len(password) >= 12
    assert "password" not in str(users(admin_client)["nina"])
    with TestClient(create_app(context=ctx)) as nina:
        assert log_in(nina, "nina", password).headers["location"] == "/editor/"
        assert nina.get("/api/editor/me").json()["user"]["role"] == "editor"
    entry = audit(admin_client)[0]
    assert (entry["action"], entry["actor"], entry["target"]) == (
        "user.create",
        "Alex",
        "user:nina",
    )
    assert password not in str(entry)


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"username": "Nina Müller", "display_name": "Nina", "role": "editor"},
            "username",
            "2 bis",
        ),
        ({"username": "nina", "display_name": "   ", "role": "editor"}, "display_name", "Anzeige"),
        ({"username": "nina", "display_name": "Nina", "role": "chef"}, "role", "Rolle"),
        ({"username": "n" * 65, "display_name": "Nina", "role": "agent"}, "username", "64"),
        ({"username": "nina", "display_name": "N" * 101, "role": "agent"}, "display_name", "100"),
        ({"display_name": "Nina", "role": "agent"}, "username", "fehlt"),
    ],
)
def test_create_user_refuses_bad_input_in_german(admin_client, body, field, message):
    response = admin_client.post("/api/admin/users", json=body)
    assert response.status_code == 422, response.text
    problems = {p["field"]: p["message"] for p in response.json()["problems"]}
    assert message in problems[field]


def test_duplicate_username_is_a_conflict(admin_client, editor_client):
    response = admin_client.post(
        "/api/admin/users", json={"username": "erik", "display_name": "E", "role": "agent"}
    )
    assert response.status_code == 409
    assert response.json()["detail"] == "Den Benutzernamen „erik“ gibt es schon."


def test_role_change_takes_effect_at_once(admin_client, editor_client):
    erik = users(admin_client)["erik"]
    assert editor_client.get("/api/editor/me").status_code == 200
    response = admin_client.patch(f"/api/admin/users/{erik['id']}", json={"role": "agent"})
    assert response.status_code == 200, response.text
    assert response.json()["changed"] == ["role"]
    # The role change ended Erik's sessions; logged in again, he has the new role only.
    assert editor_client.get("/api/editor/me").status_code == 401
    log_in(editor_client, "erik")
    assert editor_client.get("/api/editor/me").status_code == 403
    entry = audit(admin_client)[0]
    assert entry["action"] == "user.update"
    assert entry["detail"]["role"] == {"from": "editor", "to": "agent"}


def test_admin_cannot_demote_or_delete_themself(admin_client):
    me = users(admin_client)["alex"]
    demote = admin_client.patch(f"/api/admin/users/{me['id']}", json={"role": "editor"})
    assert demote.status_code == 409
    assert "eigene Rolle" in demote.json()["detail"]
    delete = admin_client.delete(f"/api/admin/users/{me['id']}")
    assert delete.status_code == 409
    assert delete.json()["detail"] == "Sie können sich nicht selbst löschen."
    renamed = admin_client.patch(f"/api/admin/users/{me['id']}", json={"display_name": "Alexa"})
    assert renamed.json()["user"]["display_name"] == "Alexa"


def test_the_last_admin_stays(ctx, admin_client, login_as):
    second = login_as("berta", "admin", "Berta")
    alex = users(admin_client)["alex"]
    assert second.patch(f"/api/admin/users/{alex['id']}", json={"role": "agent"}).status_code == 200
    berta = users(second)["berta"]
    # Berta is the only admin now; nobody (not even through another route) can remove her.
    with ctx.session() as session:
        assert chat_repo.agent_by_username(session=session, username="alex").role == "agent"
    assert second.delete(f"/api/admin/users/{berta['id']}").status_code == 409


def test_password_reset_replaces_the_old_password(ctx, admin_client, editor_client):
    erik = users(admin_client)["erik"]
    response = admin_client.post(f"/api/admin/users/{erik['id']}/password")
    assert response.status_code == 200, response.text
    password = response.json()["password"]
    with TestClient(create_app(context=ctx)) as client:
        page = client.get("/agent/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        old = client.post(
            "/agent/login",
            data={"username": "erik", "password": "geheim-123", "csrf_token": token},
            follow_redirects=False,
        )
        assert old.status_code == 401
        assert log_in(client, "erik", password).status_code == 303
    entry = audit(admin_client)[0]
    assert (entry["action"], entry["target"]) == ("user.password", "user:erik")
    assert password not in str(entry)


def test_delete_user_and_their_session_ends(admin_client, editor_client):
    erik = users(admin_client)["erik"]
    response = admin_client.delete(f"/api/admin/users/{erik['id']}")
    assert response.status_code == 204
    assert "erik" not in users(admin_client)
    assert editor_client.get("/api/editor/me").status_code == 401
    entry = audit(admin_client)[0]
    assert (entry["action"], entry["detail"]["display_name"]) == ("user.delete", "Erik")
    again = admin_client.delete(f"/api/admin/users/{erik['id']}")
    assert again.status_code == 404
    assert again.json()["detail"] == "Diesen Benutzer gibt es nicht (mehr)."


def test_agent_in_a_live_chat_is_not_deleted(ctx, client, admin_client, agent_client):
    conversation = client.post("/api/v1/conversations", json={}).json()["conversation_id"]
    client.post(f"/api/v1/conversations/{conversation}/messages", json={"text": "Mensch bitte"})
    claimed = agent_client.post(f"/api/v1/agent/conversations/{conversation}/claim")
    assert claimed.status_code == 200, claimed.text
    anna = users(admin_client)["anna"]
    response = admin_client.delete(f"/api/admin/users/{anna['id']}")
    assert response.status_code == 409
    assert "Anna betreut gerade noch Gespräche" in response.json()["detail"]


def test_four_eyes_switch_is_audited_and_used(ctx, admin_client, editor_client):
    assert admin_client.get("/api/admin/settings").json() == {"four_eyes": False}
    response = admin_client.put("/api/admin/settings/four-eyes", json={"enabled": True})
    assert response.status_code == 200
    assert response.json()["message"] == "Das Vier-Augen-Prinzip ist eingeschaltet."
    assert admin_client.get("/api/admin/settings").json() == {"four_eyes": True}
    assert editor_client.get("/api/editor/me").json()["four_eyes"] is True
    with ctx.session() as session:
        assert content.four_eyes(session) is True
    entry = audit(admin_client)[0]
    assert (entry["action"], entry["detail"]) == ("settings.four_eyes", {"enabled": True})
    bad = admin_client.put("/api/admin/settings/four-eyes", json={"enabled": "ja"})
    assert bad.status_code == 422
    assert bad.json()["problems"][0]["message"] == "Bitte ja oder nein (true/false) angeben."
    assert (
        editor_client.put("/api/admin/settings/four-eyes", json={"enabled": False}).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("patch", "/api/admin/users/99999999999999999999", {"role": "agent"}),
        ("patch", "/api/admin/users/abc", {"role": "agent"}),
        ("patch", "/api/admin/users/1", {"role": 5}),
        ("post", "/api/admin/users", [1, 2]),
        ("post", "/api/admin/users", {"username": None, "display_name": {}, "role": []}),
        ("put", "/api/admin/settings/four-eyes", None),
        ("delete", "/api/admin/users/-5", None),
    ],
)
def test_bad_admin_input_never_fails_with_500(admin_client, method, path, body):
    response = getattr(admin_client, method)(path, **({"json": body} if body is not None else {}))
    assert 400 <= response.status_code < 500, response.text
    assert isinstance(response.json()["detail"], str)


def test_login_sends_each_role_to_its_page(ctx, login_as):
    for username, role, home in (
        ("anna2", "agent", "/agent/"),
        ("erik2", "editor", "/editor/"),
        ("alex2", "admin", "/admin/"),
    ):
        client = login_as(username, role)
        assert log_in(client, username).headers["location"] == home, role
        assert client.get(home).status_code == 200, role
