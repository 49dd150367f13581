"""ReliefRules: built from knowledge/facts, dated, and the only source of the engine's figures."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest

from bot.tariff.engine import december_relief, instalment
from bot.tariff.errors import OutsideHouseholdLimits, RulesError
from bot.tariff.rules import Energy, ReliefRules
from tests.tariff.helpers import JUNE_2023, december_request, instalment_request


def test_figures_come_from_the_facts(rules):
    assert rules.reference_price(Energy.STROM) == 40
    assert rules.reference_price(Energy.GAS) == 12
    assert rules.reference_price(Energy.WAERME) == Decimal("9.5")
    assert rules.household_limit(Energy.STROM) == 30000
    assert rules.household_limit(Energy.GAS) == rules.household_limit(Energy.WAERME) == 1500000
    assert rules.contingent_share == Decimal("0.8")
    assert rules.heat_december_surcharge == Decimal("0.2")
    assert (rules.brake_start, rules.brake_end) == (date(2023, 1, 1), date(2023, 12, 31))
    assert rules.catch_up_months == (date(2023, 1, 1), date(2023, 2, 1))
    assert rules.credit_month == date(2023, 3, 1)


@pytest.mark.parametrize(
    ("day", "applies"),
    [
        (date(2022, 12, 31), False),
        (date(2023, 1, 1), True),
        (date(2023, 1, 15), True),
        (date(2023, 12, 31), True),
        (date(2024, 1, 1), False),
    ],
)
def test_brake_months(rules, day, applies):
    assert rules.brake_applies(day) is applies


@pytest.mark.parametrize(
    ("energy", "day", "rate"),
    [
        (Energy.GAS, date(2022, 9, 30), "0.19"),
        (Energy.GAS, date(2022, 10, 1), "0.07"),
        (Energy.WAERME, date(2024, 3, 31), "0.07"),
        (Energy.WAERME, date(2024, 4, 1), "0.19"),
        (Energy.STROM, date(2023, 6, 1), "0.19"),
    ],
)
def test_vat_by_month(rules, energy, day, rate):
    assert rules.vat_rate(energy, day) == Decimal(rate)


def _with(kb, **values):
    """The knowledge's facts with some values replaced."""
    facts = dict(kb.facts)
    for name, value in values.items():
        facts[name] = dataclasses.replace(facts[name], value=value)
    return facts


def test_changed_facts_change_the_results(kb):
    """Nothing is hard-coded in the engine: other facts give other answers."""
    rules = ReliefRules.from_facts(
        _with(
            kb,
            strom_referenzpreis=Decimal(30),
            kontingent_anteil=Decimal(50),
            strom_grenze_haushalt=Decimal(5000),
            preisbremsen_ende=date(2024, 6, 30),
            preisbremsen_gutschrift_ab=date(2023, 1, 1),
            mwst_regelsatz=Decimal(20),
            soforthilfe_waerme_zuschlag=Decimal(50),
        )
    )
    result = instalment(
        instalment_request("strom", 4500, 50, month=date(2024, 5, 1), net=True), rules
    )
    assert result.brake_applies
    assert result.working_price_gross_ct == 60  # 50 ct + 20 % VAT
    assert result.reference_price_ct == 30
    assert result.contingent_kwh_year == 2250  # 50 % of 4,500 kWh
    assert result.annual_relief_eur == 675  # 30 ct x 2,250 kWh
    # No catch-up months when the credit starts with the brake: March = the normal instalment.
    assert result.march_2023_instalment_eur == result.instalment_with_relief_eur
    heat = december_relief(december_request("waerme", september_instalment_eur=100), rules)
    assert heat.relief_eur == 150
    with pytest.raises(OutsideHouseholdLimits):  # the changed limit of 5,000 kWh
        instalment(instalment_request("strom", 5001, 50), rules)


def test_default_rules_are_the_knowledge_rules(kb, rules):
    assert ReliefRules.from_knowledge(kb) == rules
    assert instalment(instalment_request("gas", 15000, 22, month=JUNE_2023), rules)


def test_missing_fact_is_named(kb):
    facts = dict(kb.facts)
    del facts["gas_referenzpreis"]
    with pytest.raises(RulesError, match="gas_referenzpreis"):
        ReliefRules.from_facts(facts)


def test_wrong_unit_names_fact_and_file(kb):
    facts = dict(kb.facts)
    facts["kontingent_anteil"] = dataclasses.replace(facts["kontingent_anteil"], unit="kWh")
    with pytest.raises(RulesError) as info:
        ReliefRules.from_facts(facts)
    assert "kontingent_anteil" in str(info.value)
    assert "core.yml" in str(info.value)


def test_contradicting_dates_are_errors(kb):
    with pytest.raises(RulesError, match="preisbremsen_gutschrift_ab"):
        ReliefRules.from_facts(_with(kb, preisbremsen_gutschrift_ab=date(2022, 1, 1)))
    with pytest.raises(RulesError, match="mwst_senkung_beginn"):
        ReliefRules.from_facts(_with(kb, mwst_senkung_ende=date(2022, 1, 1)))
