"""Property-based tests of the engine (hypothesis): invariants over all valid household inputs."""

from __future__ import annotations

import dataclasses
import math
from datetime import date
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.tariff.engine import InstalmentRequest, PriceBasis, december_relief, instalment
from bot.tariff.rules import Energy
from tests.tariff.helpers import december_request

SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# The household limits of knowledge/facts (the engine rejects more; tested elsewhere).
LIMITS = {Energy.STROM: 30000, Energy.GAS: 1500000, Energy.WAERME: 1500000}

prices = st.decimals(min_value="0.0001", max_value=1000, places=4)
money = st.decimals(min_value=0, max_value=100000, places=2)
months = st.builds(date, st.integers(2021, 2025), st.integers(1, 12), st.just(1))


@st.composite
def requests(draw, price=prices):
    energy = draw(st.sampled_from(list(Energy)))
    kwh = st.decimals(min_value="0.01", max_value=LIMITS[energy], places=2)
    return InstalmentRequest(
        energy=energy,
        forecast_kwh=draw(kwh),
        working_price_ct=draw(price),
        month=draw(months),
        contingent_forecast_kwh=draw(st.none() | kwh),
        base_price_eur_year=draw(money),
        price_basis=draw(st.sampled_from(list(PriceBasis))),
        instalments_per_year=draw(st.sampled_from([12, 11])),
        current_instalment_eur=draw(st.none() | money),
    )


@SETTINGS
@given(request=requests())
def test_relief_and_instalments_never_negative(rules, request):
    result = instalment(request, rules)
    assert result.annual_relief_eur >= 0
    assert result.monthly_relief_eur >= 0
    assert result.instalment_without_relief_eur >= 0
    assert result.instalment_with_relief_eur >= 0
    assert result.march_2023_instalment_eur is None or result.march_2023_instalment_eur >= 0
    assert result.steps and all(result.steps)


@SETTINGS
@given(request=requests())
def test_march_and_with_relief_never_above_without(rules, request):
    result = instalment(request, rules)
    assert result.instalment_with_relief_eur <= result.instalment_without_relief_eur
    if result.march_2023_instalment_eur is not None:
        assert result.march_2023_instalment_eur <= result.instalment_with_relief_eur
    assert (result.march_2023_instalment_eur is not None) is (request.month.year == 2023)


@SETTINGS
@given(request=requests(), other=prices)
def test_relief_non_decreasing_in_working_price(rules, request, other):
    low, high = sorted([request.working_price_ct, other])
    cheap = instalment(_replace(request, working_price_ct=low), rules)
    dear = instalment(_replace(request, working_price_ct=high), rules)
    assert cheap.annual_relief_eur <= dear.annual_relief_eur
    assert cheap.monthly_relief_eur <= dear.monthly_relief_eur


def _replace(request: InstalmentRequest, **changes) -> InstalmentRequest:
    return dataclasses.replace(request, **changes)


def _cents(value: Fraction) -> Decimal:
    """Exact half-up (away from zero) rounding of a rational to the cent."""
    sign = -1 if value < 0 else 1
    return Decimal(sign * math.floor(abs(value) * 100 + Fraction(1, 2))) / 100


@SETTINGS
@given(request=requests())
def test_results_are_the_exact_values_rounded_once(rules, request):
    """Recompute with exact fractions: the engine rounds nothing before the result."""
    f = Fraction
    price = f(request.working_price_ct)
    if request.price_basis is PriceBasis.NET:
        price *= 1 + f(rules.vat_rate(request.energy, request.month))
    contingent_forecast = request.contingent_forecast_kwh or request.forecast_kwh
    annual = f(0)
    if rules.brake_applies(request.month):
        difference = max(price - f(rules.reference_price(request.energy)), f(0))
        annual = difference * f(rules.contingent_share) * f(contingent_forecast) / 100
    n = request.instalments_per_year
    without = (f(request.forecast_kwh) * price / 100 + f(request.base_price_eur_year)) / n
    with_relief = max(f(0), without - annual / n)
    result = instalment(request, rules)
    assert result.annual_relief_eur == _cents(annual)
    assert result.monthly_relief_eur == _cents(annual / 12)
    assert result.instalment_without_relief_eur == _cents(without)
    assert result.instalment_with_relief_eur == _cents(with_relief)
    if result.march_2023_instalment_eur is not None:
        assert result.march_2023_instalment_eur == _cents(max(f(0), with_relief - 2 * annual / 12))
    if request.current_instalment_eur is not None:
        assert result.difference_to_current_eur == _cents(
            f(request.current_instalment_eur) - with_relief
        )


@SETTINGS
@given(
    forecast=st.decimals(min_value="0.01", max_value=1500000, places=2),
    price=prices,
    base=money,
    december=st.none() | money,
)
def test_gas_december_aid_formula(rules, forecast, price, base, december):
    result = december_relief(
        december_request(
            "gas",
            forecast_kwh_sept_2022=forecast,
            working_price_ct_dec_2022=price,
            base_price_eur_year=base,
            december_instalment_eur=december,
        ),
        rules,
    )
    relief = Fraction(forecast) / 12 * Fraction(price) / 100 + Fraction(base) / 12
    assert result.relief_eur == _cents(relief)
    assert result.relief_eur >= 0
    if december is not None:
        assert result.settlement_eur == _cents(relief - Fraction(december))


@SETTINGS
@given(september=st.decimals(min_value="0.01", max_value=100000, places=2))
def test_heat_december_aid_is_120_percent(rules, september):
    result = december_relief(december_request("waerme", september_instalment_eur=september), rules)
    assert result.relief_eur == _cents(Fraction(september) * Fraction(6, 5))
