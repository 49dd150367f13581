"""The utility's tariff catalogue (``knowledge/tariffs.yml``): products with dated gross prices.

The shipped catalogue is marked ``demo: true``: fictional products of "Stadtwerke Musterstadt".
Loading validates everything at once and raises one :class:`~bot.tariff.errors.CatalogueError`
naming the file and field of every problem, like the knowledge loader does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from bot.nlu.normalize import fold
from bot.tariff.errors import CatalogueError, TariffNotFound
from bot.tariff.rules import Energy

# Sanity bounds for catalogue prices: a typo like 4850 instead of 48.50 should fail loading.
MAX_WORKING_PRICE_CT = Decimal(1000)
MAX_BASE_PRICE_EUR_YEAR = Decimal(100_000)


@dataclass(frozen=True)
class PricePeriod:
    """A gross price valid from ``valid_from`` to ``valid_to`` (inclusive; ``None``: open)."""

    valid_from: date
    valid_to: date | None
    working_price_ct: Decimal
    base_price_eur_year: Decimal

    def covers(self, day: date) -> bool:
        """True when the price is valid on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class Tariff:
    """A product of the catalogue with its price history (oldest first)."""

    name: str
    energy: Energy
    description: str
    prices: tuple[PricePeriod, ...]

    def price_on(self, day: date) -> PricePeriod:
        """The price valid on ``day``.

        Raises:
            TariffNotFound: the tariff had no price on that day.
        """
        for period in self.prices:
            if period.covers(day):
                return period
        raise TariffNotFound(f"{self.name} hat am {day:%d.%m.%Y} keinen gültigen Preis.")


def tariff_key(name: str) -> str:
    """The key tariff names are compared by: folded case and umlauts, single spaces."""
    return " ".join(fold(name).split())


@dataclass(frozen=True)
class Catalogue:
    """All tariffs of the utility.

    Attributes:
        utility: the utility's name.
        demo: True when the prices are fictional demo values.
        tariffs: the products in file order.
    """

    utility: str
    demo: bool
    tariffs: tuple[Tariff, ...]

    def find(self, name: str) -> Tariff:
        """The tariff called ``name`` (case, umlauts and spacing do not matter).

        Raises:
            TariffNotFound: no tariff has that name.
        """
        key = tariff_key(name)
        for tariff in self.tariffs:
            if tariff_key(tariff.name) == key:
                return tariff
        raise TariffNotFound(f"Einen Tarif namens {name!r} gibt es nicht.")

    def price(self, name: str, day: date) -> PricePeriod:
        """The price of tariff ``name`` valid on ``day``.

        Raises:
            TariffNotFound: unknown tariff, or no price on that day.
        """
        return self.find(name).price_on(day)

    def for_energy(self, energy: Energy) -> tuple[Tariff, ...]:
        """The tariffs of one energy."""
        return tuple(t for t in self.tariffs if t.energy is energy)


def load_catalogue(path: Path) -> Catalogue:
    """Load and validate a tariff catalogue file.

    Args:
        path: the YAML file (``knowledge/tariffs.yml``).

    Returns:
        The catalogue.

    Raises:
        CatalogueError: listing every problem, each with the file and field.
    """
    problems: list[str] = []
    try:
        with path.open(encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise CatalogueError([f"{path}: malformed YAML{where}"]) from exc
    except OSError as exc:
        raise CatalogueError([f"{path}: cannot be read: {exc}"]) from exc
    if not isinstance(data, dict):
        raise CatalogueError([f"{path}: expected a mapping with demo, utility, tariffs"])
    demo = data.get("demo")
    if not isinstance(demo, bool):
        problems.append(f"{path}: field 'demo' must be true or false")
    utility = data.get("utility")
    if not isinstance(utility, str) or not utility.strip():
        problems.append(f"{path}: field 'utility' must be a non-empty text")
    raw_tariffs = data.get("tariffs")
    tariffs: list[Tariff] = []
    if not isinstance(raw_tariffs, list) or not raw_tariffs:
        problems.append(f"{path}: field 'tariffs' must list at least one tariff")
        raw_tariffs = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(raw_tariffs):
        tariff = _tariff(raw, f"{path}: field 'tariffs[{i}]", problems)
        if tariff is None:
            continue
        key = tariff_key(tariff.name)
        if key in seen:
            problems.append(
                f"{path}: field 'tariffs[{i}].name': {tariff.name!r} is already the name of "
                f"{seen[key]!r} (names are compared without case and umlauts)"
            )
            continue
        seen[key] = tariff.name
        tariffs.append(tariff)
    if problems:
        raise CatalogueError(problems)
    return Catalogue(utility=str(utility).strip(), demo=bool(demo), tariffs=tuple(tariffs))


def _tariff(raw: Any, where: str, problems: list[str]) -> Tariff | None:
    """Validate one tariff; ``where`` is ``"<file>: field 'tariffs[i]"`` (quote left open)."""
    if not isinstance(raw, dict):
        problems.append(f"{where}' must be a mapping with name, energy, description, prices")
        return None
    before = len(problems)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{where}.name' must be a non-empty text")
    energy: Energy | None = None
    try:
        energy = Energy(raw.get("energy"))
    except ValueError:
        allowed = ", ".join(e.value for e in Energy)
        problems.append(f"{where}.energy' must be one of {allowed}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        problems.append(f"{where}.description' must be a text")
    raw_prices = raw.get("prices")
    periods: list[PricePeriod] = []
    if not isinstance(raw_prices, list) or not raw_prices:
        problems.append(f"{where}.prices' must list at least one price period")
        raw_prices = []
    for j, raw_period in enumerate(raw_prices):
        period = _period(raw_period, f"{where}.prices[{j}]", problems)
        if period is None:
            continue
        if periods:
            previous = periods[-1]
            if previous.valid_to is None or previous.valid_to >= period.valid_from:
                problems.append(
                    f"{where}.prices[{j}].valid_from' overlaps the period before it "
                    "(periods must be oldest first and must not overlap)"
                )
        periods.append(period)
    if len(problems) > before or energy is None or not isinstance(name, str):
        return None
    return Tariff(
        name=name.strip(),
        energy=energy,
        description=str(description).strip(),
        prices=tuple(periods),
    )


def _period(raw: Any, where: str, problems: list[str]) -> PricePeriod | None:
    if not isinstance(raw, dict):
        problems.append(
            f"{where}' must be a mapping with valid_from, valid_to, working_price_ct, "
            "base_price_eur_year"
        )
        return None
    before = len(problems)
    valid_from = _day(raw.get("valid_from"), f"{where}.valid_from'", problems, optional=False)
    valid_to = _day(raw.get("valid_to"), f"{where}.valid_to'", problems, optional=True)
    if "valid_to" not in raw:
        problems.append(f"{where}.valid_to' is missing (write null for a current price)")
    working = _amount(
        raw.get("working_price_ct"), f"{where}.working_price_ct'", problems, MAX_WORKING_PRICE_CT
    )
    base = _amount(
        raw.get("base_price_eur_year"),
        f"{where}.base_price_eur_year'",
        problems,
        MAX_BASE_PRICE_EUR_YEAR,
        allow_zero=True,
    )
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        problems.append(f"{where}.valid_to' is before valid_from")
    if len(problems) > before or valid_from is None or working is None or base is None:
        return None
    return PricePeriod(
        valid_from=valid_from,
        valid_to=valid_to,
        working_price_ct=working,
        base_price_eur_year=base,
    )


def _day(value: Any, where: str, problems: list[str], *, optional: bool) -> date | None:
    if value is None and optional:
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems.append(f"{where} must be a date YYYY-MM-DD, got {value!r}")
    return None


def _amount(
    value: Any, where: str, problems: list[str], maximum: Decimal, *, allow_zero: bool = False
) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        problems.append(f"{where} must be a number, got {value!r}")
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:  # pragma: no cover - str() of an int or float always parses
        amount = Decimal("NaN")
    if (
        not amount.is_finite()
        or not (amount >= 0 if allow_zero else amount > 0)
        or (amount > maximum)
    ):
        lowest = "0 or more" if allow_zero else "more than 0"
        problems.append(f"{where} must be {lowest} and at most {maximum}, got {value!r}")
        return None
    return amount
