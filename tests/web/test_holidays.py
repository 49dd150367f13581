"""The web app on Christmas Day: the chat does not claim to be staffed (issue 18)."""

from datetime import datetime, timezone

CHRISTMAS = datetime(2026, 12, 25, 9, 0, tzinfo=timezone.utc)  # Friday, 10:00 in Saxony


def test_christmas_day_is_closed_in_the_widget_status_and_the_handoff(client, relay, ctx):
    ctx.clock = lambda: CHRISTMAS
    relay.down = True  # the web app's own handoff text, without the assistant
    cid = client.post("/api/v1/conversations").json()["conversation_id"]
    body = client.post(
        f"/api/v1/conversations/{cid}/messages", json={"payload": "/human_handoff"}
    ).json()
    [message] = body["messages"]
    assert body["state"] == "bot" and message["handoff"] == "offline"
    assert "nicht im Chat erreichbar" in message["text"]
    assert "am Montag ab 8 Uhr" in message["text"]
    # The widget's status (contract 3 /config) tells the customer nobody is there today.
    assert client.get("/api/v1/config").json()["open_now"] is False
    ctx.clock = lambda: datetime(2026, 12, 28, 9, 0, tzinfo=timezone.utc)  # Monday after
    assert client.get("/api/v1/config").json()["open_now"] is True
