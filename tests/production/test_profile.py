"""The production profile answers through every part: both web apps, both Rasa replicas,
both action servers, PostgreSQL (chat store, content store, Rasa's tracker store) and Redis."""

from __future__ import annotations

import requests
from sqlalchemy import text

from tests.production.conftest import chat, new_conversation


def test_every_process_is_ready(production):
    for url in production.web_urls:
        assert requests.get(f"{url}/ready", timeout=10).json() == {"status": "ok"}
    for url in production.rasa_urls:
        assert requests.get(f"{url}/webhooks/rest_meta/ready", timeout=10).status_code == 200
    for port in (*production.layout.action_ports, production.layout.calculator_port):
        assert requests.get(f"http://127.0.0.1:{port}/ready", timeout=10).status_code == 200


def test_a_conversation_spans_both_web_apps_and_lands_in_postgresql(production):
    first, second = production.web_urls
    cid = new_conversation(first)
    answer = chat(first, cid, "Wie funktionierte die Gaspreisbremse?")
    assert answer["messages"][0]["faq_id"] == "gaspreisbremse"
    # The other instance carries on with the same conversation (shared database and tracker).
    assert "Energie" in chat(second, cid, "Abschlag berechnen")["messages"][0]["text"]
    engine, _ = production.database()
    with engine.connect() as connection:
        users = connection.execute(
            text("SELECT count(*) FROM events WHERE sender_id = :s AND type_name = 'user'"),
            {"s": cid},
        ).scalar()
        stored = connection.execute(
            text("SELECT count(*) FROM messages WHERE conversation_id = :s"), {"s": cid}
        ).scalar()
    engine.dispose()
    assert users == 2 and stored >= 4
