"""Never a 500 (issue 15): hostile input to the chat and agent APIs gets a 4xx with a reason.

Each case is what the adversarial probe sent (lone surrogates in a message, a callback and a
button title; a NUL; ``?after=`` and ``content_version`` beyond any integer column; deep
nesting; a 10 MB body), through the real app on SQLite and on PostgreSQL (PostgreSQL refuses
NUL in a text, SQLite stores it; UTF-8 cannot encode a lone surrogate).
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from bot.web.request_limits import body_limit
from bot.web.users import set_user
from tests.web.conftest import log_in

SURROGATE = '"a\\ud800"'  # a lone surrogate as JSON writes it
NUL = '"a\\u0000b"'


def raw(client, method, path, body: str | bytes, **headers):
    content = body.encode() if isinstance(body, str) else body
    return client.request(method, path, content=content,
                          headers={"Content-Type": "application/json", **headers})


@pytest.fixture(params=["sqlite", "postgresql"])
def on(request):
    """The web app with its database on SQLite, or on the local PostgreSQL."""
    prefix = "" if request.param == "sqlite" else "pg_"
    return SimpleNamespace(client=request.getfixturevalue(f"{prefix}client"),
                           ctx=request.getfixturevalue(f"{prefix}ctx"))


@pytest.fixture
def hostile_client(on):
    return on.client


def start(client) -> str:
    response = client.post("/api/v1/conversations")
    assert response.status_code == 201, response.text
    return str(response.json()["conversation_id"])


@pytest.mark.parametrize("field", ["text", "payload", "title"])
@pytest.mark.parametrize("value", [SURROGATE, NUL, '"\\udc80\\ud800"'])
def test_bad_characters_in_a_message_get_422(hostile_client, field, value):
    cid = start(hostile_client)
    body = {"text": '"Hallo"', "payload": '"/greet"', "title": '"Hallo"'}
    body[field] = value
    if field == "text":
        fields = f'"text": {value}'
    else:
        fields = f'"payload": {body["payload"]}, "title": {body["title"]}'
    response = raw(hostile_client, "POST", f"/api/v1/conversations/{cid}/messages",
                   "{" + fields + "}")
    assert response.status_code == 422, response.text
    assert "unzulässige Zeichen" in response.json()["detail"]
    assert hostile_client.get(f"/api/v1/conversations/{cid}/messages").json()["messages"] == []


@pytest.mark.parametrize("field", ["name", "contact", "concern"])
def test_bad_characters_in_a_callback_get_422(hostile_client, field):
    cid = start(hostile_client)
    body = {"name": '"Eva"', "contact": '"0171 2345678"', "concern": '"Abschlag"'}
    body[field] = SURROGATE if field != "contact" else NUL
    text = "{" + ", ".join(f'"{k}": {v}' for k, v in body.items()) + "}"
    response = raw(hostile_client, "POST", f"/api/v1/conversations/{cid}/callback", text)
    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] == field


@pytest.mark.parametrize("after", ["99999999999999999999999", str(2**31), "-1", "1e3", "x"])
def test_after_beyond_any_sequence_number_gets_422(hostile_client, after):
    cid = start(hostile_client)
    response = hostile_client.get(f"/api/v1/conversations/{cid}/messages",
                                  params={"after": after})
    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] == "after"


@pytest.mark.parametrize("version", [2**70, 2**31, 0, -5, 1.5, "3"])
def test_feedback_version_beyond_the_column_gets_422(hostile_client, version):
    cid = start(hostile_client)
    response = hostile_client.post(f"/api/v1/conversations/{cid}/feedback", json={
        "faq_id": "gaspreisbremse", "content_version": version, "helpful": True})
    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["field"] == "content_version"


@pytest.mark.parametrize("depth", [40, 5000, 8000])  # 8000 levels: 16 KB, just below the cap
def test_deep_nesting_gets_422_or_400(hostile_client, depth):
    cid = start(hostile_client)
    nested = "[" * depth + "]" * depth
    response = raw(hostile_client, "POST", f"/api/v1/conversations/{cid}/messages",
                   '{"text": ' + nested + "}")
    assert response.status_code in (400, 422), response.text
    assert response.json()["detail"]


def test_a_huge_body_is_refused_before_it_is_read(hostile_client):
    cid = start(hostile_client)
    limit = body_limit("/api/v1/")
    huge = json.dumps({"text": "a" * (10 * 1024 * 1024)})
    response = raw(hostile_client, "POST", f"/api/v1/conversations/{cid}/messages", huge)
    assert response.status_code == 413
    assert response.json()["detail"] == (
        f"Die Anfrage ist zu groß (höchstens {limit // 1024} KB). Bitte kürzen Sie die Texte.")

    def chunks():  # no Content-Length: the stream is cut off once it passes the limit
        for _ in range(1000):
            yield b"a" * 65536

    streamed = hostile_client.post(f"/api/v1/conversations/{cid}/messages", content=chunks(),
                                   headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/conversations/%00/messages",
        "/api/v1/conversations/abc%00def",
        "/api/v1/conversations/x/messages?after=%00",
        "/api/v1/agent/conversations/%00",
        "/faq?q=%00",
    ],
)
def test_nul_in_the_address_gets_400(hostile_client, path):
    response = hostile_client.get(path)
    assert response.status_code == 400, response.text


def test_a_conversation_id_no_token_can_be_is_unknown(hostile_client):
    for cid in ("x" * 65, "x" * 5000, "ä" * 40, "a b"):
        response = hostile_client.get(f"/api/v1/conversations/{cid}/messages")
        assert response.status_code == 404, (cid, response.text)


def test_the_agent_api_refuses_hostile_text_too(on, hostile_client):
    with on.ctx.session() as session:
        set_user(session=session, username="anna", role="agent", display_name="Anna",
                 password="geheim-123")
    log_in(hostile_client, "anna")
    cid = start(hostile_client)
    response = raw(hostile_client, "POST", f"/api/v1/agent/conversations/{cid}/messages",
                   '{"text": ' + NUL + "}")
    assert response.status_code == 422, response.text
    assert "unzulässige Zeichen" in response.json()["detail"]


@pytest.mark.parametrize("token", ["ä", "\u20ac" * 30, "x" * 300])
def test_an_odd_csrf_token_is_refused_not_a_crash(on, hostile_client, token):
    page = hostile_client.get("/agent/login")
    assert page.status_code == 200
    response = hostile_client.post("/agent/login", data={
        "username": "anna", "password": "x", "csrf_token": token})
    assert response.status_code in (403, 422), response.text  # was a TypeError: 500
    with on.ctx.session() as session:
        set_user(session=session, username="anna", role="admin", display_name="Anna",
                 password="geheim-123")
    log_in(hostile_client, "anna")
    for path in ("/api/editor/topics", "/api/v1/agent/conversations/x/claim"):
        api = hostile_client.post(path, json={}, headers={"X-CSRF-Token": token.encode()})
        assert api.status_code == 403, (path, api.text)


def test_a_login_name_with_nul_is_a_failed_login(hostile_client):
    page = hostile_client.get("/agent/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    response = hostile_client.post("/agent/login", data={
        "username": "an\x00na", "password": "geheim-123", "csrf_token": token})
    assert response.status_code == 401
