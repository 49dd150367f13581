"""Deleting a conversation deletes its Rasa tracker; admins find, export and delete conversations
(bot/web/privacy_api.py) and see the retention status; the /admin/datenschutz page. Rasa's
replicas are faked by an httpx mock transport (tests/test_retention.py: FakeRasa)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from bot import retention
from bot.chat.models import Conversation
from tests.test_retention import REPLICAS, FakeRasa
from tests.web.conftest import OPEN

STATIC = Path(__file__).resolve().parents[2] / "bot" / "web" / "static"
CONTACT = "0171 / 234 56 78"
IBAN = "DE89 3704 0044 0532 0130 00"


@pytest.fixture
def rasa(ctx, monkeypatch) -> FakeRasa:
    fake = FakeRasa()
    monkeypatch.setattr(retention, "new_client", lambda timeout=None: httpx.AsyncClient(
        transport=httpx.MockTransport(fake.handler)))
    ctx.settings = dataclasses.replace(ctx.settings, rasa_url=",".join(REPLICAS), rasa_token=None)
    return fake


def start(client) -> str:
    response = client.post("/api/v1/conversations", json={"page": "kontakt"})
    assert response.status_code == 201
    return str(response.json()["conversation_id"])


def full_conversation(client) -> str:
    """A conversation with messages, a fallback and a thumbs down (inbox), a handoff, a ticket."""
    cid = start(client)
    for message in (f"Meine IBAN ist {IBAN}, Gaspreisbremse?", "Wie wird das Wetter?", "Mensch"):
        assert client.post(f"/api/v1/conversations/{cid}/messages",
                           json={"text": message}).status_code == 200
    assert client.post(f"/api/v1/conversations/{cid}/feedback",
                       json={"faq_id": "gaspreisbremse", "content_version": 3,
                             "helpful": False}).status_code == 204
    assert client.post(f"/api/v1/conversations/{cid}/callback",
                       json={"name": "Erika Muster", "contact": CONTACT,
                             "concern": "Bitte zurückrufen, erika@example.org"}).status_code == 201
    return cid


def count(ctx, table: str, cid: str) -> int:
    column = "id" if table == "conversations" else "conversation_id"
    with ctx.session() as session:
        return int(session.execute(text(f"SELECT count(*) FROM {table} WHERE {column} = :c"),
                                   {"c": cid}).scalar_one())


TABLES = ("conversations", "messages", "handoffs", "feedback", "tickets", "inbox_items")


def pending(ctx) -> int:
    with ctx.session() as session:
        return int(session.execute(text("SELECT count(*) FROM pending_tracker_deletions"))
                   .scalar_one())


# --- the widget's deletion --------------------------------------------------------------------


def test_the_widgets_delete_removes_the_tracker_on_every_replica(client, ctx, rasa):
    cid = full_conversation(client)
    assert all(count(ctx, table, cid) for table in TABLES)
    assert client.delete(f"/api/v1/conversations/{cid}").status_code == 204
    assert not any(count(ctx, table, cid) for table in TABLES)
    assert sorted(str(r.url) for r in rasa.calls("DELETE")) == sorted(
        f"{url}/webhooks/rest_meta/conversations/{cid}" for url in REPLICAS)
    assert rasa.calls("PUT") == []  # the old "reset" that left the events in PostgreSQL
    assert pending(ctx) == 0
    assert client.delete(f"/api/v1/conversations/{cid}").status_code == 404


def test_a_deletion_while_rasa_is_away_is_carried_out_later(client, ctx, rasa, monkeypatch):
    ctx.settings = dataclasses.replace(ctx.settings, rasa_token="geheim")
    cid = full_conversation(client)
    rasa.down = set(REPLICAS)
    assert client.delete(f"/api/v1/conversations/{cid}").status_code == 204  # the customer's
    assert count(ctx, "conversations", cid) == 0 and pending(ctx) == 1
    rasa.down = set()
    result = asyncio_run(retention.flush_pending(
        ctx.sessions, retention.RasaTrackers.from_settings(ctx.settings), now=OPEN))
    assert result.deleted == 1 and pending(ctx) == 0
    assert all(r.url.params["token"] == "geheim" for r in rasa.calls("DELETE"))


def asyncio_run(coroutine):
    import asyncio

    return asyncio.run(coroutine)


# --- admins: find, export, delete ---------------------------------------------------------------


def test_admins_find_a_conversation_by_id_prefix_or_callback_contact(client, admin_client, rasa):
    cid = full_conversation(client)
    other = start(client)
    found = admin_client.get("/api/admin/conversations", params={"q": cid[:8]}).json()
    assert [c["id"] for c in found["conversations"]] == [cid]
    row = found["conversations"][0]
    assert row["found_by"] == "Gesprächskennung" and row["tickets"] == 1 and row["messages"] >= 6
    assert row["state_label"] == "Warteschlange"
    for query in ("01712345678", "+49 171 234 5678"[4:], "erika mus", "ERIKA"):
        found = admin_client.get("/api/admin/conversations", params={"q": query}).json()
        assert [c["id"] for c in found["conversations"]] == [cid], query
        assert CONTACT not in json.dumps(found) and "Erika" not in json.dumps(found)
    short = admin_client.get("/api/admin/conversations", params={"q": "ab"}).json()
    assert short["conversations"] == [] and "mindestens 3 Zeichen" in short["message"]
    assert admin_client.get("/api/admin/conversations",
                            params={"q": "zzzzzzzz"}).json()["conversations"] == []
    assert other not in json.dumps(
        admin_client.get("/api/admin/conversations", params={"q": cid[:8]}).json())


def test_the_export_holds_everything_and_the_tracker(client, admin_client, ctx, rasa,
                                                     monkeypatch):
    ctx.settings = dataclasses.replace(ctx.settings, rasa_token="geheim")
    cid = full_conversation(client)
    response = admin_client.get(f"/api/admin/conversations/{cid}/export")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        f'attachment; filename="gespraech-{re.sub(r"[^A-Za-z0-9_-]", "", cid[:8])}.json"')
    assert response.headers["cache-control"] == "no-store"
    data = response.json()
    assert data["conversation_id"] == cid and data["conversation"]["id"] == cid
    texts = [m["text"] for m in data["messages"]]
    assert "Meine IBAN ist [IBAN], Gaspreisbremse?" in texts  # stored masked, exported so
    assert data["handoffs"][0]["reason"] == "asked"
    assert data["feedback"] == [{"faq_id": "gaspreisbremse", "content_version": 3,
                                 "helpful": False, "created_at": data["feedback"][0]["created_at"]}]
    (ticket,) = data["tickets"]
    assert ticket["name"] == "Erika Muster" and ticket["contact"] == CONTACT
    assert ticket["concern"] == "Bitte zurückrufen, [E-Mail]"
    assert {i["kind"] for i in data["inbox_items"]} >= {"fallback", "feedback"}
    assert data["rasa_tracker"]["available"] is True
    assert data["rasa_tracker"]["tracker"]["sender_id"] == cid
    (get,) = rasa.calls("GET")
    assert str(get.url) == f"{REPLICAS[0]}/conversations/{cid}/tracker?token=geheim"

    audit = admin_client.get("/api/admin/audit").json()["entries"][0]
    assert audit["action"] == "conversation.export" and audit["actor"] == "Alex"
    assert audit["target"] == f"conversation:{cid[:8]}…" and cid not in json.dumps(audit)


def test_the_export_says_when_rasa_could_not_be_asked(client, admin_client, rasa):
    cid = full_conversation(client)
    rasa.down = set(REPLICAS)
    data = admin_client.get(f"/api/admin/conversations/{cid}/export").json()
    assert data["rasa_tracker"]["available"] is False
    assert "nicht erreichbar" in data["rasa_tracker"]["note"]
    assert len(data["rasa_tracker"]["problems"]) == 2
    assert len(data["messages"]) >= 6


def test_admins_delete_a_conversation_everywhere(client, admin_client, ctx, rasa):
    cid = full_conversation(client)
    response = admin_client.delete(f"/api/admin/conversations/{cid}")
    assert response.status_code == 204 and "x-tracker-deletion" not in response.headers
    assert not any(count(ctx, table, cid) for table in TABLES)
    assert len(rasa.calls("DELETE")) == 2 and pending(ctx) == 0
    audit = admin_client.get("/api/admin/audit").json()["entries"][0]
    assert audit["action"] == "conversation.delete"
    assert audit["detail"]["messages"] >= 6 and audit["detail"]["tickets"] == 1
    assert audit["detail"]["rasa_tracker_deleted"] is True
    gone = admin_client.delete(f"/api/admin/conversations/{cid}")
    assert gone.status_code == 404 and "gelöscht" in gone.json()["detail"]
    assert admin_client.get(f"/api/admin/conversations/{cid}/export").status_code == 404


def test_an_admin_deletion_while_rasa_is_away_says_it_is_pending(client, admin_client, ctx,
                                                                 rasa):
    cid = full_conversation(client)
    rasa.down = set(REPLICAS)
    response = admin_client.delete(f"/api/admin/conversations/{cid}")
    assert response.status_code == 204
    assert response.headers["x-tracker-deletion"] == "pending"
    assert pending(ctx) == 1


def test_only_admins(client, login_as, rasa):
    cid = full_conversation(client)
    for role in ("agent", "editor"):
        other = login_as(f"x{role}", role)
        assert other.get(f"/api/admin/conversations/{cid}/export").status_code == 403
        assert other.delete(f"/api/admin/conversations/{cid}").status_code == 403
    assert client.get(f"/api/admin/conversations/{cid}/export").status_code == 401


def test_the_retention_status(client, admin_client, ctx, rasa):
    old = full_conversation(client)
    full_conversation(client)
    with ctx.session() as session:
        session.query(Conversation).filter(Conversation.id == old).update(
            {"updated_at": OPEN - timedelta(days=ctx.settings.retention_days + 1)})
    status = admin_client.get("/api/admin/privacy").json()
    assert status["retention_days"] == ctx.settings.retention_days
    assert status["due"]["conversations"] == 1 and status["due"]["tickets"] == 1
    assert status["pending_tracker_deletions"] == 0
    assert status["oldest_activity"].startswith(
        (OPEN - timedelta(days=ctx.settings.retention_days + 1)).date().isoformat())
    assert status["rasa_replicas"] == REPLICAS and status["rasa_token"] is False


# --- the page ---------------------------------------------------------------------------------


def test_the_privacy_page(admin_client, login_as):
    response = admin_client.get("/admin/datenschutz")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    html = response.text
    assert '<html lang="de"' in html and html.count("<h1") == 1 and "Datenschutz" in html
    assert '<script src="/static/admin_privacy.js" defer></script>' in html
    assert "/static/widget.js" not in html
    assert 'name="csrf-token"' in html and 'role="status"' in html and 'role="alert"' in html
    source = (STATIC / "admin_privacy.js").read_text(encoding="utf-8")
    used = set(re.findall(r"\$\('([\w-]+)'\)", source))
    ids = set(re.findall(r'\bid="([^"{}]+)"', html))
    assert used and used <= ids, sorted(used - ids)
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', html))
    for control in re.finditer(r"<(input|select|textarea)\b([^>]*)>", html):
        assert re.search(r'\bid="([^"]+)"', control.group(2)).group(1) in labelled
    assert "innerHTML" not in source and "eval(" not in source
    assert "window.StaffPage" in source and "fetch(" not in source  # cookie + CSRF: staff.js
    assert html.index("/static/staff.js") < html.index("/static/admin_privacy.js")
    forbidden = login_as("erik", "editor").get("/admin/datenschutz")
    assert forbidden.status_code == 403 and "Keine Berechtigung" in forbidden.text
