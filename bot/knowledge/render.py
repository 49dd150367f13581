"""Render answer templates: ``{{fact}}``, ``{{fact:format}}`` and ``{{utility.key}}``.

Numbers are written the German way (``30.000``, ``9,5``); every figure in an answer comes from
``knowledge/facts/`` through these placeholders, so a changed figure changes in one place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from bot.knowledge.model import Fact

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)(?::([a-z]+))?\s*\}\}")
FORMATS = ("num", "long", "month", "year")

MONTHS_DE = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)

# Units whose amounts are money and are shown with two decimals when not whole.
_UNIT_SUFFIX = {
    "ct/kWh": " ct/kWh",
    "ct/kWh netto": " ct/kWh netto",
    "%": " %",
    "€": " €",
    "kWh": " kWh",
    "€/MWh": " €/MWh",
    "months": " Monate",
    "weeks": " Wochen",
    "working_days": " Werktage",
    "number": "",
}


def format_number(value: Decimal, *, decimals: int | None = None) -> str:
    """Format a number in German: thousands dot, decimal comma.

    Args:
        value: the number.
        decimals: fixed number of decimals; ``None`` keeps the significant ones.

    Returns:
        e.g. ``30.000``, ``9,5``, ``0,059``, ``2,50`` (with ``decimals=2``).
    """
    if decimals is not None:
        value = value.quantize(Decimal(1).scaleb(-decimals))
    else:
        value = value.normalize()
        if value == value.to_integral():
            value = value.quantize(Decimal(1))
    sign = "-" if value < 0 else ""
    text = f"{abs(value):f}"
    whole, _, frac = text.partition(".")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    result = ".".join(groups)
    return sign + (f"{result},{frac}" if frac else result)


def format_money(value: Decimal) -> str:
    """Format euros: whole amounts without decimals, else with two (``1.200 €``, ``26,67 €``)."""
    if value == value.to_integral():
        return format_number(value) + " €"
    return format_number(value, decimals=2) + " €"


def format_date(value: date, style: str | None = None) -> str:
    """Format a date: ``31.12.2023`` (default), ``31. Dezember 2023`` (long), ``Dezember 2023``."""
    if style == "long":
        return f"{value.day}. {MONTHS_DE[value.month - 1]} {value.year}"
    if style == "month":
        return f"{MONTHS_DE[value.month - 1]} {value.year}"
    if style == "year":
        return str(value.year)
    return value.strftime("%d.%m.%Y")


def format_fact(fact: Fact, style: str | None = None) -> str:
    """Render one fact in the given style (see module docstring)."""
    if isinstance(fact.value, date):
        return format_date(fact.value, style)
    if style in ("long", "month", "year"):
        raise ValueError(f"format {style!r} is only for dates (fact {fact.name!r})")
    decimals = 2 if fact.unit == "€/MWh" else None
    if fact.unit == "€" and fact.value != fact.value.to_integral():
        decimals = 2
    number = format_number(fact.value, decimals=decimals)
    if style == "num":
        return number
    return number + _UNIT_SUFFIX[fact.unit]


def unknown_placeholders(
    template: str, facts: Mapping[str, Fact], utility: Mapping[str, Any]
) -> list[str]:
    """Return the placeholders of ``template`` that cannot be rendered (for validation)."""
    bad = []
    for match in PLACEHOLDER.finditer(template):
        name, style = match.group(1), match.group(2)
        if name.startswith("utility."):
            value = utility.get(name.removeprefix("utility."))
            if value is None or isinstance(value, (dict, list)) or style:
                bad.append(match.group(0))
        elif (
            name not in facts
            or (style is not None and style not in FORMATS)
            or style in ("long", "month", "year")
            and not isinstance(facts[name].value, date)
        ):
            bad.append(match.group(0))
    return bad


def render(template: str, facts: Mapping[str, Fact], utility: Mapping[str, Any]) -> str:
    """Replace every placeholder; raises ``KeyError`` for an unknown one."""

    def _replace(match: re.Match[str]) -> str:
        name, style = match.group(1), match.group(2)
        if name.startswith("utility."):
            key = name.removeprefix("utility.")
            if key not in utility:
                raise KeyError(f"unknown placeholder {match.group(0)}")
            return str(utility[key])
        if name not in facts:
            raise KeyError(f"unknown placeholder {match.group(0)}")
        return format_fact(facts[name], style)

    return PLACEHOLDER.sub(_replace, template)


_LINK_TARGET = re.compile(r"\]\([^)]*\)")


def digits_outside_placeholders(template: str) -> list[str]:
    """Return the text fragments with digits that are neither placeholders nor link targets.

    Answers must take every figure from ``knowledge/facts/`` (one place, checked against the
    domain sources), so a literal digit in an answer template is a content error.
    """
    stripped = _LINK_TARGET.sub("]()", PLACEHOLDER.sub("", template))
    return re.findall(r"\S*\d\S*", stripped)
