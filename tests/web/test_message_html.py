"""Every bot, agent and system message carries ``html``, rendered once on the server
(bot/content/markdown.py, contract §3): in the chat API's answers and transcript, in the live
events of the widget and the agent console, and in the editor's preview (issue 17, item 2)."""

from __future__ import annotations

from bot.content.markdown import render_markdown
from tests.web.test_agent_api import queued_conversation
from tests.web.test_editor_api import published

AGENT_TEXT = "**Hallo**, ich bin Anna. Hier: [Kontakt](/kontakt) <script>alert(1)</script>"


def test_chat_answers_and_the_transcript_carry_html_customers_text_does_not(client):
    cid = client.post("/api/v1/conversations").json()["conversation_id"]
    customer_text = "Gaspreisbremse? **<b>fett</b>**"
    [answer] = client.post(f"/api/v1/conversations/{cid}/messages",
                           json={"text": customer_text}).json()["messages"]
    assert answer["html"] == render_markdown(answer["text"]) and answer["html"].startswith("<p>")
    transcript = client.get(f"/api/v1/conversations/{cid}/messages?after=0").json()["messages"]
    customer, bot = transcript
    assert customer["sender"] == "customer" and customer["html"] is None
    assert bot["html"] == answer["html"]


def test_live_events_carry_html(client):
    cid = client.post("/api/v1/conversations").json()["conversation_id"]
    with client.websocket_connect(f"/api/v1/conversations/{cid}/ws") as ws:
        ws.receive_json()  # the state
        client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Gaspreisbremse?"})
        events = [ws.receive_json() for _ in range(3)]
    customer, bot = (e["message"] for e in events if e["type"] == "message")
    assert customer["html"] is None
    assert bot["html"] == render_markdown(bot["text"])


def test_agent_messages_carry_sanitised_html_everywhere(client, agent_client):
    cid = queued_conversation(client)
    agent_client.post(f"/api/v1/agent/conversations/{cid}/claim")
    with client.websocket_connect(f"/api/v1/conversations/{cid}/ws") as ws:
        ws.receive_json()  # the state
        sent = agent_client.post(f"/api/v1/agent/conversations/{cid}/messages",
                                 json={"text": AGENT_TEXT}).json()["message"]
        event = ws.receive_json()
    html = sent["html"]
    assert "<strong>Hallo</strong>" in html
    assert '<a href="/kontakt" rel="noopener noreferrer">Kontakt</a>' in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert event["type"] == "message" and event["message"]["html"] == html
    detail = agent_client.get(f"/api/v1/agent/conversations/{cid}").json()["messages"]
    assert [m["html"] for m in detail if m["sender"] == "agent"][-1] == html
    # The system's notice that the agent joined is rendered too (the widget inserts its html).
    assert all(m["html"] for m in detail if m["sender"] == "system")


def test_editor_preview_carries_html(ctx, editor_client):
    doc = published(ctx)
    data = editor_client.post("/api/editor/preview", json={
        "answer": doc["answer"], "stand": doc["stand"], "valid_from": doc["valid_from"],
        "valid_to": doc["valid_to"], "offers_calculation": False,
    }).json()
    assert data["html"] == render_markdown(data["text"])
    assert "<em>" in data["html"]  # the dated note "_Stand: …_"
