"""The tariff engine's errors.

Every error the engine raises on purpose is a :class:`TariffError`; anything else is a bug::

    TariffError (ValueError)
     ├── RulesError              knowledge/facts lacks a figure the engine needs, or mistypes it
     ├── CatalogueError          knowledge/tariffs.yml is invalid (lists every problem)
     ├── TariffNotFound          no tariff of that name, or no price on that date (also LookupError)
     └── InputError              a request the rules cannot calculate; names the field and reason
          ├── OutsideHouseholdLimits   consumption above the household limit (large-customer rules)
          └── NoDecemberAid            electricity: the December 2022 aid was for gas and heat only

The HTTP service answers an ``InputError`` with ``422`` and its ``field`` as the location, so
the messages are written for customers and integrators alike (German, no legal jargon).
"""

from __future__ import annotations

from collections.abc import Sequence


class TariffError(ValueError):
    """Base class of every error the tariff engine raises on purpose."""


class RulesError(TariffError):
    """The figures in ``knowledge/facts`` are missing or have the wrong type or unit."""


class CatalogueError(TariffError):
    """The tariff catalogue is invalid; ``problems`` names the file and field of each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid tariff catalogue:\n" + "\n".join(f"  - {p}" for p in problems))


class TariffNotFound(TariffError, LookupError):
    """No tariff with that name, or the tariff has no price valid on the requested date."""


class InputError(TariffError):
    """A request value the rules cannot calculate with.

    Attributes:
        field: the request field at fault (as named in the HTTP API).
        reason: a German sentence saying what is wrong and what to do.
        kind: a short machine-readable error type (used as ``type`` in the 422 answer).
    """

    kind = "value_error.tariff"

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class OutsideHouseholdLimits(InputError):
    """The consumption is above the household limit, where large-customer rules apply."""

    kind = "value_error.household_limit"


class NoDecemberAid(InputError):
    """There was no December 2022 emergency aid for this energy (electricity)."""

    kind = "value_error.no_december_aid"
