"""The dated rules of the relief measures, built from ``knowledge/facts`` (where numbers live).

The engine never writes a reference price, a share, a limit, a VAT rate or a date itself: it asks
a :class:`ReliefRules`, which :meth:`ReliefRules.from_knowledge` builds from the facts that the
FAQ answers use too. Changing a figure in ``knowledge/facts/core.yml`` changes answers and
calculator together. Section numbers refer to ``shared/domain/relief-measures.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import Enum
from types import MappingProxyType

from bot.knowledge.model import Fact, KnowledgeBase
from bot.tariff.errors import RulesError

# Percent facts (unit "%") are stored as e.g. 80; the engine computes with the fraction 0.8.
_PERCENT = Decimal(100)


class Energy(str, Enum):
    """The energies the calculator knows (values as in the HTTP API)."""

    STROM = "strom"
    GAS = "gas"
    WAERME = "waerme"

    @property
    def label(self) -> str:
        """German name of the energy, for customer-facing sentences."""
        return _LABELS[self]

    @property
    def brake(self) -> str:
        """German name of the price brake for this energy."""
        return _BRAKES[self]


_LABELS = {Energy.STROM: "Strom", Energy.GAS: "Erdgas", Energy.WAERME: "Wärme"}
_BRAKES = {
    Energy.STROM: "Strompreisbremse",
    Energy.GAS: "Gaspreisbremse",
    Energy.WAERME: "Wärmepreisbremse",
}

# The reduced VAT rate of § 28 Abs. 5/6 UStG covers gas through the gas grid and heat through a
# heat network only; electricity always bears the standard rate (relief-measures.md § 4).
_REDUCED_VAT_ENERGIES = frozenset({Energy.GAS, Energy.WAERME})


def month_start(day: date) -> date:
    """The first day of the month of ``day`` (months are the unit of every rule)."""
    return day.replace(day=1)


@dataclass(frozen=True)
class ReliefRules:
    """Every figure the engine needs, each taken from one fact.

    Attributes:
        reference_price_ct: gross reference price per energy, ct/kWh (§ 1.1, § 2.1; § 6.1).
        household_limit_kwh: annual consumption up to which the household rules apply, kWh
            (electricity 30,000 kWh, gas and heat 1.5 GWh; § 1.1, § 2.1).
        contingent_share: share of the forecast that is relieved, as a fraction (0.8; § 6.3).
        brake_start: first day of the first month with a brake (1.1.2023).
        brake_end: last day of the brakes (31.12.2023; § 5.7).
        credit_start: first day from which relief was credited in the instalments; the months
            before it are credited together with it (1.3.2023; § 1.4, § 2.4, § 6.6).
        vat_standard: standard VAT rate as a fraction (0.19).
        vat_reduced: reduced VAT rate on gas and heat as a fraction (0.07; § 4).
        vat_reduced_start: first day of the reduced rate (1.10.2022).
        vat_reduced_end: last day of the reduced rate (31.3.2024).
        heat_december_surcharge: surcharge on the September 2022 instalment for the heat
            December aid, as a fraction (0.2; § 3.4).
        december_aid_day: the day whose working price counts for the gas December aid
            (1.12.2022; § 3.2).
        large_customer_reference_ct_net: net reference price for large customers, ct/kWh, where
            known (electricity 13, gas 7) – only quoted in the household-limit message.
        large_customer_contingent_share: relieved share for large customers (0.7), idem.
    """

    reference_price_ct: Mapping[Energy, Decimal]
    household_limit_kwh: Mapping[Energy, Decimal]
    contingent_share: Decimal
    brake_start: date
    brake_end: date
    credit_start: date
    vat_standard: Decimal
    vat_reduced: Decimal
    vat_reduced_start: date
    vat_reduced_end: date
    heat_december_surcharge: Decimal
    december_aid_day: date
    large_customer_reference_ct_net: Mapping[Energy, Decimal]
    large_customer_contingent_share: Decimal

    @classmethod
    def from_knowledge(cls, kb: KnowledgeBase) -> ReliefRules:
        """Build the rules from a loaded knowledge base (see :meth:`from_facts`)."""
        return cls.from_facts(kb.facts)

    @classmethod
    def from_facts(cls, facts: Mapping[str, Fact]) -> ReliefRules:
        """Build the rules from the facts of ``knowledge/facts``.

        Args:
            facts: facts by name, as in ``KnowledgeBase.facts``.

        Returns:
            The rules.

        Raises:
            RulesError: a fact is missing, has the wrong unit, or the dates contradict each
                other; every problem is listed with its fact name and file.
        """
        reader = _FactReader(facts)
        strom_limit = reader.number("strom_grenze_haushalt", "kWh")
        gas_limit = reader.number("gas_grenze_haushalt", "kWh")
        rules = cls(
            reference_price_ct=MappingProxyType(
                {
                    Energy.STROM: reader.number("strom_referenzpreis", "ct/kWh"),
                    Energy.GAS: reader.number("gas_referenzpreis", "ct/kWh"),
                    Energy.WAERME: reader.number("waerme_referenzpreis", "ct/kWh"),
                }
            ),
            # Heat uses the gas limit of 1.5 GWh (§ 6.1: "9,5 (Wärme ≤1,5 GWh)").
            household_limit_kwh=MappingProxyType(
                {Energy.STROM: strom_limit, Energy.GAS: gas_limit, Energy.WAERME: gas_limit}
            ),
            contingent_share=reader.percent("kontingent_anteil"),
            brake_start=reader.day("preisbremsen_beginn"),
            brake_end=reader.day("preisbremsen_ende"),
            credit_start=reader.day("preisbremsen_gutschrift_ab"),
            vat_standard=reader.percent("mwst_regelsatz"),
            vat_reduced=reader.percent("mwst_ermaessigt"),
            vat_reduced_start=reader.day("mwst_senkung_beginn"),
            vat_reduced_end=reader.day("mwst_senkung_ende"),
            heat_december_surcharge=reader.percent("soforthilfe_waerme_zuschlag"),
            december_aid_day=reader.day("soforthilfe_stichtag"),
            large_customer_reference_ct_net=MappingProxyType(
                {
                    Energy.STROM: reader.number("strom_referenzpreis_grosskunden", "ct/kWh netto"),
                    Energy.GAS: reader.number("gas_referenzpreis_grosskunden", "ct/kWh netto"),
                }
            ),
            large_customer_contingent_share=reader.percent("kontingent_anteil_grosskunden"),
        )
        reader.problems.extend(rules._contradictions())
        if reader.problems:
            raise RulesError(
                "the tariff rules cannot be built from knowledge/facts:\n"
                + "\n".join(f"  - {p}" for p in reader.problems)
            )
        return rules

    def _contradictions(self) -> list[str]:
        problems = []
        if not self.brake_start <= self.credit_start <= self.brake_end:
            problems.append(
                "preisbremsen_gutschrift_ab must lie between preisbremsen_beginn and "
                "preisbremsen_ende"
            )
        if self.vat_reduced_start > self.vat_reduced_end:
            problems.append("mwst_senkung_beginn must not be after mwst_senkung_ende")
        for name, share in (
            ("kontingent_anteil", self.contingent_share),
            ("mwst_regelsatz", self.vat_standard),
            ("mwst_ermaessigt", self.vat_reduced),
        ):
            if not Decimal(0) <= share <= Decimal(1):
                problems.append(f"{name} must be between 0 and 100 %")
        return problems

    def reference_price(self, energy: Energy) -> Decimal:
        """The gross reference price of ``energy`` for household customers, ct/kWh."""
        return self.reference_price_ct[energy]

    def household_limit(self, energy: Energy) -> Decimal:
        """The annual consumption up to which the household rules apply, kWh."""
        return self.household_limit_kwh[energy]

    def brake_applies(self, month: date) -> bool:
        """True when a price brake applies in the month of ``month`` (2023-01 … 2023-12)."""
        first = month_start(month)
        return month_start(self.brake_start) <= first <= self.brake_end

    @property
    def catch_up_months(self) -> tuple[date, ...]:
        """The brake months credited late, together with the first credit month (Jan, Feb 2023).

        Small customers received the relief for these months with the instalment of
        :attr:`credit_start`, each computed with that month's values (§ 1.4, § 2.4, § 6.6).
        """
        months = []
        month = month_start(self.brake_start)
        while month < month_start(self.credit_start):
            months.append(month)
            month = _next_month(month)
        return tuple(months)

    @property
    def credit_month(self) -> date:
        """The first month whose instalment carried the relief (March 2023)."""
        return month_start(self.credit_start)

    def vat_rate(self, energy: Energy, month: date) -> Decimal:
        """The VAT rate for ``energy`` delivered in the month of ``month``, as a fraction.

        Gas and heat bear the reduced rate in the months from ``vat_reduced_start`` to
        ``vat_reduced_end`` (2022-10 … 2024-03), everything else the standard rate (§ 4).
        """
        first = month_start(month)
        if (
            energy in _REDUCED_VAT_ENERGIES
            and month_start(self.vat_reduced_start) <= first <= self.vat_reduced_end
        ):
            return self.vat_reduced
        return self.vat_standard


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


class _FactReader:
    """Reads typed facts and collects every problem instead of stopping at the first."""

    def __init__(self, facts: Mapping[str, Fact]) -> None:
        self.facts = facts
        self.problems: list[str] = []

    def _fact(self, name: str, unit: str) -> Fact | None:
        fact = self.facts.get(name)
        if fact is None:
            self.problems.append(f"fact {name!r} is missing (knowledge/facts/*.yml)")
            return None
        if fact.unit != unit:
            self.problems.append(
                f"{fact.path}: fact {name!r} has unit {fact.unit!r}, the calculator needs {unit!r}"
            )
            return None
        return fact

    def number(self, name: str, unit: str) -> Decimal:
        fact = self._fact(name, unit)
        if fact is None or isinstance(fact.value, date):
            return Decimal(0)
        return fact.value

    def percent(self, name: str) -> Decimal:
        return self.number(name, "%") / _PERCENT

    def day(self, name: str) -> date:
        fact = self._fact(name, "date")
        if fact is None or not isinstance(fact.value, date):
            return date.min
        return fact.value
