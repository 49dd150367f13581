"""The HTTP API of shared/contracts.md section 2, through FastAPI's TestClient."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from bot.tariff.service import create_app

S1 = {"energy": "strom", "forecast_kwh": 4500, "working_price_ct": 50, "base_price_eur_year": 84}
D3 = {
    "energy": "gas",
    "forecast_kwh_sept_2022": 21600,
    "working_price_ct_dec_2022": 10,
    "base_price_eur_year": 120,
    "december_instalment_eur": 180,
}
HEAT = {"energy": "waerme", "september_instalment_eur": 250}

INSTALMENT_KEYS = {
    "reference_price_ct",
    "contingent_kwh_year",
    "annual_relief_eur",
    "monthly_relief_eur",
    "instalment_without_relief_eur",
    "instalment_with_relief_eur",
    "march_2023_instalment_eur",
    "difference_to_current_eur",
    "steps",
}


def _fields(response) -> list[str]:
    """The field names the 422 answer points at (last element of each loc)."""
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list) and detail
    for item in detail:
        assert item["loc"][0] == "body"
        assert isinstance(item["msg"], str) and item["msg"]
    return [str(item["loc"][-1]) for item in detail]


def test_health(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_instalment_s1(client):
    response = client.post("/v1/instalment", json={**S1, "current_instalment_eur": 120})
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= INSTALMENT_KEYS
    assert body["reference_price_ct"] == 40
    assert body["contingent_kwh_year"] == 3600
    assert body["annual_relief_eur"] == 360
    assert body["monthly_relief_eur"] == 30
    assert body["instalment_without_relief_eur"] == 194.5
    assert body["instalment_with_relief_eur"] == 164.5
    assert body["march_2023_instalment_eur"] == 104.5
    assert body["difference_to_current_eur"] == -44.5
    assert body["month"] == "2023-06"  # the contract's default
    assert all(isinstance(step, str) and step for step in body["steps"])


def test_instalment_defaults_and_nulls(client):
    body = client.post("/v1/instalment", json={**S1, "month": "2024-02"}).json()
    assert body["reference_price_ct"] is None
    assert body["contingent_kwh_year"] == 0
    assert body["annual_relief_eur"] == 0
    assert body["march_2023_instalment_eur"] is None
    assert body["difference_to_current_eur"] is None
    assert body["instalments_per_year"] == 12


def test_instalment_heat_reference_and_net_price(client):
    body = client.post(
        "/v1/instalment",
        json={
            "energy": "waerme",
            "forecast_kwh": 12000,
            "working_price_ct": 20,
            "price_basis": "net",
            "month": "2023-03",
            "instalments_per_year": 11,
        },
    ).json()
    assert body["reference_price_ct"] == 9.5
    assert body["vat_rate_percent"] == 7
    assert body["working_price_gross_ct"] == 21.4
    assert body["annual_relief_eur"] == 1142.4  # (21.4 - 9.5) x 9,600 kWh / 100


def test_money_is_rounded_to_the_cent(client):
    body = client.post(
        "/v1/instalment", json={"energy": "strom", "forecast_kwh": 2500, "working_price_ct": 56}
    ).json()
    assert body["monthly_relief_eur"] == 26.67


def test_december_relief_d3(client):
    response = client.post("/v1/december-relief", json=D3)
    assert response.status_code == 200
    body = response.json()
    assert body["relief_eur"] == 190
    assert body["settlement_eur"] == 10
    assert body["steps"]


def test_december_relief_heat(client):
    body = client.post("/v1/december-relief", json=HEAT).json()
    assert body["relief_eur"] == 300
    assert body["settlement_eur"] is None


def test_electricity_has_no_december_aid(client):
    response = client.post(
        "/v1/december-relief",
        json={"energy": "strom", "forecast_kwh_sept_2022": 3000, "working_price_ct_dec_2022": 40},
    )
    assert _fields(response) == ["energy"]
    assert "Strom" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**S1, "forecast_kwh": 30001}, "forecast_kwh"),
        ({**S1, "contingent_forecast_kwh": 30001}, "contingent_forecast_kwh"),
        ({**S1, "energy": "gas", "forecast_kwh": 1500001}, "forecast_kwh"),
        ({**S1, "energy": "waerme", "forecast_kwh": 2000000}, "forecast_kwh"),
    ],
)
def test_household_limits_answer_422_naming_large_customer_rules(client, body, field):
    response = client.post("/v1/instalment", json=body)
    assert _fields(response) == [field]
    detail = response.json()["detail"][0]
    assert "Großkunden" in detail["msg"]
    assert detail["type"] == "value_error.household_limit"


# Bad values per field: (field, value); MISSING means "leave the field out".
MISSING = object()
BAD_INSTALMENT = [
    ("energy", MISSING),
    ("energy", "wasser"),
    ("energy", "Strom"),
    ("energy", 1),
    ("energy", None),
    ("forecast_kwh", MISSING),
    ("forecast_kwh", 0),
    ("forecast_kwh", -4500),
    ("forecast_kwh", 1e10),
    ("forecast_kwh", "4500"),
    ("forecast_kwh", True),
    ("forecast_kwh", None),
    ("forecast_kwh", [4500]),
    ("contingent_forecast_kwh", 0),
    ("contingent_forecast_kwh", -1),
    ("contingent_forecast_kwh", 1e12),
    ("contingent_forecast_kwh", "x"),
    ("working_price_ct", MISSING),
    ("working_price_ct", 0),
    ("working_price_ct", -50),
    ("working_price_ct", 1000.01),
    ("working_price_ct", "50"),
    ("working_price_ct", {"ct": 50}),
    ("base_price_eur_year", -1),
    ("base_price_eur_year", 1e9),
    ("base_price_eur_year", "84"),
    ("base_price_eur_year", None),
    ("price_basis", "brutto"),
    ("price_basis", 1),
    ("instalments_per_year", 10),
    ("instalments_per_year", 13),
    ("instalments_per_year", 0),
    ("instalments_per_year", "12"),
    ("instalments_per_year", 12.5),
    ("month", "2023-13"),
    ("month", "2023-00"),
    ("month", "2023-6"),
    ("month", "06-2023"),
    ("month", "2023-06-01"),
    ("month", "0000-06"),
    ("month", 202306),
    ("month", ""),
    ("current_instalment_eur", -1),
    ("current_instalment_eur", 1e9),
    ("current_instalment_eur", "120"),
    ("unknown_field", 1),
]


@pytest.mark.parametrize(("field", "value"), BAD_INSTALMENT)
def test_instalment_bad_values_answer_422_naming_the_field(client, field, value):
    body = dict(S1)
    if value is MISSING:
        body.pop(field)
    else:
        body[field] = value
    assert field in _fields(client.post("/v1/instalment", json=body))


BAD_DECEMBER = [
    ("energy", MISSING, D3),
    ("energy", "oel", D3),
    ("forecast_kwh_sept_2022", MISSING, D3),
    ("forecast_kwh_sept_2022", 0, D3),
    ("forecast_kwh_sept_2022", -1, D3),
    ("forecast_kwh_sept_2022", 1e10, D3),
    ("forecast_kwh_sept_2022", "21600", D3),
    ("working_price_ct_dec_2022", MISSING, D3),
    ("working_price_ct_dec_2022", 0, D3),
    ("working_price_ct_dec_2022", 5000, D3),
    ("base_price_eur_year", -1, D3),
    ("base_price_eur_year", False, D3),
    ("december_instalment_eur", -1, D3),
    ("december_instalment_eur", 1e12, D3),
    ("september_instalment_eur", MISSING, HEAT),
    ("september_instalment_eur", 0, HEAT),
    ("september_instalment_eur", -250, HEAT),
    ("september_instalment_eur", "250", HEAT),
    ("september_instalment_eur", 1e9, HEAT),
    ("extra", "x", HEAT),
]


@pytest.mark.parametrize(("field", "value", "base"), BAD_DECEMBER)
def test_december_bad_values_answer_422_naming_the_field(client, field, value, base):
    body = dict(base)
    if value is MISSING:
        body.pop(field, None)
    else:
        body[field] = value
    assert field in _fields(client.post("/v1/december-relief", json=body))


@pytest.mark.parametrize("path", ["/v1/instalment", "/v1/december-relief"])
@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b"{'energy': 'gas'}",
        b"",
        b"null",
        b"[]",
        b'"text"',
        b"\xff\xfe\x00",
        b'{"energy": "strom", "forecast_kwh": ' + b"9" * 5000 + b"}",
        b'{"energy": "gas", "forecast_kwh": NaN, "working_price_ct": Infinity}',
    ],
    ids=[
        "unclosed",
        "single-quotes",
        "empty",
        "null",
        "array",
        "string",
        "not-utf8",
        "int-5000-digits",
        "nan-infinity",
    ],
)
def test_malformed_json_answers_422(client, path, content):
    response = client.post(path, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert isinstance(response.json()["detail"], list)


def test_unknown_path_404(client):
    assert client.get("/v1/nope").status_code == 404
    assert client.post("/v2/instalment", json=S1).status_code == 404


def test_wrong_method_is_not_a_server_error(client):
    assert client.get("/v1/instalment").status_code == 405


def test_tariffs_list_the_catalogue(client, catalogue):
    response = client.get("/v1/tariffs")
    assert response.status_code == 200
    body = response.json()
    assert body["demo"] is True
    assert body["utility"] == catalogue.utility
    assert [t["name"] for t in body["tariffs"]] == [t.name for t in catalogue.tariffs]
    gas = next(t for t in body["tariffs"] if t["name"] == "MusterGas Komfort")
    assert gas["energy"] == "gas"
    assert gas["prices"][0] == {
        "valid_from": "2022-01-01",
        "valid_to": "2022-09-30",
        "working_price_ct": 9.8,
        "base_price_eur_year": 150,
    }
    assert gas["prices"][-1]["valid_to"] is None


def test_tariffs_filters(client):
    body = client.get("/v1/tariffs", params={"energy": "strom"}).json()
    assert body["tariffs"] and {t["energy"] for t in body["tariffs"]} == {"strom"}
    body = client.get(
        "/v1/tariffs", params={"name": "musterwaerme fernwaerme", "on": "2023-06-01"}
    ).json()
    assert [t["name"] for t in body["tariffs"]] == ["MusterWärme Fernwärme"]
    assert [p["working_price_ct"] for p in body["tariffs"][0]["prices"]] == [15.3]
    assert client.get("/v1/tariffs", params={"on": "1999-01-01"}).json()["tariffs"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [({"energy": "oel"}, "energy"), ({"on": "2023-13-01"}, "on"), ({"name": "x" * 201}, "name")],
)
def test_tariffs_bad_query_answers_422(client, params, field):
    response = client.get("/v1/tariffs", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


# Found by schemathesis (tests/tariff/test_schemathesis.py): pydantic v1 read a number as a Unix
# timestamp, so `?on=0.5` or `?on=20230601` answered 200 with the prices of a day in 1970.
@pytest.mark.parametrize(
    "on",
    ["0.5", "20230601", "1e9", "-1", "2023-6-1", "2023-02-30", "2023-06-01T00:00", " 2023-06-01"],
)
def test_tariffs_on_must_be_a_yyyy_mm_dd_day(client, on):
    response = client.get("/v1/tariffs", params={"on": on})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["query", "on"]
    assert response.json()["detail"][0]["type"] == "value_error.date"


def test_tariffs_on_is_documented_as_a_date(client):
    parameters = client.get("/openapi.json").json()["paths"]["/v1/tariffs"]["get"]["parameters"]
    schema = next(p["schema"] for p in parameters if p["name"] == "on")
    # Optional parameters are documented as anyOf [the type, null] (pydantic 2).
    (schema,) = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    assert (schema["type"], schema["format"]) == ("string", "date")


def test_openapi_is_valid(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    assert {"/health", "/v1/instalment", "/v1/december-relief", "/v1/tariffs"} <= set(spec["paths"])
    assert set(spec["paths"]["/v1/instalment"]) == {"post"}
    schemas = spec["components"]["schemas"]
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)
    # Every $ref resolves.
    refs: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in schemas, ref
    # The contract's fields are documented.
    assert {"energy", "forecast_kwh", "working_price_ct", "month", "instalments_per_year"} <= set(
        schemas["InstalmentIn"]["properties"]
    )
    assert set(schemas["InstalmentOut"]["properties"]) >= INSTALMENT_KEYS
    assert client.get("/docs").status_code == 200


def test_unexpected_error_answers_503_not_500(rules, catalogue, caplog):
    class BrokenRules:
        def __getattr__(self, name):
            raise RuntimeError("boom")

    app = create_app(rules=BrokenRules(), catalogue=catalogue)  # type: ignore[arg-type]
    with TestClient(app, raise_server_exceptions=False) as broken:
        response = broken.post("/v1/instalment", json=S1)
        assert broken.get("/health").status_code == 200
    assert response.status_code == 503
    assert response.json()["detail"]
    assert "unexpected error" in caplog.text


def test_importing_the_service_builds_no_app():
    import bot.tariff.service as service

    assert not any(isinstance(value, FastAPI) for value in vars(service).values())


def test_default_app_loads_the_knowledge_directory():
    app = create_app()
    with TestClient(app) as default:
        assert default.get("/v1/tariffs").json()["demo"] is True
        assert default.post("/v1/instalment", json=S1).status_code == 200
