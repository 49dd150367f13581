"""The chat API (shared/contracts.md §3): every endpoint, its bad inputs and status codes."""

from __future__ import annotations

from sqlalchemy import select, text

from bot.chat import repository as repo
from bot.content.models import InboxItem
from tests.web.conftest import OPEN


def start(client, page=None):
    response = client.post("/api/v1/conversations", json={"page": page} if page else None)
    assert response.status_code == 201
    conversation_id = response.json()["conversation_id"]
    assert len(conversation_id) >= 24  # unguessable
    return conversation_id


def test_faq_turn_returns_the_answer_with_faq_id_and_stores_the_transcript(client, relay):
    cid = start(client, "preisbremsen")
    response = client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "Gaspreisbremse?"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "bot"
    [answer] = body["messages"]
    assert answer["faq_id"] == "gaspreisbremse" and answer["content_version"] == 3
    assert answer["buttons"] == [{"title": "Meinen Abschlag berechnen", "payload": "/x"}]
    assert relay.sent == [(cid, "Gaspreisbremse?")]
    transcript = client.get(f"/api/v1/conversations/{cid}/messages?after=0").json()["messages"]
    assert [m["sender"] for m in transcript] == ["customer", "bot"]
    assert [m["seq"] for m in transcript] == [1, 2]
    later = client.get(f"/api/v1/conversations/{cid}/messages?after=1").json()["messages"]
    assert [m["seq"] for m in later] == [2]


def test_button_payload_is_relayed_and_its_title_shown(client, relay):
    cid = start(client)
    client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"payload": "/faq_mwst_ende", "title": "MwSt wieder 19 %"},
    )
    assert relay.sent[-1] == (cid, "/faq_mwst_ende")
    first = client.get(f"/api/v1/conversations/{cid}/messages").json()["messages"][0]
    assert first["text"] == "MwSt wieder 19 %"


def test_personal_data_is_masked_before_storage(client, ctx):
    cid = start(client)
    client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"text": "Meine IBAN ist DE89 3704 0044 0532 0130 00, Mail max@example.org"},
    )
    with ctx.session() as session:
        stored = session.execute(text("select text from messages")).scalars().all()
    assert "DE89" not in " ".join(stored) and "max@example.org" not in " ".join(stored)
    assert "[IBAN]" in stored[0] and "[E-Mail]" in stored[0]


def test_handoff_queues_and_stops_relaying_to_the_bot(client, relay, ctx):
    cid = start(client)
    body = client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "Ich will einen Menschen"}
    ).json()
    assert body["state"] == "queued" and body["queue_position"] == 1
    assert body["messages"][0]["handoff"] == "queued"
    sent = len(relay.sent)
    body = client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Hallo?"}).json()
    assert body == {"messages": [], "state": "queued", "queue_position": 1}
    assert len(relay.sent) == sent  # not relayed while waiting for a person
    with ctx.session() as session:
        assert [e.conversation.id for e in repo.queue(session=session)] == [cid]


def test_offline_handoff_and_callback_request_becomes_a_ticket(client, ctx):
    cid = start(client)
    body = client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "am Abend jemand da?"}
    ).json()
    assert body["messages"][0]["handoff"] == "offline" and body["state"] == "bot"
    bad = client.post(
        f"/api/v1/conversations/{cid}/callback",
        json={"name": "Eva", "contact": "morgen", "concern": "Abschlag"},
    )
    assert bad.status_code == 422 and "Telefonnummer oder E-Mail" in bad.text
    ok = client.post(
        f"/api/v1/conversations/{cid}/callback",
        json={"name": "Eva", "contact": "0171 2345678", "concern": "Abschlag zu hoch"},
    )
    assert ok.status_code == 201
    confirmation = ok.json()["message"]
    # The system speaks with its own words only: the customer's name is not among them.
    assert confirmation["sender"] == "system" and "Eva" not in confirmation["text"]
    assert confirmation["text"].startswith("Danke! Ihr Anliegen ist bei uns angekommen.")
    with ctx.session() as session:
        [ticket] = repo.tickets(session=session)
        assert ticket.contact == "0171 2345678"  # agents must be able to call back


def test_rasa_down_gives_a_german_notice_not_an_error(client, relay):
    relay.down = True
    cid = start(client)
    response = client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Hallo"})
    assert response.status_code == 200
    [notice] = response.json()["messages"]
    assert notice["sender"] == "system" and "gestört" in notice["text"]


def test_rasa_down_offers_a_person_and_the_web_app_hands_over_by_itself(client, relay, ctx):
    relay.down = True
    cid = start(client)
    [notice] = client.post(f"/api/v1/conversations/{cid}/messages",
                           json={"text": "Hallo"}).json()["messages"]
    assert ctx.utility["phone"] in notice["text"]
    [button] = notice["buttons"]
    assert button == {"title": "Mit einer Person chatten", "payload": "/human_handoff"}
    body = client.post(f"/api/v1/conversations/{cid}/messages",
                       json={"payload": button["payload"], "title": button["title"]}).json()
    assert body["state"] == "queued" and body["queue_position"] == 1  # OPEN: within hours
    assert body["messages"][0]["handoff"] == "queued"
    assert relay.sent[-1] == (cid, "/human_handoff")  # Rasa was asked first


def test_rasa_down_outside_opening_hours_offers_the_callback_form(client, relay, ctx):
    ctx.clock = lambda: OPEN.replace(hour=23)
    relay.down = True
    cid = start(client)
    body = client.post(f"/api/v1/conversations/{cid}/messages",
                       json={"payload": "/human_handoff"}).json()
    [message] = body["messages"]
    assert body["state"] == "bot" and message["handoff"] == "offline"
    assert "Hinterlassen Sie" in message["text"] and ctx.utility["phone"] in message["text"]


def test_a_silent_assistant_counts_as_disturbed(client, relay):
    relay.silent = True  # Rasa answered, but its action server did not
    cid = start(client)
    [notice] = client.post(f"/api/v1/conversations/{cid}/messages",
                           json={"text": "Gaspreisbremse?"}).json()["messages"]
    assert notice["sender"] == "system" and "gestört" in notice["text"]
    assert notice["buttons"][0]["payload"] == "/human_handoff"


def test_rasa_gets_masked_text_and_a_message_id_per_customer_message(client, relay):
    cid = start(client)
    client.post(f"/api/v1/conversations/{cid}/messages",
                json={"text": "Meine IBAN ist DE89 3704 0044 0532 0130 00, Gaspreisbremse?"})
    client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "3500 kWh"})
    assert relay.sent == [(cid, "Meine IBAN ist [IBAN], Gaspreisbremse?"), (cid, "3500 kWh")]
    transcript = client.get(f"/api/v1/conversations/{cid}/messages").json()["messages"]
    customer_seqs = [m["seq"] for m in transcript if m["sender"] == "customer"]
    assert relay.message_ids == [f"{cid}:{seq}" for seq in customer_seqs]


def test_feedback_and_delete(client, ctx):
    cid = start(client)
    client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Gaspreisbremse?"})
    response = client.post(
        f"/api/v1/conversations/{cid}/feedback",
        json={"faq_id": "gaspreisbremse", "content_version": 3, "helpful": False},
    )
    assert response.status_code == 204
    assert len(inbox_rows(ctx)) == 1  # the thumbs down
    assert client.delete(f"/api/v1/conversations/{cid}").status_code == 204
    assert client.get(f"/api/v1/conversations/{cid}/messages").status_code == 404
    with ctx.session() as session:
        for table in ("messages", "feedback", "conversations", "inbox_items"):
            assert session.execute(text(f"select count(*) from {table}")).scalar() == 0


def test_unknown_conversation_is_404_everywhere(client):
    for method, path, body in [
        ("post", "/api/v1/conversations/nope/messages", {"text": "x"}),
        ("get", "/api/v1/conversations/nope/messages", None),
        (
            "post",
            "/api/v1/conversations/nope/feedback",
            {"faq_id": "a", "content_version": 1, "helpful": True},
        ),
        (
            "post",
            "/api/v1/conversations/nope/callback",
            {"name": "a", "contact": "a@b.de", "concern": "c"},
        ),
        ("delete", "/api/v1/conversations/nope", None),
    ]:
        kwargs = {"json": body} if body is not None else {}
        response = getattr(client, method)(path, **kwargs)
        assert response.status_code == 404, path
        assert response.json()["detail"] == "Unbekannte Unterhaltung."


def test_bad_message_bodies_get_422_with_a_reason(client):
    cid = start(client)
    url = f"/api/v1/conversations/{cid}/messages"
    cases = [
        ({"text": ""}, "leer"),
        ({"text": "   "}, "leer"),
        ({"text": "x" * 1001}, "1000"),
        ({}, "text"),
        ({"text": "a", "payload": "/b"}, "Genau eines"),
        ({"text": 5}, "Text: Bitte einen Text angeben."),
        ({"text": ["a"]}, "Text: Bitte einen Text angeben."),
    ]
    for body, reason in cases:
        response = client.post(url, json=body)
        assert response.status_code == 422, body
        assert reason in response.text, (body, response.text)
    malformed = client.post(url, content=b"{nope", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 422


def test_feedback_bad_values(client):
    cid = start(client)
    url = f"/api/v1/conversations/{cid}/feedback"
    for body in [
        {"faq_id": "", "helpful": True},
        {"faq_id": "a", "helpful": "ja"},
        {"faq_id": "a"},
        {"faq_id": "a", "helpful": True, "content_version": 0},
    ]:
        assert client.post(url, json=body).status_code == 422, body


def test_too_many_messages_get_429(client):
    cid = start(client)
    statuses = [
        client.post(
            f"/api/v1/conversations/{cid}/messages", json={"text": f"Frage {i}"}
        ).status_code
        for i in range(25)
    ]
    assert statuses[:20] == [200] * 20 and set(statuses[20:]) == {429}


def test_closed_conversation_rejects_messages(client, ctx):
    cid = start(client)
    with ctx.session() as session:
        repo.close(session=session, conversation_id=cid)
    response = client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Hallo"})
    assert response.status_code == 409 and "beendet" in response.json()["detail"]


def test_websocket_delivers_live_events(client):
    cid = start(client)
    with client.websocket_connect(f"/api/v1/conversations/{cid}/ws") as ws:
        assert ws.receive_json() == {"type": "state", "state": "bot", "queue_position": None}
        client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Gaspreisbremse?"})
        events = [ws.receive_json() for _ in range(3)]
    kinds = [e["type"] for e in events]
    assert kinds == ["message", "typing", "message"]
    assert events[2]["message"]["faq_id"] == "gaspreisbremse"


def test_config_for_the_widget(client, ctx):
    config = client.get("/api/v1/config").json()
    assert config["brand"]["name"] == ctx.utility["name"]
    assert config["open_now"] is True
    assert "Mo–Fr" in config["hours"]


# --- the editors' inbox (issue 5) -------------------------------------------------------------


def inbox_rows(ctx):
    with ctx.session() as session:
        return session.execute(select(InboxItem).order_by(InboxItem.id)).scalars().all()


def after_an_answer(client, text: str) -> tuple[str, dict]:
    """A conversation whose "Gaspreisbremse?" was answered, then ``text``: (id, its reply)."""
    cid = start(client)
    client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Gaspreisbremse?"})
    return cid, client.post(f"/api/v1/conversations/{cid}/messages", json={"text": text}).json()


def test_fallback_reply_keeps_its_decision_and_files_the_question(client, ctx):
    cid, body = after_an_answer(client, "Wie wird das Wetter?")
    assert body["messages"][0]["text"].startswith("Das kann ich leider nicht")
    with ctx.session() as session:
        stored = repo.transcript(session=session, conversation_id=cid)
        assert stored[-1].meta == {"decision": "fallback"}  # other metadata is not kept
    [item] = inbox_rows(ctx)
    assert (item.kind, item.text, item.message_seq) == ("fallback", "Wie wird das Wetter?", 3)
    assert item.state == "open" and item.conversation_id == cid


def test_an_answer_not_understood_files_the_question_behind_it_like_a_thumbs_down(client, ctx):
    _, body = after_an_answer(client, "versteh ich nicht")
    assert body["messages"][0]["buttons"][0]["payload"] == "/human_handoff"
    [item] = inbox_rows(ctx)
    assert (item.kind, item.text, item.faq_id) == ("feedback", "Gaspreisbremse?", "gaspreisbremse")


def test_none_of_these_files_the_question_not_the_button(client, ctx):
    cid = start(client)
    client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Mehrwertsteuer Wetter"})
    client.post(  # stored with its title "Nichts davon", which is no question; falls back
        f"/api/v1/conversations/{cid}/messages",
        json={"payload": "/out_of_scope", "title": "Nichts davon"},
    )
    assert [i.text for i in inbox_rows(ctx)] == ["Mehrwertsteuer Wetter"]  # once, typed text


def test_thumbs_down_files_the_question_behind_the_answer(client, ctx):
    liked = start(client)
    client.post(f"/api/v1/conversations/{liked}/messages", json={"text": "Gaspreisbremse?"})
    up = client.post(
        f"/api/v1/conversations/{liked}/feedback",
        json={"faq_id": "gaspreisbremse", "content_version": 3, "helpful": True},
    )
    assert up.status_code == 204 and inbox_rows(ctx) == []  # thumbs up files nothing
    cid = start(client)
    client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Gaspreisbremse bis wann?"})
    for expected in (204, 409):  # one rating per answer: the second one is refused
        response = client.post(
            f"/api/v1/conversations/{cid}/feedback",
            json={"faq_id": "gaspreisbremse", "content_version": 3, "helpful": False},
        )
        assert response.status_code == expected, response.text
    [item] = inbox_rows(ctx)
    assert (item.kind, item.faq_id, item.message_seq) == ("feedback", "gaspreisbremse", 1)
    assert item.text == "Gaspreisbremse bis wann?"


def test_handoff_files_the_last_question_the_bot_answered(client, ctx):
    cid = start(client)
    client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "Wann kommt die Soforthilfe?"}
    )
    body = client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "Ich will einen Menschen"}
    ).json()
    assert body["state"] == "queued"
    [item] = inbox_rows(ctx)
    assert (item.kind, item.faq_id, item.message_seq) == ("handoff", "gaspreisbremse", 1)
    assert item.text == "Wann kommt die Soforthilfe?"  # not the request for a person


def test_offline_handoff_files_too_but_not_a_bare_request(client, ctx):
    bare = start(client)
    client.post(f"/api/v1/conversations/{bare}/messages", json={"text": "Ist am Abend wer da?"})
    assert inbox_rows(ctx) == []  # the request itself is no question for the FAQ
    cid = start(client)
    client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Zählerstand melden"})
    client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "am Abend jemand da?"})
    [item] = inbox_rows(ctx)
    assert (item.kind, item.text, item.conversation_id) == ("handoff", "Zählerstand melden", cid)


def test_inbox_texts_are_masked(client, ctx):
    cid = start(client)
    client.post(
        f"/api/v1/conversations/{cid}/messages",
        json={"text": "Wetter bei Kundin max@example.org?"},
    )
    [item] = inbox_rows(ctx)
    assert "max@example.org" not in item.text and "[E-Mail]" in item.text


def test_a_failing_inbox_never_fails_the_customer(client, ctx, monkeypatch):
    from bot.content import inbox

    def broken(session, **kwargs):
        session.add(InboxItem(conversation_id="nope", kind="fallback", text="x", created_at=OPEN))
        session.flush()  # a foreign key error inside the savepoint

    monkeypatch.setattr(inbox, "record_fallback", broken)
    monkeypatch.setattr(inbox, "record_feedback", broken)
    cid = start(client)
    response = client.post(
        f"/api/v1/conversations/{cid}/messages", json={"text": "Wie wird das Wetter?"}
    )
    assert response.status_code == 200 and response.json()["messages"]
    client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Gaspreisbremse?"})
    feedback = client.post(
        f"/api/v1/conversations/{cid}/feedback",
        json={"faq_id": "gaspreisbremse", "content_version": 3, "helpful": False},
    )
    assert feedback.status_code == 204
    with ctx.session() as session:
        assert len(repo.transcript(session=session, conversation_id=cid)) == 4
        assert session.execute(text("select count(*) from feedback")).scalar() == 1
    assert inbox_rows(ctx) == []


def test_a_conversation_deleted_while_rasa_answers_gets_404_not_500(client, relay, ctx):
    cid = start(client)
    original = relay.send

    async def delete_meanwhile(sender, text, metadata=None, *, message_id=None):
        with ctx.session() as session:
            repo.delete_conversation(session=session, conversation_id=sender)
        return await original(sender, text, metadata, message_id=message_id)

    relay.send = delete_meanwhile
    response = client.post(f"/api/v1/conversations/{cid}/messages", json={"text": "Hallo"})
    assert response.status_code == 404
    assert response.json() == {"detail": "Unbekannte Unterhaltung."}
