"""The action server's catalogue cache: one fetch per TTL, one failed call per outage window."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.tariff.catalogue_cache import CatalogueCache
from bot.tariff.client import PriceInfo, TariffInfo, TariffUnavailable

GAS = TariffInfo(
    "MusterGas", "gas", "Demo", (PriceInfo(date(2022, 1, 1), None, Decimal(20), Decimal(120)),)
)
STROM = TariffInfo(
    "MusterStrom", "strom", "Demo", (PriceInfo(date(2022, 1, 1), None, Decimal(40), Decimal(90)),)
)


class FakeClient:
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = 0

    def tariffs(self, energy=None):
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def test_fetches_once_per_ttl_and_filters_locally():
    client, clock = FakeClient([[GAS, STROM], [GAS]]), Clock()
    cache = CatalogueCache(client, ttl_s=300, clock=clock)
    assert cache.tariffs("gas") == [GAS]
    assert cache.tariffs("strom") == [STROM]
    assert cache.tariffs() == [GAS, STROM]
    assert client.calls == 1
    clock.now = 301
    assert cache.tariffs() == [GAS]
    assert client.calls == 2


def test_outage_costs_one_call_per_retry_window():
    client, clock = FakeClient([TariffUnavailable("down"), [GAS]]), Clock()
    cache = CatalogueCache(client, retry_after_s=30, clock=clock)
    assert cache.tariffs("gas") == []
    assert cache.tariffs("gas") == []
    assert client.calls == 1
    clock.now = 31
    assert cache.tariffs("gas") == [GAS]
    assert client.calls == 2
