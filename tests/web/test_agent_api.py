"""The agent console API: login, permissions, claim, live chat, hand back, close."""

from __future__ import annotations

import pytest


def queued_conversation(client):
    cid = client.post("/api/v1/conversations").json()["conversation_id"]
    client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Gaspreisbremse?"})
    client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Ich will einen Menschen"})
    return cid


def test_full_handoff_cycle(client, agent_client, relay):
    cid = queued_conversation(client)
    [entry] = agent_client.get("/api/v1/agent/queue").json()["queue"]
    assert entry["conversation_id"] == cid and entry["position"] == 1
    assert entry["summary"]["topic"] == "gaspreisbremse"
    assert [t["sender"] for t in entry["summary"]["last_turns"]][:2] == ["customer", "bot"]

    assert agent_client.post(f"/api/v1/agent/conversations/{cid}/claim").json() == {
        "state": "agent"
    }
    joined = client.get(f"/api/v1/conversations/{cid}/messages").json()
    assert joined["state"] == "agent"
    assert joined["messages"][-1]["text"] == "Sie chatten jetzt mit Anna vom Kundenservice."

    sent = agent_client.post(
        f"/api/v1/agent/conversations/{cid}/messages",
        json={"text": "Hallo, ich bin Anna. Wie kann ich helfen?"},
    )
    assert sent.status_code == 200
    assert sent.json()["message"]["agent_name"] == "Anna"
    relayed = len(relay.sent)
    client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Mein Abschlag ist zu hoch"})
    assert len(relay.sent) == relayed  # the bot stays silent while the agent owns it
    detail = agent_client.get(f"/api/v1/agent/conversations/{cid}").json()
    assert detail["messages"][-1]["text"] == "Mein Abschlag ist zu hoch"

    assert agent_client.post(f"/api/v1/agent/conversations/{cid}/handback").json() == {
        "state": "bot"
    }
    answer = client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Gaspreisbremse?"})
    assert answer.json()["state"] == "bot"
    assert answer.json()["messages"][0]["faq_id"] == "gaspreisbremse"  # the bot answers again


def test_close_by_agent(client, agent_client):
    cid = queued_conversation(client)
    agent_client.post(f"/api/v1/agent/conversations/{cid}/claim")
    assert agent_client.post(f"/api/v1/agent/conversations/{cid}/close").json() == {
        "state": "closed"
    }
    assert client.get(f"/api/v1/conversations/{cid}/messages").json()["state"] == "closed"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/agent/queue"),
        ("get", "/api/v1/agent/canned"),
        ("get", "/api/v1/agent/tickets"),
        ("get", "/api/v1/agent/conversations/x"),
        ("post", "/api/v1/agent/conversations/x/claim"),
        ("post", "/api/v1/agent/conversations/x/handback"),
        ("post", "/api/v1/agent/conversations/x/close"),
    ],
)
def test_anonymous_gets_401(client, method, path):
    assert getattr(client, method)(path).status_code == 401


@pytest.mark.parametrize("path", ["/agent/", "/editor/", "/admin/"])
def test_anonymous_pages_redirect_to_login(client, path):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/agent/login"


def test_write_without_csrf_token_is_refused(client, agent_client):
    cid = queued_conversation(client)
    token = agent_client.headers.pop("X-CSRF-Token")
    assert agent_client.post(f"/api/v1/agent/conversations/{cid}/claim").status_code == 403
    agent_client.headers["X-CSRF-Token"] = token


def test_wrong_password_and_login_rate_limit(client, agent_client):
    statuses = []
    for _ in range(6):
        page = client.get("/agent/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post(
            "/agent/login", data={"username": "anna", "password": "falsch", "csrf_token": token}
        )
        statuses.append(response.status_code)
    forged = client.post(
        "/agent/login", data={"username": "anna", "password": "x", "csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert statuses[:5] == [401] * 5 and statuses[5] == 429


def test_second_agent_cannot_take_a_claimed_conversation(client, agent_client, ctx):
    from fastapi.testclient import TestClient

    from bot.web.app import create_app
    from bot.web.users import set_user

    cid = queued_conversation(client)
    agent_client.post(f"/api/v1/agent/conversations/{cid}/claim")
    with ctx.session() as session:
        set_user(
            session=session, username="ben", role="agent", display_name="Ben", password="geheim-456"
        )
    with TestClient(create_app(context=ctx)) as ben:
        page = ben.get("/agent/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        ben.post(
            "/agent/login", data={"username": "ben", "password": "geheim-456", "csrf_token": token}
        )
        csrf = ben.get("/agent/").text.split('name="csrf-token" content="')[1].split('"')[0]
        response = ben.post(
            f"/api/v1/agent/conversations/{cid}/claim", headers={"X-CSRF-Token": csrf}
        )
        assert response.status_code == 409


def test_agent_messages_are_masked_too(client, agent_client, ctx):
    from sqlalchemy import text

    cid = queued_conversation(client)
    agent_client.post(f"/api/v1/agent/conversations/{cid}/claim")
    agent_client.post(
        f"/api/v1/agent/conversations/{cid}/messages",
        json={"text": "Ihre IBAN DE89370400440532013000 ist hinterlegt."},
    )
    with ctx.session() as session:
        stored = " ".join(session.execute(text("select text from messages")).scalars())
    assert "DE89370400440532013000" not in stored


def test_agent_endpoints_bad_inputs(client, agent_client):
    cid = queued_conversation(client)
    assert agent_client.post("/api/v1/agent/conversations/nope/claim").status_code == 404
    assert agent_client.get("/api/v1/agent/conversations/nope").status_code == 404
    assert agent_client.post("/api/v1/agent/conversations/nope/handback").status_code == 404
    # Writing to a conversation the agent has not claimed is refused with a reason.
    refused = agent_client.post(f"/api/v1/agent/conversations/{cid}/messages", json={"text": "Hi"})
    assert refused.status_code == 409 and refused.json()["detail"]
    agent_client.post(f"/api/v1/agent/conversations/{cid}/claim")
    url = f"/api/v1/agent/conversations/{cid}/messages"
    for body in [{"text": ""}, {"text": "   "}, {"text": "x" * 2001}, {"text": 7}, {}]:
        assert agent_client.post(url, json=body).status_code == 422, body
    malformed = agent_client.post(
        url, content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 422
    assert agent_client.get("/api/v1/agent/canned").json()[0]["title"]
