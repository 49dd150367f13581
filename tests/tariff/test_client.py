"""The tariff calculator's HTTP client: parsing, errors, retries, timeouts (mocked with
``responses``), and one run against the real service process (``slow``)."""

from __future__ import annotations

import dataclasses
import json
import socket
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
import requests
import responses

from bot.devserver import tariff_service
from bot.settings import get_settings
from bot.tariff.client import (
    DEFAULT_TIMEOUT,
    DecemberQuote,
    InstalmentQuote,
    TariffClient,
    TariffProtocolError,
    TariffRejected,
    TariffServiceError,
    TariffUnavailable,
)
from bot.tariff.rules import Energy

BASE = "http://tariff.test"
INSTALMENT_URL = f"{BASE}/v1/instalment"
DECEMBER_URL = f"{BASE}/v1/december-relief"
TARIFFS_URL = f"{BASE}/v1/tariffs"
HEALTH_URL = f"{BASE}/health"

# What the service answers for worked example S2 (3.000 kWh at 50 ct, no base price), as
# FastAPI writes it: Decimals as JSON numbers.
S2_ANSWER: dict[str, Any] = {
    "energy": "strom",
    "month": "2023-06",
    "brake_applies": True,
    "working_price_gross_ct": 50,
    "vat_rate_percent": None,
    "reference_price_ct": 40.0,
    "contingent_kwh_year": 2400.0,
    "annual_relief_eur": 240.0,
    "monthly_relief_eur": 20.0,
    "instalment_without_relief_eur": 125.0,
    "instalment_with_relief_eur": 105.0,
    "march_2023_instalment_eur": 65.0,
    "difference_to_current_eur": None,
    "instalments_per_year": 12,
    "steps": ["Ihr Arbeitspreis von 50,00 ct/kWh liegt 10,00 ct über dem Referenzpreis.", "…"],
}
D3_ANSWER = {
    "energy": "gas",
    "relief_eur": 190.0,
    "settlement_eur": 10.0,
    "steps": ["Ihre Soforthilfe: 190 €."],
}
CATALOGUE_ANSWER = {
    "utility": "Stadtwerke Demo",
    "demo": True,
    "tariffs": [
        {
            "name": "Strom Basis",
            "energy": "strom",
            "description": "Grundversorgung",
            "prices": [
                {
                    "valid_from": "2023-01-01",
                    "valid_to": "2023-12-31",
                    "working_price_ct": 48.53,
                    "base_price_eur_year": 150.0,
                },
                {
                    "valid_from": "2024-01-01",
                    "valid_to": None,
                    "working_price_ct": 36,
                    "base_price_eur_year": 160.0,
                },
            ],
        }
    ],
}


def rejection(field, msg):
    return {"detail": [{"loc": ["body", field], "msg": msg, "type": "value_error.tariff"}]}


@pytest.fixture
def sleeps():
    return []


@pytest.fixture
def tariff_client(sleeps):
    with TariffClient(BASE, sleep=sleeps.append) as client:
        yield client


@pytest.fixture
def mocked():
    with responses.RequestsMock() as rsps:
        yield rsps


def sent_body(call) -> Any:
    return json.loads(call.request.body)


# --- parsing ------------------------------------------------------------------------------------


def test_instalment_is_parsed_into_a_frozen_quote_with_decimals(tariff_client, mocked):
    mocked.post(INSTALMENT_URL, json=S2_ANSWER)
    quote = tariff_client.instalment(energy="strom", forecast_kwh=3000, working_price_ct=50)
    assert isinstance(quote, InstalmentQuote)
    assert quote.monthly_relief_eur == Decimal("20.00")
    assert quote.instalment_with_relief_eur == Decimal("105.00")
    assert quote.instalment_without_relief_eur == Decimal("125")
    assert quote.annual_relief_eur == Decimal("240")
    assert quote.reference_price_ct == Decimal("40")
    assert quote.march_2023_instalment_eur == Decimal("65")
    assert quote.vat_rate_percent is None
    assert quote.difference_to_current_eur is None
    assert quote.brake_applies is True
    assert quote.instalments_per_year == 12
    assert quote.month == "2023-06"
    money = [
        quote.working_price_gross_ct,
        quote.contingent_kwh_year,
        quote.annual_relief_eur,
        quote.monthly_relief_eur,
        quote.instalment_without_relief_eur,
        quote.instalment_with_relief_eur,
    ]
    assert all(type(value) is Decimal for value in money)
    assert quote.steps == tuple(S2_ANSWER["steps"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        quote.monthly_relief_eur = Decimal(0)  # type: ignore[misc]


def test_money_is_read_from_the_json_text_not_through_float(tariff_client, mocked):
    # 0.1 + 0.2 style artefacts would show as Decimal('805.44000000000005...') via float.
    mocked.post(INSTALMENT_URL, json={**S2_ANSWER, "annual_relief_eur": 805.44})
    quote = tariff_client.instalment(energy="gas", forecast_kwh=12000, working_price_ct=20.39)
    assert quote.annual_relief_eur == Decimal("805.44")
    assert str(quote.annual_relief_eur) == "805.44"


def test_december_relief_is_parsed(tariff_client, mocked):
    mocked.post(DECEMBER_URL, json=D3_ANSWER)
    quote = tariff_client.december_relief(
        energy="gas",
        forecast_kwh_sept_2022=21600,
        working_price_ct_dec_2022=10,
        base_price_eur_year=120,
        december_instalment_eur=180,
    )
    assert quote == DecemberQuote(
        energy="gas",
        relief_eur=Decimal("190"),
        settlement_eur=Decimal("10"),
        steps=("Ihre Soforthilfe: 190 €.",),
    )


def test_december_relief_without_december_instalment_has_no_settlement(tariff_client, mocked):
    mocked.post(DECEMBER_URL, json={**D3_ANSWER, "settlement_eur": None})
    quote = tariff_client.december_relief(energy="waerme", september_instalment_eur=250)
    assert quote.settlement_eur is None


def test_tariffs_are_parsed_with_dated_prices(tariff_client, mocked):
    mocked.get(TARIFFS_URL, json=CATALOGUE_ANSWER)
    (tariff,) = tariff_client.tariffs()
    assert tariff.name == "Strom Basis"
    assert tariff.energy == "strom"
    first, current = tariff.prices
    assert first.valid_from == date(2023, 1, 1)
    assert first.valid_to == date(2023, 12, 31)
    assert first.working_price_ct == Decimal("48.53")
    assert current.valid_to is None
    assert current.base_price_eur_year == Decimal("160")
    assert mocked.calls[0].request.url == TARIFFS_URL  # no query without a filter


def test_tariffs_filter_by_energy_in_the_query(tariff_client, mocked):
    mocked.get(
        TARIFFS_URL,
        json=CATALOGUE_ANSWER,
        match=[responses.matchers.query_param_matcher({"energy": "strom"})],
    )
    assert len(tariff_client.tariffs("strom")) == 1


def test_catalogue_has_the_demo_flag_and_passes_every_filter(tariff_client, mocked):
    mocked.get(
        TARIFFS_URL,
        json=CATALOGUE_ANSWER,
        match=[
            responses.matchers.query_param_matcher(
                {"energy": "gas", "name": "Gas Basis", "on": "2023-06-01"}
            )
        ],
    )
    catalogue = tariff_client.catalogue("gas", name="Gas Basis", on=date(2023, 6, 1))
    assert catalogue.demo is True
    assert catalogue.utility == "Stadtwerke Demo"


# --- the request --------------------------------------------------------------------------------


def test_none_fields_are_left_out_and_numbers_are_sent_exactly(tariff_client, mocked):
    mocked.post(INSTALMENT_URL, json=S2_ANSWER)
    tariff_client.instalment(
        energy=Energy.STROM,
        forecast_kwh=Decimal("3500"),
        working_price_ct=Decimal("48.5"),
        base_price_eur_year=None,
        current_instalment_eur=None,
        contingent_forecast_kwh=None,
        instalments_per_year=11,
        month="2023-03",
    )
    request = mocked.calls[0].request
    assert request.headers["Content-Type"] == "application/json"
    assert request.body is not None
    assert b"48.5" in (request.body if isinstance(request.body, bytes) else request.body.encode())
    assert sent_body(mocked.calls[0]) == {
        "energy": "strom",
        "forecast_kwh": 3500,
        "working_price_ct": 48.5,
        "instalments_per_year": 11,
        "month": "2023-03",
    }


def test_december_relief_drops_none_fields(tariff_client, mocked):
    mocked.post(DECEMBER_URL, json=D3_ANSWER)
    tariff_client.december_relief(
        energy="gas",
        forecast_kwh_sept_2022=21600.0,
        working_price_ct_dec_2022=10,
        base_price_eur_year=None,
        september_instalment_eur=None,
        december_instalment_eur=None,
    )
    assert sent_body(mocked.calls[0]) == {
        "energy": "gas",
        "forecast_kwh_sept_2022": 21600.0,
        "working_price_ct_dec_2022": 10,
    }


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), float("nan")])
def test_non_finite_numbers_are_refused_before_sending(tariff_client, mocked, bad):
    with pytest.raises(ValueError):
        tariff_client.instalment(energy="strom", forecast_kwh=bad, working_price_ct=50)
    assert len(mocked.calls) == 0


def test_values_json_cannot_write_are_a_type_error(tariff_client, mocked):
    with pytest.raises(TypeError):
        tariff_client.instalment(energy="strom", forecast_kwh={1, 2}, working_price_ct=50)
    assert len(mocked.calls) == 0


def test_timeout_is_passed_on_every_call_including_retries(tariff_client, mocked):
    mocked.get(HEALTH_URL, json={"status": "ok"})
    mocked.post(INSTALMENT_URL, status=503)
    mocked.post(INSTALMENT_URL, json=S2_ANSWER)
    mocked.post(DECEMBER_URL, json=D3_ANSWER)
    mocked.get(TARIFFS_URL, json=CATALOGUE_ANSWER)
    assert tariff_client.health()
    tariff_client.instalment(energy="strom", forecast_kwh=3000, working_price_ct=50)
    tariff_client.december_relief(energy="waerme", september_instalment_eur=250)
    tariff_client.tariffs()
    assert len(mocked.calls) == 5
    assert [call.request.req_kwargs["timeout"] for call in mocked.calls] == [DEFAULT_TIMEOUT] * 5


def test_timeout_reaches_session_request(monkeypatch, sleeps):
    """Spy on ``Session.request`` itself: the timeout is an argument of every request."""
    seen = []

    def spy(self, method, url, **kwargs):
        seen.append(kwargs.get("timeout"))
        raise requests.ConnectionError("refused")

    monkeypatch.setattr(requests.Session, "request", spy)
    client = TariffClient(BASE, timeout=(0.5, 2.0), sleep=sleeps.append)
    with pytest.raises(TariffUnavailable):
        client.tariffs()
    assert seen == [(0.5, 2.0)] * 3


def test_base_url_defaults_to_the_settings(monkeypatch, mocked):
    monkeypatch.setenv("TARIFF_URL", "http://127.0.0.1:18123/")
    get_settings.cache_clear()
    try:
        client = TariffClient()
        assert client.base_url == "http://127.0.0.1:18123"
        mocked.get("http://127.0.0.1:18123/health", json={"status": "ok"})
        assert client.health()
    finally:
        get_settings.cache_clear()


# --- rejections: 4xx are never retried ----------------------------------------------------------


def test_422_is_rejected_with_the_services_field_and_reason(tariff_client, mocked, sleeps):
    reason = "Der Jahresverbrauch muss eine Zahl größer als 0 sein."
    mocked.post(INSTALMENT_URL, status=422, json=rejection("forecast_kwh", reason))
    with pytest.raises(TariffRejected) as caught:
        tariff_client.instalment(energy="strom", forecast_kwh=0, working_price_ct=50)
    assert caught.value.field == "forecast_kwh"
    assert caught.value.reason == reason
    assert caught.value.status_code == 422
    assert isinstance(caught.value, TariffServiceError)
    assert len(mocked.calls) == 1
    assert sleeps == []


def test_a_rejection_of_the_whole_body_names_no_field(tariff_client, mocked):
    body = {"detail": [{"loc": ["body"], "msg": "the body is not valid JSON", "type": "x"}]}
    mocked.post(INSTALMENT_URL, status=422, json=body)
    with pytest.raises(TariffRejected) as caught:
        tariff_client.instalment(energy="strom")
    assert caught.value.field is None
    assert caught.value.reason == "the body is not valid JSON"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, TariffRejected),
        (401, TariffProtocolError),
        (404, TariffProtocolError),
        (405, TariffProtocolError),
        (422, TariffRejected),
        (429, TariffUnavailable),
    ],
)
def test_4xx_answers_are_never_retried(tariff_client, mocked, sleeps, status, error):
    mocked.post(INSTALMENT_URL, status=status, json=rejection("energy", "Grund."))
    with pytest.raises(error):
        tariff_client.instalment(energy="strom", forecast_kwh=3000, working_price_ct=50)
    assert len(mocked.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    "body",
    [b"<html>Bad Request</html>", b'{"detail": "kaputt"}', b'{"detail": []}', b"{}"],
)
def test_a_rejection_without_a_readable_reason_is_a_protocol_error(tariff_client, mocked, body):
    mocked.post(INSTALMENT_URL, status=422, body=body)
    with pytest.raises(TariffProtocolError):
        tariff_client.instalment(energy="strom", forecast_kwh=3000, working_price_ct=50)
    assert len(mocked.calls) == 1


# --- unavailability: retried with backoff ------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_then_unavailable(tariff_client, mocked, sleeps, status):
    mocked.post(INSTALMENT_URL, status=status)
    with pytest.raises(TariffUnavailable, match=f"HTTP {status}"):
        tariff_client.instalment(energy="strom", forecast_kwh=3000, working_price_ct=50)
    assert len(mocked.calls) == 3
    assert sleeps == [0.1, 0.2]  # exponential backoff


def test_a_5xx_followed_by_an_answer_succeeds(tariff_client, mocked, sleeps):
    mocked.post(INSTALMENT_URL, status=503)
    mocked.post(INSTALMENT_URL, json=S2_ANSWER)
    quote = tariff_client.instalment(energy="strom", forecast_kwh=3000, working_price_ct=50)
    assert quote.instalment_with_relief_eur == Decimal(105)
    assert len(mocked.calls) == 2
    assert sleeps == [0.1]


@pytest.mark.parametrize(
    "failure",
    [
        requests.ConnectionError("Connection refused"),
        requests.ConnectTimeout("connect timed out"),
        requests.ReadTimeout("read timed out"),
        requests.exceptions.ChunkedEncodingError("connection broken"),
    ],
)
def test_connection_failures_are_retried_then_unavailable(tariff_client, mocked, sleeps, failure):
    mocked.post(DECEMBER_URL, body=failure)
    with pytest.raises(TariffUnavailable) as caught:
        tariff_client.december_relief(energy="waerme", september_instalment_eur=250)
    assert caught.value.__cause__ is failure
    assert len(mocked.calls) == 3
    assert sleeps == [0.1, 0.2]


def test_a_dropped_connection_followed_by_an_answer_succeeds(tariff_client, mocked):
    mocked.get(TARIFFS_URL, body=requests.ConnectionError("reset"))
    mocked.get(TARIFFS_URL, json=CATALOGUE_ANSWER)
    assert len(tariff_client.tariffs()) == 1
    assert len(mocked.calls) == 2


def test_no_retry_starts_after_the_retry_budget(mocked, sleeps):
    client = TariffClient(BASE, retry_budget_s=0.0, sleep=sleeps.append)
    mocked.post(INSTALMENT_URL, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(TariffUnavailable):
        client.instalment(energy="strom", forecast_kwh=3000, working_price_ct=50)
    assert len(mocked.calls) == 1
    assert sleeps == []


def test_an_invalid_url_is_unavailable_without_retries(sleeps):
    client = TariffClient("not-a-url", sleep=sleeps.append)
    with pytest.raises(TariffUnavailable):
        client.tariffs()
    assert sleeps == []


def test_attempts_must_be_at_least_one():
    with pytest.raises(ValueError):
        TariffClient(BASE, attempts=0)


# --- unreadable answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"<html>proxy page</html>",
        b'{"annual_relief_eur": NaN}',
        b"[]",
        b"",
    ],
)
def test_an_unreadable_answer_is_a_protocol_error(tariff_client, mocked, body):
    mocked.post(INSTALMENT_URL, body=body, content_type="application/json")
    with pytest.raises(TariffProtocolError):
        tariff_client.instalment(energy="strom", forecast_kwh=3000, working_price_ct=50)
    assert len(mocked.calls) == 1  # a 200 with a bad body is not retried


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("instalment_with_relief_eur", "105,00"),  # a string, not a number
        ("monthly_relief_eur", True),
        ("monthly_relief_eur", None),  # not optional
        ("instalments_per_year", 12.0),
        ("brake_applies", "yes"),
        ("steps", "one sentence"),
        ("steps", [1, 2]),
    ],
)
def test_a_mistyped_field_is_a_protocol_error(tariff_client, mocked, field, value):
    mocked.post(INSTALMENT_URL, json={**S2_ANSWER, field: value})
    with pytest.raises(TariffProtocolError, match=field):
        tariff_client.instalment(energy="strom", forecast_kwh=3000, working_price_ct=50)


def test_a_missing_field_is_a_protocol_error(tariff_client, mocked):
    answer = {k: v for k, v in S2_ANSWER.items() if k != "instalment_with_relief_eur"}
    mocked.post(INSTALMENT_URL, json=answer)
    with pytest.raises(TariffProtocolError, match="instalment_with_relief_eur"):
        tariff_client.instalment(energy="strom", forecast_kwh=3000, working_price_ct=50)


def test_a_bad_date_in_the_catalogue_is_a_protocol_error(tariff_client, mocked):
    catalogue = json.loads(json.dumps(CATALOGUE_ANSWER))
    catalogue["tariffs"][0]["prices"][0]["valid_from"] = "01.01.2023"
    mocked.get(TARIFFS_URL, json=catalogue)
    with pytest.raises(TariffProtocolError, match="valid_from"):
        tariff_client.tariffs()


def test_an_unexpected_success_status_is_a_protocol_error(tariff_client, mocked):
    mocked.post(INSTALMENT_URL, status=204)
    with pytest.raises(TariffProtocolError, match="204"):
        tariff_client.instalment(energy="strom", forecast_kwh=3000, working_price_ct=50)


# --- health and lifecycle -----------------------------------------------------------------------


def test_health_is_true_when_the_service_says_ok(tariff_client, mocked):
    mocked.get(HEALTH_URL, json={"status": "ok"})
    assert tariff_client.health() is True


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 503},
        {"body": requests.ConnectionError("refused")},
        {"json": {"status": "starting"}},
        {"body": b"ok"},
    ],
)
def test_health_is_false_at_once_when_the_service_is_not_ok(tariff_client, mocked, sleeps, answer):
    mocked.get(HEALTH_URL, **answer)
    assert tariff_client.health() is False
    assert len(mocked.calls) == 1  # a probe is not retried
    assert sleeps == []


class CountingSession(requests.Session):
    closed = 0

    def close(self):
        self.closed += 1
        super().close()


def test_the_context_manager_closes_its_own_session(monkeypatch):
    monkeypatch.setattr(requests, "Session", CountingSession)
    with TariffClient(BASE) as client:
        session = client._session
    assert isinstance(session, CountingSession)
    assert session.closed == 1


def test_close_leaves_a_callers_session_open():
    session = CountingSession()
    TariffClient(BASE, session=session).close()
    assert session.closed == 0
    session.close()


def test_a_callers_session_is_used(mocked):
    session = requests.Session()
    session.headers["X-Trace"] = "abc"
    mocked.get(HEALTH_URL, json={"status": "ok"})
    assert TariffClient(BASE, session=session).health()
    assert mocked.calls[0].request.headers["X-Trace"] == "abc"


# --- against the real service process -----------------------------------------------------------

START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_url(repo_root):
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_dir = repo_root / "build" / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    service = tariff_service(port=port, log_path=log_dir / "tariff-service-client.log").start()
    try:
        service.wait_ready(timeout=START_TIMEOUT_S)
        yield url
    finally:
        service.stop()


@pytest.mark.slow
def test_real_service_computes_the_published_examples(live_url):
    with TariffClient(live_url) as client:
        assert client.health() is True
        # Worked example S2: 3.000 kWh at 50 ct, no base price.
        s2 = client.instalment(
            energy="strom",
            forecast_kwh=3000,
            working_price_ct=Decimal("50"),
            base_price_eur_year=None,
            current_instalment_eur=None,
        )
        assert s2.monthly_relief_eur == Decimal("20.00")
        assert s2.annual_relief_eur == Decimal("240.00")
        assert s2.instalment_without_relief_eur == Decimal("125.00")
        assert s2.instalment_with_relief_eur == Decimal("105.00")
        assert s2.reference_price_ct == Decimal(40)
        assert s2.steps and all(isinstance(s, str) for s in s2.steps)
        # Worked example D3: gas, 21.600 kWh, 10 ct, 120 €/year; December instalment 180 €.
        d3 = client.december_relief(
            energy="gas",
            forecast_kwh_sept_2022=21600,
            working_price_ct_dec_2022=10,
            base_price_eur_year=120,
            december_instalment_eur=180,
        )
        assert d3.relief_eur == Decimal("190.00")
        assert d3.settlement_eur == Decimal("10.00")
        assert client.tariffs("gas")
        assert all(t.energy == "gas" for t in client.tariffs("gas"))


@pytest.mark.slow
def test_real_service_rejections_name_the_field(live_url):
    with TariffClient(live_url) as client:
        with pytest.raises(TariffRejected) as caught:
            client.instalment(energy="strom", forecast_kwh=0, working_price_ct=50)
        assert caught.value.field == "forecast_kwh"
        # Above the household limit: the engine's German reason names the large-customer rules.
        with pytest.raises(TariffRejected) as caught:
            client.instalment(energy="strom", forecast_kwh=40000, working_price_ct=50)
        assert caught.value.field == "forecast_kwh"
        assert "Großkunden" in caught.value.reason
        with pytest.raises(TariffRejected) as caught:
            client.december_relief(energy="strom", forecast_kwh_sept_2022=3000)
        assert caught.value.field == "energy"


def test_a_stopped_service_is_unavailable(sleeps):
    # Nothing listens on a freshly freed port: connections are refused at once.
    client = TariffClient(f"http://127.0.0.1:{_free_port()}", sleep=sleeps.append)
    assert client.health() is False
    with pytest.raises(TariffUnavailable):
        client.instalment(energy="strom", forecast_kwh=3000, working_price_ct=50)
    assert sleeps == [0.1, 0.2]
