"""The web app's request ids, metrics and the admins' operations figures."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from bot.observability.logs import bound_request_id
from bot.web.app import create_app
from bot.web.rasa_relay import RasaRelay
from tests.observability.conftest import value

MESSAGES = "/api/v1/conversations/{conversation_id}/messages"


def start(client) -> str:
    response = client.post("/api/v1/conversations", json={"page": "preisbremsen"})
    assert response.status_code == 201
    return response.json()["conversation_id"]


def say(client, cid, **body):
    response = client.post(f"/api/v1/conversations/{cid}/messages", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_answer_carries_a_request_id(client):
    assert len(client.get("/health").headers["X-Request-ID"]) == 32
    assert client.get("/health", headers={"X-Request-ID": "lb-1234"}).headers[
        "X-Request-ID"] == "lb-1234"
    replaced = client.get("/health", headers={"X-Request-ID": "x" * 65})
    assert replaced.headers["X-Request-ID"] != "x" * 65
    assert client.get("/nicht/da").headers["X-Request-ID"]


async def test_the_relay_sends_the_request_id_to_rasa():
    seen = []

    def rasa(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("X-Request-ID"))
        return httpx.Response(200, json=[{"text": "Hallo!"}])

    relay = RasaRelay("http://rasa", httpx.AsyncClient(transport=httpx.MockTransport(rasa)))
    with bound_request_id("turn-1"):
        await relay.send("k", "Hallo", message_id="k:1")
    await relay.send("k", "Hallo", message_id="k:2")
    await relay.close()
    assert seen == ["turn-1", None]


def test_turns_are_counted_by_channel_state_kind_and_handoff(client, relay):
    cid = start(client)
    say(client, cid, text="Wie funktioniert die Gaspreisbremse?")
    say(client, cid, text="Wie wird das Wetter?")  # a fallback
    say(client, cid, payload="/human_handoff", title="Mit einer Person sprechen")
    say(client, cid, text="Hallo, ist da jemand?")  # queued: for the agent, not Rasa
    other = start(client)
    relay.down = True
    say(client, other, text="Gaspreisbremse?")  # Rasa away: the notice, no answer
    out = client.get("/metrics").text
    assert value(out, "web_conversations_started_total") == 2
    assert value(out, "web_customer_messages_total", channel="text", state="bot") == 3
    assert value(out, "web_customer_messages_total", channel="button", state="bot") == 1
    assert value(out, "web_customer_messages_total", channel="text", state="queued") == 1
    assert value(out, "web_bot_messages_total", kind="faq") == 1
    assert value(out, "web_bot_messages_total", kind="fallback") == 1
    assert value(out, "web_bot_messages_total", kind="other") == 1  # "Gern verbinde ich …"
    assert value(out, "web_handoffs_total", kind="queued") == 1
    assert value(out, "web_handoffs_total", kind="offline") == 0
    assert value(out, "web_unanswered_turns_total") == 1
    assert value(out, "web_turn_duration_seconds_count", part="rasa") == 4
    assert value(out, "web_turn_duration_seconds_count", part="request") == 4
    assert value(out, "web_http_requests_total", method="POST", route=MESSAGES,
                 status="200") == 5
    assert value(out, "web_http_requests_total", method="POST", route="/api/v1/conversations",
                 status="201") == 2
    # Read from the database when scraped.
    assert value(out, "web_snapshot_ok") == 1
    assert value(out, "web_queue_length") == 1
    assert value(out, "web_solved_without_person_ratio") == 0.5
    assert value(out, "web_training_state", state="live") == 0


def test_refused_messages_are_not_counted(client):
    cid = start(client)
    assert client.post(f"/api/v1/conversations/{cid}/messages", json={"text": " "}).status_code \
        == 422
    assert client.post("/api/v1/conversations/gibt-es-nicht/messages",
                       json={"text": "Hallo"}).status_code == 404
    out = client.get("/metrics").text
    assert value(out, "web_customer_messages_total", channel="text", state="bot") is None
    assert value(out, "web_http_requests_total", method="POST", route=MESSAGES,
                 status="422") == 1


def test_static_files_and_unknown_paths_have_bounded_route_labels(client):
    client.get("/static/widget.js")
    client.get("/gibt/es/nicht/123")
    out = client.get("/metrics").text
    assert value(out, "web_http_requests_total", method="GET", route="/static/{path}",
                 status="200") == 1
    assert value(out, "web_http_requests_total", method="GET", route="unmatched",
                 status="404") == 1
    assert "/gibt/es" not in out


def test_apps_sharing_a_context_have_registries_of_their_own(ctx, client):
    with TestClient(create_app(context=ctx)) as second:
        second.get("/health")
        assert value(second.get("/metrics").text, "web_http_requests_total", method="GET",
                     route="/health", status="200") == 1
    assert value(client.get("/metrics").text, "web_http_requests_total", method="GET",
                 route="/health", status="200") is None


def test_metrics_are_not_in_the_openapi_schema(client):
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


def test_metrics_are_not_served_through_the_ingress(client):
    assert client.get("/metrics").status_code == 200  # Prometheus, straight to the pod
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert proxied.status_code == 404 and "web_" not in proxied.text


# --- the admins' operations figures -----------------------------------------------------------


def test_admins_get_the_figures_of_a_day_and_a_week(client, admin_client, relay):
    cid = start(client)
    say(client, cid, text="Gaspreisbremse?")
    say(client, cid, text="Wie wird das Wetter?")
    day = admin_client.get("/api/admin/kpis")
    assert day.status_code == 200
    data = day.json()
    assert data["period"] == "24h" and data["bucket_hours"] == 1 and len(data["buckets"]) == 24
    last = data["buckets"][-1]
    assert last["start"] == "2026-11-23T10:00:00Z" and last["end"] == "2026-11-23T11:00:00Z"
    assert (last["customer_messages"], last["bot_messages"], last["fallbacks"]) == (2, 2, 1)
    assert last["fallback_rate"] == 0.5 and last["handoff_rate"] == 0.0
    assert last["solved_share"] == 1.0 and last["wait_avg_s"] is None
    assert data["current"] == {
        "queue_length": 0, "longest_wait_s": 0.0, "average_wait_s": 0.0,
        "started_conversations": 1, "solved_without_person": 1, "solved_share": 1.0,
        "training": None,
    }
    week = admin_client.get("/api/admin/kpis", params={"period": "7d"}).json()
    assert week["bucket_hours"] == 6 and len(week["buckets"]) == 28
    assert sum(b["customer_messages"] for b in week["buckets"]) == 2


def test_an_unknown_period_is_refused_in_german(admin_client):
    response = admin_client.get("/api/admin/kpis", params={"period": "1y"})
    assert response.status_code == 422
    assert response.json()["problems"][0]["message"] == "Dieser Wert ist nicht erlaubt."


@pytest.mark.parametrize("who", ["anonymous", "agent", "editor"])
def test_only_admins_see_the_figures(who, client, login_as):
    user = client if who == "anonymous" else login_as(f"{who}x", who)
    assert user.get("/api/admin/kpis").status_code == (401 if who == "anonymous" else 403)


def test_the_admin_page_has_the_operations_section(admin_client):
    page = admin_client.get("/admin/").text
    for hook in ('id="betrieb"', 'id="ops-period"', 'id="ops-charts"', 'id="ops-queue"',
                 'id="ops-training"', ">Betrieb</h2>"):
        assert hook in page, hook


def test_the_admin_script_draws_without_html_strings():
    static = Path(__file__).resolve().parents[2] / "bot" / "web" / "static"
    source = (static / "admin.js").read_text(encoding="utf-8")
    assert not re.findall(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", source)
    assert "eval(" not in source and "new Function" not in source
    assert "createElementNS(SVG_NS" in source  # the charts: our own inline SVG
    assert "https://" not in source and "http://" not in source.replace(
        "http://www.w3.org/2000/svg", "")  # nothing from a CDN
