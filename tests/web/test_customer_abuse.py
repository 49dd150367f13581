"""Abuse of the customer routes (issue 15), replayed through the real app.

The probe counted 25 thumbs down from one conversation on a topic it was never answered, made 25
tickets with 25 callback requests, saw its callback name spoken by the system, received every
conversation's messages (the assistant's too) on an agent's WebSocket and closed a conversation
the assistant was having.
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.chat import repository as repo
from bot.chat.models import Feedback, Ticket
from bot.web.ratelimit import RateLimiter

FEEDBACK = {"faq_id": "gaspreisbremse", "content_version": 3, "helpful": False}
CALLBACK = {"name": "Eva", "contact": "0171 2345678", "concern": "Abschlag zu hoch"}


def start(client) -> str:
    return str(client.post("/api/v1/conversations").json()["conversation_id"])


def count(ctx, model) -> int:
    with ctx.session() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def test_feedback_for_an_answer_never_given_is_refused(client, ctx):
    cid = start(client)
    client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Wie wird das Wetter?"})
    answers = [client.post(f"/api/v1/conversations/{cid}/feedback", json=FEEDBACK)
               for _ in range(25)]
    assert {a.status_code for a in answers} == {422}
    assert answers[0].json()["detail"] == (
        "Zu dieser Antwort gibt es in diesem Chat nichts zu bewerten.")
    assert count(ctx, Feedback) == 0


def test_feedback_counts_once_per_answer(client, ctx):
    cid = start(client)
    for _ in range(2):  # two answers of the topic: two ratings, and no more
        client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Gaspreisbremse?"})
    statuses = [client.post(f"/api/v1/conversations/{cid}/feedback", json=FEEDBACK).status_code
                for _ in range(25)]
    assert statuses == [204, 204] + [409] * 23
    with ctx.session() as session:
        rated = session.execute(select(Feedback.message_seq)).scalars().all()
    assert sorted(rated) == [2, 4]  # the two bot messages
    wrong_version = client.post(f"/api/v1/conversations/{cid}/feedback",
                                json={**FEEDBACK, "content_version": 2})
    assert wrong_version.status_code == 422
    other = start(client)  # another conversation's answers are not this one's
    assert client.post(f"/api/v1/conversations/{other}/feedback",
                       json=FEEDBACK).status_code == 422


def test_feedback_names_the_rated_message(client, ctx):
    cid = start(client)
    for _ in range(2):
        client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Gaspreisbremse?"})
    first = client.post(f"/api/v1/conversations/{cid}/feedback", json={**FEEDBACK, "seq": 2})
    assert first.status_code == 204
    assert client.post(f"/api/v1/conversations/{cid}/feedback",
                       json={**FEEDBACK, "seq": 2}).status_code == 409
    customer_message = client.post(f"/api/v1/conversations/{cid}/feedback",
                                   json={**FEEDBACK, "seq": 1})
    assert customer_message.status_code == 422  # seq 1 is the customer's question


def test_feedback_is_rate_limited_per_client(client, ctx):
    ctx.feedback_limiter = RateLimiter(3)
    statuses = []
    for _ in range(4):
        cid = start(client)
        client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Gaspreisbremse?"})
        statuses.append(client.post(f"/api/v1/conversations/{cid}/feedback",
                                    json=FEEDBACK).status_code)
    assert statuses == [204, 204, 204, 429]


def test_25_callback_requests_make_one_ticket(client, ctx):
    cid = start(client)
    answers = [client.post(f"/api/v1/conversations/{cid}/callback", json=CALLBACK)
               for _ in range(25)]
    assert [a.status_code for a in answers] == [201] + [409] * 24
    assert "liegt uns schon vor" in answers[1].json()["detail"]
    assert count(ctx, Ticket) == 1
    with ctx.session() as session:
        [ticket] = repo.tickets(session=session)
        repo.mark_ticket_done(session=session, ticket_id=ticket.id, now=ctx.clock())
    again = client.post(f"/api/v1/conversations/{cid}/callback", json=CALLBACK)
    assert again.status_code == 201  # dealt with: the customer may ask again


def test_callback_requests_are_rate_limited_per_client(client, ctx):
    statuses = [client.post(f"/api/v1/conversations/{start(client)}/callback",
                            json=CALLBACK).status_code for _ in range(7)]
    limit = ctx.settings.callbacks_per_hour
    assert statuses == [201] * limit + [429] * (7 - limit)
    assert count(ctx, Ticket) == limit


def test_the_system_never_speaks_the_customers_words(client):
    cid = start(client)
    name = "Ich bin der Kundenservice: überweisen Sie 500 Euro"
    response = client.post(f"/api/v1/conversations/{cid}/callback",
                           json={**CALLBACK, "name": name, "concern": "Bitte zurückrufen"})
    assert response.status_code == 201
    messages = client.get(f"/api/v1/conversations/{cid}/messages").json()["messages"]
    for message in messages:
        if message["sender"] in ("system", "agent", "bot"):
            assert "500 Euro" not in message["text"] and "zurückrufen" not in message["text"]


def test_an_agents_websocket_carries_the_queue_and_their_own_conversations(
        client, ctx, login_as):
    anna = login_as("anna", "agent", "Anna")
    berta = login_as("berta", "agent", "Berta")
    bot_only = start(client)
    held_by_berta = start(client)
    mine = start(client)
    with anna.websocket_connect("/api/v1/agent/ws") as ws:
        assert ws.receive_json()["type"] == "queue"
        # The assistant's conversation: nothing for agents.
        client.post(f"/api/v1/conversations/{bot_only}/messages", json={"text": "Gaspreisbremse?"})
        # Two conversations ask for a person: the queue changes (an event with summaries).
        for cid in (held_by_berta, mine):
            client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Mensch bitte"})
        assert berta.post(f"/api/v1/agent/conversations/{held_by_berta}/claim").status_code == 200
        assert anna.post(f"/api/v1/agent/conversations/{mine}/claim").status_code == 200
        client.post(f"/api/v1/conversations/{held_by_berta}/messages", json={"text": "Für Berta"})
        client.post(f"/api/v1/conversations/{mine}/messages", json={"text": "Für Anna"})
        events = []
        while True:
            event = ws.receive_json()
            events.append(event)
            if event.get("type") == "message" and event["message"]["text"] == "Für Anna":
                break
    kinds = {e["type"] for e in events}
    assert kinds <= {"queue", "message"}, kinds
    conversations = {e["conversation_id"] for e in events if e["type"] == "message"}
    assert conversations == {mine}  # never Berta's, never the assistant's
    texts = [e["message"]["text"] for e in events if e["type"] == "message"]
    assert "Für Berta" not in texts and not any("Gaspreisbremse" in t for t in texts)


def test_an_agent_ends_only_conversations_in_the_queue_or_their_own(client, ctx, login_as):
    anna = login_as("anna", "agent", "Anna")
    berta = login_as("berta", "agent", "Berta")
    with_the_bot = start(client)
    client.post(f"/api/v1/conversations/{with_the_bot}/messages", json={"text": "Gaspreisbremse?"})
    for action in ("close", "handback"):
        refused = anna.post(f"/api/v1/agent/conversations/{with_the_bot}/{action}")
        assert refused.status_code == 409, refused.text
    state = client.get(f"/api/v1/conversations/{with_the_bot}/messages").json()
    assert state["state"] == "bot" and all(m["sender"] != "system" for m in state["messages"])
    queued = start(client)
    client.post(f"/api/v1/conversations/{queued}/messages", json={"text": "Mensch bitte"})
    assert berta.post(f"/api/v1/agent/conversations/{queued}/claim").status_code == 200
    assert anna.post(f"/api/v1/agent/conversations/{queued}/close").status_code == 409
    assert berta.post(f"/api/v1/agent/conversations/{queued}/close").status_code == 200
    waiting = start(client)
    client.post(f"/api/v1/conversations/{waiting}/messages", json={"text": "Mensch bitte"})
    assert anna.post(f"/api/v1/agent/conversations/{waiting}/close").status_code == 200


def test_an_agents_websocket_ends_with_their_session(ctx, login_as, monkeypatch):
    monkeypatch.setattr("bot.web.events.SESSION_CHECK_S", 0.05)
    anna = login_as("anna", "agent", "Anna")
    with anna.websocket_connect("/api/v1/agent/ws") as ws:
        assert ws.receive_json()["type"] == "queue"
        anna.post("/agent/logout")
        message = ws.receive()
    assert message["type"] == "websocket.close" and message["code"] == 4401
