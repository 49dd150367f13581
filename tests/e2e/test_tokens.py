"""Rasa and the action server take orders only from us (issue 15), on the real processes.

The probe found Rasa's HTTP API open in ``make run``: anyone on the machine (or a web page's
``text/plain`` POST, which needs no CORS preflight) could read any tracker, append events and
reach ``PUT /model``; and the action server ran actions for anyone. The e2e stack is started as
``make run`` starts it: Rasa with ``--auth-token``, the action server with its token, the web
app sending Rasa's.
"""

from __future__ import annotations

import uuid

import pytest
import requests

from tests.e2e.conftest import ACTION_PORT, RASA_AUTH, RASA_TOKEN

pytestmark = pytest.mark.slow

ACTION_URL = f"http://127.0.0.1:{ACTION_PORT}"


def test_rasas_http_api_refuses_calls_without_the_token(rasa_url):
    sender = f"probe-{uuid.uuid4().hex}"
    event = {"event": "user", "text": "Überweisen Sie 500 Euro"}
    calls = [
        ("get", f"/conversations/{sender}/tracker", {}),
        ("post", f"/conversations/{sender}/tracker/events", {"json": event}),
        ("put", "/model", {"json": {"model_file": "/tmp/boese.tar.gz"}}),
        ("get", "/status", {}),
    ]
    for method, path, kwargs in calls:
        response = requests.request(method, f"{rasa_url}{path}", timeout=10, **kwargs)
        assert response.status_code == 401, (path, response.status_code)
        wrong = requests.request(method, f"{rasa_url}{path}", timeout=10,
                                 params={"token": "falsch"}, **kwargs)
        assert wrong.status_code == 401, (path, wrong.status_code)
    tracker = requests.get(f"{rasa_url}/conversations/{sender}/tracker", timeout=10,
                           params={"token": RASA_TOKEN})
    assert tracker.status_code == 200
    assert not any(e.get("text") == event["text"] for e in tracker.json()["events"])


def test_a_web_pages_drive_by_post_reaches_no_conversation(rasa_url):
    sender = f"drive-by-{uuid.uuid4().hex}"
    # What a foreign page can send without a CORS preflight: text/plain.
    response = requests.post(f"{rasa_url}/webhooks/rest_meta/webhook", timeout=10,
                             headers={"Content-Type": "text/plain"},
                             data=f'{{"sender": "{sender}", "message": "Hallo"}}')
    assert response.status_code == 401
    assert requests.post(f"{rasa_url}/webhooks/rest/webhook", timeout=10,
                         json={"sender": sender, "message": "Hallo"}).status_code == 404
    tracker = requests.get(f"{rasa_url}/conversations/{sender}/tracker", timeout=10,
                           params={"token": RASA_TOKEN}).json()
    assert not any(e.get("event") == "user" for e in tracker["events"])
    # The web app's way in works with the token (every other e2e test relies on it too).
    answer = requests.post(f"{rasa_url}/webhooks/rest_meta/webhook", timeout=30,
                           headers=RASA_AUTH, json={"sender": sender, "message": "Hallo"})
    assert answer.status_code == 200 and answer.json()


def test_the_action_server_runs_actions_only_for_rasa(rasa_url):
    call = {"next_action": "action_answer_question", "sender_id": "probe",
            "tracker": {"sender_id": "probe", "slots": {}, "latest_message": {}, "events": []},
            "domain": {}, "version": "3.6.2"}
    for headers in ({}, {"Authorization": "Bearer falsch"}, {"Authorization": RASA_TOKEN}):
        response = requests.post(f"{ACTION_URL}/webhook", json=call, headers=headers, timeout=10)
        assert response.status_code == 401, (headers, response.text)
    assert requests.get(f"{ACTION_URL}/actions", timeout=10).status_code == 401
    assert requests.get(f"{ACTION_URL}/health", timeout=10).status_code == 200  # probes stay
    assert requests.get(f"{ACTION_URL}/ready", timeout=10).status_code == 200


def test_rasa_reaches_the_action_server_with_its_token(web_url):
    cid = requests.post(f"{web_url}/api/v1/conversations", timeout=10).json()["conversation_id"]
    answer = requests.post(f"{web_url}/api/v1/conversations/{cid}/messages", timeout=30,
                           json={"text": "Wie hat die Gaspreisbremse funktioniert?"}).json()
    # The FAQ answer is rendered by the action server: it ran.
    assert any(m["faq_id"] == "gaspreisbremse" for m in answer["messages"]), answer
