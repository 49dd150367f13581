"""Conversations through the real Rasa server, the trained model and the real action server."""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.e2e.conftest import RASA_AUTH

pytestmark = pytest.mark.slow


def send(rasa_url: str, text: str, sender: str | None = None) -> list[dict]:
    response = requests.post(
        f"{rasa_url}/webhooks/rest_meta/webhook",
        json={"sender": sender or uuid.uuid4().hex, "message": text},
        timeout=30,
        headers=RASA_AUTH,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_faq_question_is_answered_with_metadata(rasa_url, kb):
    [message] = send(rasa_url, "Wie hat die Gaspreisbremse funktioniert?")
    assert message["metadata"]["faq_id"] == "gaspreisbremse"
    assert message["metadata"]["content_version"] == kb.topics["gaspreisbremse"].version
    assert "12 ct/kWh" in message["text"]
    assert "Stand:" in message["text"]


def test_question_without_umlauts_and_with_typo(rasa_url):
    [message] = send(
        rasa_url, "wann endete die mehrwertsteuersenkung auf gas, gilt wieder 19 prozent?"
    )
    assert message["metadata"]["faq_id"] in {"mwst_ende", "mwst_senkung"}


def test_out_of_scope_gets_a_fallback_and_then_a_person(rasa_url):
    sender = uuid.uuid4().hex
    [first] = send(rasa_url, "Wie wird das Wetter morgen in Berlin?", sender)
    assert "faq_id" not in first["metadata"]
    assert "nicht beantworten" in first["text"]
    [second] = send(rasa_url, "Was kostet ein Netflix-Abo?", sender)
    assert second["buttons"] == [
        {"title": "Mit einer Person sprechen", "payload": "/human_handoff"}
    ]


def test_clarification_button_triggers_exactly_that_topic(rasa_url):
    [message] = send(rasa_url, "/faq_soforthilfe_mieter")
    assert message["metadata"]["faq_id"] == "soforthilfe_mieter"


def test_none_of_these_button_counts_as_not_understood(rasa_url):
    [message] = send(rasa_url, "/out_of_scope")
    assert "anders formulieren" in message["text"]


def test_greeting_and_bot_question(rasa_url):
    sender = uuid.uuid4().hex
    assert "Assistent" in send(rasa_url, "Hallo", sender)[0]["text"]
    assert "kein Mensch" in send(rasa_url, "Bist du ein Bot?", sender)[0]["text"]


def test_wants_a_person_is_queued_within_opening_hours(rasa_url, chat_hours):
    [message] = send(rasa_url, "Ich möchte bitte mit einem Mitarbeiter sprechen")
    assert message["metadata"]["handoff"] == "queued"


def test_wants_a_person_outside_opening_hours_gets_the_callback_offer(rasa_url, chat_hours, kb):
    import time

    chat_hours.closed()
    try:
        time.sleep(1.5)  # the action server re-reads knowledge/ at most once a second
        [message] = send(rasa_url, "Kann ich bitte mit einem Menschen reden?")
        assert message["metadata"]["handoff"] == "offline"
        assert kb.utility["phone"] in message["text"]
    finally:
        chat_hours.open()
        time.sleep(1.5)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"sender": "x"}, "'message'"),
        ({"sender": "x", "message": "   "}, "'message'"),
        ({"sender": "x", "message": "a" * 1001}, "1000"),
        ({"message": "Hallo"}, "'sender'"),
        ({"sender": "x", "message": "Hallo", "metadata": [1]}, "'metadata'"),
        ([1, 2], "JSON object"),
    ],
)
def test_bad_requests_get_400_with_a_reason(rasa_url, body, reason):
    response = requests.post(f"{rasa_url}/webhooks/rest_meta/webhook", json=body, timeout=10,
                             headers=RASA_AUTH)
    assert response.status_code == 400
    assert reason in response.json()["error"]


def test_malformed_json_gets_400(rasa_url):
    response = requests.post(
        f"{rasa_url}/webhooks/rest_meta/webhook",
        data="{nope",
        timeout=10,
        headers={"Content-Type": "application/json", **RASA_AUTH},
    )
    assert response.status_code == 400
