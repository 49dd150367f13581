"""The tariff catalogue: the demo file, lookups, and validation errors naming file and field."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from bot.tariff.catalogue import load_catalogue
from bot.tariff.engine import instalment
from bot.tariff.errors import CatalogueError, TariffNotFound
from bot.tariff.rules import Energy
from tests.tariff.helpers import instalment_request


def test_demo_catalogue(catalogue):
    assert catalogue.demo is True
    assert catalogue.utility == "Stadtwerke Musterstadt"
    names = [t.name for t in catalogue.tariffs]
    assert {"MusterStrom Basis", "MusterGas Komfort", "MusterWärme Fernwärme"} <= set(names)
    assert {t.energy for t in catalogue.tariffs} == set(Energy)
    for tariff in catalogue.tariffs:
        years = {p.valid_from.year for p in tariff.prices}
        assert {2022, 2023, 2024} <= years, tariff.name
        assert tariff.prices[-1].valid_to is None, f"{tariff.name} has no current price"


@pytest.mark.parametrize(
    "name",
    [
        "MusterWärme Fernwärme",
        "musterwaerme fernwaerme",
        "MUSTERWÄRME   FERNWÄRME",
        " musterwärme fernwärme ",
    ],
)
def test_find_ignores_case_umlauts_and_spacing(catalogue, name):
    assert catalogue.find(name).name == "MusterWärme Fernwärme"


def test_unknown_tariff(catalogue):
    with pytest.raises(TariffNotFound, match="MusterWasser"):
        catalogue.find("MusterWasser")


@pytest.mark.parametrize(
    ("day", "price"),
    [
        (date(2022, 9, 30), "9.8"),
        (date(2022, 10, 1), "16.4"),
        (date(2023, 6, 1), "17.9"),
        (date(2023, 12, 31), "17.9"),
        (date(2024, 4, 1), "12.45"),
        (date(2030, 1, 1), "12.45"),
    ],
)
def test_price_by_date(catalogue, day, price):
    assert str(catalogue.price("MusterGas Komfort", day).working_price_ct) == price


def test_no_price_before_the_first_period(catalogue):
    with pytest.raises(TariffNotFound):
        catalogue.price("MusterGas Komfort", date(2021, 12, 31))


def test_catalogue_prices_feed_the_engine(catalogue, rules):
    """Every 2023 demo price gives a relief where it is above the reference price."""
    day = date(2023, 6, 1)
    for tariff in catalogue.tariffs:
        period = tariff.price_on(day)
        result = instalment(
            instalment_request(
                tariff.energy.value,
                3000,
                period.working_price_ct,
                base=period.base_price_eur_year,
                month=day,
            ),
            rules,
        )
        above = period.working_price_ct > rules.reference_price(tariff.energy)
        assert (result.annual_relief_eur > 0) is above, tariff.name


def _tariff(**overrides):
    tariff = {
        "name": "Test Strom",
        "energy": "strom",
        "description": "Ein Test.",
        "prices": [
            {
                "valid_from": "2023-01-01",
                "valid_to": "2023-12-31",
                "working_price_ct": 40.5,
                "base_price_eur_year": 120,
            }
        ],
    }
    tariff.update(overrides)
    return tariff


def _period(**overrides):
    period = {
        "valid_from": "2023-01-01",
        "valid_to": None,
        "working_price_ct": 40.5,
        "base_price_eur_year": 120,
    }
    period.update(overrides)
    return period


INVALID = [
    pytest.param({"demo": "yes"}, "field 'demo'", id="demo-not-bool"),
    pytest.param({"utility": ""}, "field 'utility'", id="utility-empty"),
    pytest.param({"tariffs": []}, "field 'tariffs'", id="no-tariffs"),
    pytest.param({"tariffs": ["x"]}, "field 'tariffs[0]'", id="tariff-not-mapping"),
    pytest.param({"tariffs": [_tariff(name="")]}, "tariffs[0].name", id="name-empty"),
    pytest.param({"tariffs": [_tariff(energy="wasser")]}, "tariffs[0].energy", id="energy"),
    pytest.param({"tariffs": [_tariff(prices=[])]}, "tariffs[0].prices", id="prices-empty"),
    pytest.param(
        {"tariffs": [_tariff(prices=[_period(working_price_ct=-1)])]},
        "tariffs[0].prices[0].working_price_ct",
        id="price-negative",
    ),
    pytest.param(
        {"tariffs": [_tariff(prices=[_period(working_price_ct="40")])]},
        "tariffs[0].prices[0].working_price_ct",
        id="price-text",
    ),
    pytest.param(
        {"tariffs": [_tariff(prices=[_period(working_price_ct=4850)])]},
        "tariffs[0].prices[0].working_price_ct",
        id="price-absurd",
    ),
    pytest.param(
        {"tariffs": [_tariff(prices=[_period(base_price_eur_year=-5)])]},
        "tariffs[0].prices[0].base_price_eur_year",
        id="base-negative",
    ),
    pytest.param(
        {"tariffs": [_tariff(prices=[_period(valid_from="2023-02-30")])]},
        "tariffs[0].prices[0].valid_from",
        id="date-invalid",
    ),
    pytest.param(
        {"tariffs": [_tariff(prices=[_period(valid_to="2022-12-31")])]},
        "tariffs[0].prices[0].valid_to",
        id="to-before-from",
    ),
    pytest.param(
        {"tariffs": [_tariff(prices=[{k: v for k, v in _period().items() if k != "valid_to"}])]},
        "tariffs[0].prices[0].valid_to",
        id="valid-to-missing",
    ),
    pytest.param(
        {
            "tariffs": [
                _tariff(prices=[_period(valid_to="2023-06-30"), _period(valid_from="2023-06-01")])
            ]
        },
        "tariffs[0].prices[1].valid_from",
        id="periods-overlap",
    ),
    pytest.param(
        {"tariffs": [_tariff(name="MusterWärme"), _tariff(name="musterwaerme")]},
        "tariffs[1].name",
        id="duplicate-name-folded",
    ),
]


@pytest.mark.parametrize(("overrides", "field"), INVALID)
def test_invalid_catalogue_names_file_and_field(tmp_path, overrides, field):
    data = {"demo": True, "utility": "Stadtwerke Test", "tariffs": [_tariff()], **overrides}
    path = tmp_path / "tariffs.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(CatalogueError) as info:
        load_catalogue(path)
    message = str(info.value)
    assert str(path) in message
    assert field in message


def test_valid_minimal_catalogue(tmp_path):
    path = tmp_path / "tariffs.yml"
    data = {"demo": False, "utility": "Stadtwerke Test", "tariffs": [_tariff()]}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    catalogue = load_catalogue(path)
    assert catalogue.demo is False
    assert catalogue.find("test strom").prices[0].base_price_eur_year == 120


def test_malformed_yaml(tmp_path):
    path = tmp_path / "tariffs.yml"
    path.write_text("tariffs: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match="malformed YAML"):
        load_catalogue(path)


def test_missing_file(tmp_path):
    with pytest.raises(CatalogueError, match="cannot be read"):
        load_catalogue(tmp_path / "nope.yml")
