"""Probes of the web app, and what customers get when a store is away (never a 500)."""

from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from bot.chat.db import make_engine


def test_liveness_and_readiness(client, relay):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").json() == {"status": "ok"}
    relay.down = True
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "problems": ["rasa http://rasa: down"]}


def _database_away(ctx):
    # Nothing listens on port 1: the connection is refused at once, like a stopped server.
    engine = make_engine("postgresql://postgres@127.0.0.1:1/nowhere")
    ctx.sessions = sessionmaker(bind=engine, future=True, expire_on_commit=False)


def test_database_away_fails_fast_with_a_german_notice(client, ctx):
    conversation = client.post("/api/v1/conversations").json()["conversation_id"]
    _database_away(ctx)
    response = client.post(f"/api/v1/conversations/{conversation}/messages",
                           json={"text": "Hallo"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    detail = response.json()["detail"]
    assert "gerade gestört" in detail and ctx.utility["phone"] in detail
    ready = client.get("/ready")
    assert ready.status_code == 503 and ready.json()["problems"] == ["database: OperationalError"]
    transcript = client.get(f"/api/v1/conversations/{conversation}/messages")
    assert transcript.status_code == 503
    # The public FAQ page keeps answering from the content the web app already loaded.
    assert client.get("/faq").status_code == 200
