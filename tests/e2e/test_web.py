"""The web app with the real Rasa server, action server and calculator, over real HTTP."""

from __future__ import annotations

import re

import pytest
import requests

from tests.e2e.conftest import AGENT

pytestmark = pytest.mark.slow


def start(web_url: str, page: str | None = None) -> str:
    response = requests.post(
        f"{web_url}/api/v1/conversations", json={"page": page} if page else None, timeout=10
    )
    assert response.status_code == 201
    return response.json()["conversation_id"]


def say(web_url: str, cid: str, text: str) -> dict:
    response = requests.post(
        f"{web_url}/api/v1/conversations/{cid}/messages", json={"text": text}, timeout=30
    )
    assert response.status_code == 200, response.text
    return response.json()


def agent_session(web_url: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{web_url}/agent/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    username, _, password = AGENT
    response = session.post(
        f"{web_url}/agent/login",
        timeout=10,
        data={"username": username, "password": password, "csrf_token": token},
    )
    assert response.status_code == 200 and "/agent/" in response.url
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', response.text).group(1)
    session.headers["X-CSRF-Token"] = csrf
    return session


def test_faq_answer_through_the_web_app_carries_faq_id(web_url):
    cid = start(web_url, "preisbremsen")
    body = say(web_url, cid, "Wie hat die Gaspreisbremse funktioniert?")
    assert body["state"] == "bot"
    assert body["messages"][0]["faq_id"] == "gaspreisbremse"
    assert body["messages"][0]["content_version"] >= 1


def test_handoff_agent_chat_and_back_to_the_bot(web_url):
    cid = start(web_url)
    say(web_url, cid, "Was war die Dezember-Soforthilfe?")
    body = say(web_url, cid, "Ich möchte mit einem Menschen sprechen")
    assert body["state"] == "queued" and body["queue_position"] >= 1

    agent = agent_session(web_url)
    queue = agent.get(f"{web_url}/api/v1/agent/queue", timeout=10).json()["queue"]
    entry = next(e for e in queue if e["conversation_id"] == cid)
    assert entry["summary"]["topic"] == "soforthilfe_ueberblick"
    assert (
        agent.post(f"{web_url}/api/v1/agent/conversations/{cid}/claim", timeout=10).status_code
        == 200
    )
    agent.post(
        f"{web_url}/api/v1/agent/conversations/{cid}/messages",
        json={"text": "Hallo, hier ist Tessa."},
        timeout=10,
    )
    body = say(web_url, cid, "Mein Abschlag ist seit Januar doppelt so hoch.")
    assert body == {"messages": [], "state": "agent", "queue_position": None}
    transcript = requests.get(f"{web_url}/api/v1/conversations/{cid}/messages", timeout=10).json()[
        "messages"
    ]
    assert any(m["sender"] == "agent" and m["agent_name"] == "Tessa" for m in transcript)

    agent.post(f"{web_url}/api/v1/agent/conversations/{cid}/handback", timeout=10)
    body = say(web_url, cid, "Muss ich die Preisbremse beantragen?")
    assert body["state"] == "bot"
    assert body["messages"][0]["faq_id"] == "preisbremse_antrag"


def test_delete_removes_the_conversation(web_url):
    cid = start(web_url)
    say(web_url, cid, "Hallo")
    assert requests.delete(f"{web_url}/api/v1/conversations/{cid}", timeout=10).status_code == 204
    assert (
        requests.get(f"{web_url}/api/v1/conversations/{cid}/messages", timeout=10).status_code
        == 404
    )
