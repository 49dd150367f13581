"""German rendering of figures and dates, and the dated note under answers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.knowledge.model import Fact
from bot.knowledge.render import format_date, format_fact, format_money, format_number, render


def fact(value, unit):
    return Fact(name="x", value=value, unit=unit, check="", source="")


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (Decimal("30000"), None, "30.000"),
        (Decimal("1500000"), None, "1.500.000"),
        (Decimal("9.5"), None, "9,5"),
        (Decimal("0.059"), None, "0,059"),
        (Decimal("2.5"), 2, "2,50"),
        (Decimal("40.00"), None, "40"),
        (Decimal("-12.5"), None, "-12,5"),
    ],
)
def test_format_number(value, decimals, expected):
    assert format_number(value, decimals=decimals) == expected


def test_format_money():
    assert format_money(Decimal("1200")) == "1.200 €"
    assert format_money(Decimal("26.666")) == "26,67 €"


def test_format_fact_units_and_styles():
    assert format_fact(fact(Decimal("9.5"), "ct/kWh")) == "9,5 ct/kWh"
    assert format_fact(fact(Decimal("80"), "%")) == "80 %"
    assert format_fact(fact(Decimal("2.5"), "€/MWh")) == "2,50 €/MWh"
    assert format_fact(fact(Decimal("8"), "working_days")) == "8 Werktage"
    assert format_fact(fact(Decimal("40"), "ct/kWh"), "num") == "40"
    d = fact(date(2023, 3, 1), "date")
    assert format_fact(d) == "01.03.2023"
    assert format_fact(d, "long") == "1. März 2023"
    assert format_fact(d, "month") == "März 2023"
    with pytest.raises(ValueError):
        format_fact(fact(Decimal("1"), "€"), "long")


def test_render_placeholders():
    facts = {"ref": Fact("ref", Decimal("12"), "ct/kWh", "", "")}
    text = render(
        "Gas: {{ref}} ({{ ref:num }} Cent), Tel. {{utility.phone}}", facts, {"phone": "0800"}
    )
    assert text == "Gas: 12 ct/kWh (12 Cent), Tel. 0800"
    with pytest.raises(KeyError):
        render("{{missing}}", facts, {})


def test_format_date_default():
    assert format_date(date(2024, 3, 31)) == "31.03.2024"
