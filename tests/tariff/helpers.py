"""Request builders for the engine tests (contract defaults; numbers as Decimal from str)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from bot.tariff.engine import DecemberReliefRequest, InstalmentRequest, PriceBasis
from bot.tariff.rules import Energy

# The contract's default month (shared/contracts.md section 2): a brake month.
JUNE_2023 = date(2023, 6, 1)


def D(value) -> Decimal:  # noqa: N802 - reads like the Decimal it builds
    return Decimal(str(value))


def instalment_request(
    energy: str,
    forecast,
    price,
    *,
    month: date = JUNE_2023,
    contingent=None,
    base=0,
    n: int = 12,
    net: bool = False,
    current=None,
) -> InstalmentRequest:
    return InstalmentRequest(
        energy=Energy(energy),
        forecast_kwh=D(forecast),
        working_price_ct=D(price),
        month=month,
        contingent_forecast_kwh=None if contingent is None else D(contingent),
        base_price_eur_year=D(base),
        price_basis=PriceBasis.NET if net else PriceBasis.GROSS,
        instalments_per_year=n,
        current_instalment_eur=None if current is None else D(current),
    )


def december_request(energy: str, **fields) -> DecemberReliefRequest:
    values: dict[str, Any] = {
        k: (v if v is None or isinstance(v, Decimal) else D(v)) for k, v in fields.items()
    }
    return DecemberReliefRequest(energy=Energy(energy), **values)
