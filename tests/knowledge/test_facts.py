"""Every fact in knowledge/facts/ is stated by ../shared/domain/relief-measures.md."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.knowledge.render import MONTHS_DE, format_number

MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _norm(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def domain_text(shared_dir):
    return _norm((shared_dir / "domain" / "relief-measures.md").read_text(encoding="utf-8"))


def _spellings(value) -> list[str]:
    if isinstance(value, date):
        d, m, y = value.day, value.month, value.year
        forms = [
            f"{d}.{m}.{y}",
            f"{d:02d}.{m:02d}.{y}",
            f"{d} {MONTHS_EN[m - 1]} {y}",
            f"{d}.{m}.–",
            f"{d:02d}.{m:02d}.–",
        ]
        if d == 1:
            forms.append(f"{MONTHS_EN[m - 1]} {y}")
            forms.append(f"Monat {MONTHS_DE[m - 1]} {y}")
        return forms
    return [format_number(value), format_number(value, decimals=2)]


def test_every_fact_check_is_quoted_from_the_domain_file(kb, domain_text):
    for fact in kb.facts.values():
        assert _norm(fact.check) in domain_text, f"{fact.path}: fact {fact.name!r}: check not found"


def test_every_fact_value_appears_in_its_check(kb):
    for fact in kb.facts.values():
        check = _norm(fact.check)
        assert any(
            s in check for s in _spellings(fact.value)
        ), f"{fact.path}: fact {fact.name!r}: value {fact.value} not in its check {check!r}"


def test_no_value_is_defined_twice_for_the_same_statement(kb):
    seen: dict[tuple[object, str, str], str] = {}
    for fact in kb.facts.values():
        key = (fact.value, fact.unit, _norm(fact.check))
        assert key not in seen, f"facts {seen.get(key)!r} and {fact.name!r} state the same figure"
        seen[key] = fact.name


def test_reference_prices_match_the_law(kb):
    # The calculator's core numbers (relief-measures.md §§ 1.1, 2.1).
    assert str(kb.facts["strom_referenzpreis"].value) == "40"
    assert str(kb.facts["gas_referenzpreis"].value) == "12"
    assert str(kb.facts["waerme_referenzpreis"].value) == "9.5"
    assert str(kb.facts["kontingent_anteil"].value) == "80"
    assert re.fullmatch(r"2023-12-31", kb.facts["preisbremsen_ende"].value.isoformat())
