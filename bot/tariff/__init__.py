"""The tariff calculator: a pure calculation engine plus its HTTP service.

``rules`` (figures from ``knowledge/facts``), ``engine`` (instalment, December aid),
``catalogue`` (``knowledge/tariffs.yml``), ``errors``; ``service`` is the FastAPI app and
``python -m bot.tariff`` serves it. The engine imports no web or Rasa code.
"""

from bot.tariff.catalogue import Catalogue, PricePeriod, Tariff, load_catalogue
from bot.tariff.engine import (
    DecemberReliefRequest,
    DecemberReliefResult,
    InstalmentRequest,
    InstalmentResult,
    PriceBasis,
    december_relief,
    instalment,
    parse_month,
)
from bot.tariff.errors import (
    CatalogueError,
    InputError,
    NoDecemberAid,
    OutsideHouseholdLimits,
    RulesError,
    TariffError,
    TariffNotFound,
)
from bot.tariff.rules import Energy, ReliefRules

__all__ = [
    "Catalogue",
    "CatalogueError",
    "DecemberReliefRequest",
    "DecemberReliefResult",
    "Energy",
    "InputError",
    "InstalmentRequest",
    "InstalmentResult",
    "NoDecemberAid",
    "OutsideHouseholdLimits",
    "PriceBasis",
    "PricePeriod",
    "ReliefRules",
    "RulesError",
    "Tariff",
    "TariffError",
    "TariffNotFound",
    "december_relief",
    "instalment",
    "load_catalogue",
    "parse_month",
]
