"""Typed records of the FAQ content (one ``Topic`` per ``knowledge/topics/<id>.yml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

# Groups editors filter by (knowledge/README.md). New groups are added here deliberately.
MEASURES = (
    "preisbremsen",
    "soforthilfe",
    "mwst",
    "umlagen",
    "staatliche_hilfen",
    "abschlag_rechnung",
    "service",
)

# Facets of a topic (issue 16): what a follow-up can switch while the rest of the question stays
# ("und für Fernwärme?" after the gas brake → the district-heating brake). A topic lists, per
# facet, the values its answer is specifically about; a facet it does not list is general for it.
# The measure (``Topic.measure``) is the fourth facet. The values are closed lists so that the
# follow-up reader (bot/dialogue/facets.py) has words for each of them.
FACETS: dict[str, tuple[str, ...]] = {
    "energy": ("strom", "gas", "waerme", "heizstrom"),
    "audience": ("haushalt", "mieter", "gewerbe"),
    "aspect": (
        "funktion",
        "berechnung",
        "zeitraum",
        "antrag",
        "abschlag",
        "jahresabrechnung",
        "steuer",
        "sparen",
        "grundpreis",
        "umzug",
        "missbrauch",
    ),
}

# Units a fact may have and how they are rendered in German (see bot.knowledge.render).
UNITS = (
    "ct/kWh",
    "ct/kWh netto",
    "%",
    "€",
    "kWh",
    "€/MWh",
    "date",
    "months",
    "weeks",
    "working_days",
    "number",
)

# The customer-facing minimum of question variants per topic (issue 2; editors' content check).
MIN_QUESTIONS = 12


@dataclass(frozen=True)
class Source:
    """A citation shown to editors (and linkable from answers)."""

    title: str
    url: str


@dataclass(frozen=True)
class Topic:
    """One FAQ topic. ``answer`` is a template with ``{{placeholders}}``."""

    id: str
    version: int
    title: str
    measure: str
    valid_from: date | None
    valid_to: date | None
    stand: date
    answer: str
    sources: tuple[Source, ...]
    related: tuple[str, ...]
    questions: tuple[str, ...]
    offers_calculation: bool = False
    facets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    path: Path | None = field(default=None, compare=False)

    def facet(self, name: str) -> tuple[str, ...]:
        """The values of one facet (empty: the topic is general in that facet)."""
        if name == "measure":
            return (self.measure,)
        return dict(self.facets).get(name, ())

    def has_ended(self, today: date) -> bool:
        """True when the measure this topic describes ended before ``today``."""
        return self.valid_to is not None and self.valid_to < today


@dataclass(frozen=True)
class Fact:
    """A figure or date that answers and the calculator use, with its source."""

    name: str
    value: Decimal | date
    unit: str
    check: str
    source: str
    path: Path | None = field(default=None, compare=False)

    @property
    def number(self) -> Decimal:
        """The value as a number; raises ``TypeError`` for dates."""
        if isinstance(self.value, date):
            raise TypeError(f"fact {self.name!r} is a date, not a number")
        return self.value

    @property
    def day(self) -> date:
        """The value as a date; raises ``TypeError`` for numbers."""
        if not isinstance(self.value, date):
            raise TypeError(f"fact {self.name!r} is a number, not a date")
        return self.value


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything in ``knowledge/``: topics by id, facts by name, the utility profile."""

    topics: dict[str, Topic]
    facts: dict[str, Fact]
    utility: dict[str, Any]
