"""The calculator's request ids and metrics, and the client that sends the id."""

from __future__ import annotations

import pytest
import responses
from fastapi.testclient import TestClient

from bot.observability.logs import bound_request_id
from bot.tariff.client import TariffClient
from bot.tariff.service import create_app
from tests.observability.conftest import value

INSTALMENT = {"energy": "gas", "forecast_kwh": 15000, "working_price_ct": 12}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as test_client:
        yield test_client


def test_the_request_id_comes_back(client):
    given = client.get("/health", headers={"X-Request-ID": "turn-7"})
    assert given.headers["X-Request-ID"] == "turn-7"
    made = client.get("/health", headers={"X-Request-ID": "nicht gueltig!"})
    assert made.headers["X-Request-ID"] not in ("", "nicht gueltig!")
    assert len(client.get("/health").headers["X-Request-ID"]) == 32


def test_requests_are_counted_by_route_template_and_status(client):
    assert client.post("/v1/instalment", json=INSTALMENT).status_code == 200
    assert client.post("/v1/instalment", json={"energy": "öl"}).status_code == 422
    assert client.get("/gibt/es/nicht").status_code == 404
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    out = response.text
    route = "/v1/instalment"
    assert value(out, "calculator_http_requests_total", method="POST", route=route,
                 status="200") == 1
    assert value(out, "calculator_http_requests_total", method="POST", route=route,
                 status="422") == 1
    assert value(out, "calculator_http_requests_total", method="GET", route="unmatched",
                 status="404") == 1
    assert value(out, "calculator_http_request_duration_seconds_count", method="POST",
                 route=route) == 2


def test_metrics_are_not_part_of_the_contract(client):
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]


@responses.activate
def test_the_client_passes_the_turns_request_id_on():
    responses.get("http://calc/health", json={"status": "ok"})
    tariff = TariffClient("http://calc")
    assert tariff.health()
    with bound_request_id("turn-8"):
        assert tariff.health()
    first, second = (call.request.headers for call in responses.calls)
    assert "X-Request-ID" not in first
    assert second["X-Request-ID"] == "turn-8"
