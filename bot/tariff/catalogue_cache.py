"""The tariff catalogue as the action server sees it: fetched once, cached, never blocking twice.

The form asks for the catalogue on every price question (to offer the tariffs as buttons and
to recognise a named tariff). The catalogue changes rarely, so it is cached for
``TTL_S``; when the service cannot be reached the empty answer is cached for
``RETRY_AFTER_S``, so a calculator outage costs one failed call, not one per form turn.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bot.tariff.client import TariffClient, TariffInfo, TariffServiceError

TTL_S = 300.0  # editors' catalogue changes reach the chat within 5 minutes
RETRY_AFTER_S = 30.0  # after a failed fetch, try again at most every 30 s


class CatalogueCache:
    """Thread-safe cache of ``GET /v1/tariffs``."""

    def __init__(
        self,
        client: TariffClient,
        *,
        ttl_s: float = TTL_S,
        retry_after_s: float = RETRY_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._retry_after_s = retry_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._tariffs: list[TariffInfo] = []
        self._expires = float("-inf")

    def tariffs(self, energy: str | None = None) -> list[TariffInfo]:
        """The tariffs of ``energy`` (all for ``None``); empty while the service is down."""
        with self._lock:
            now = self._clock()
            if now >= self._expires:
                try:
                    self._tariffs = self._client.tariffs()
                    self._expires = now + self._ttl_s
                except TariffServiceError:
                    self._tariffs = []
                    self._expires = now + self._retry_after_s
            tariffs = self._tariffs
        return [t for t in tariffs if energy is None or t.energy == energy]
