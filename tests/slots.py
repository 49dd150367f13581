"""Ports and Redis databases of the servers the tests start, shifted by ``TEST_SLOT``.

The end-to-end and production tests start real processes on fixed ports (15xxx, 16xxx, 17xxx,
18xxx, each at most 310 above its thousand) and use fixed Redis databases (11-13). Two test
runs on one machine (two checkouts, or a test run beside a benchmark) would take each other's
ports and flush each other's Redis keys. With ``TEST_SLOT=1..3`` a run moves its ports up by
4,000 per slot and its Redis databases down by 3 per slot (Redis has 0-15; ``make run-prod``
uses 0 and 1). The default slot 0 keeps the documented numbers.

Slots 4-7 (several helpers testing one checkout) reuse the port ranges of slots 0-3 shifted by
another 500, in the gap above each thousand's used ports; all ports stay below Linux's ephemeral
range, which starts at 32768. Redis has no databases left for them: a test needing its own
Redis database is skipped there (:func:`redis_db`).
"""

from __future__ import annotations

import os

import pytest

SLOT = int(os.environ.get("TEST_SLOT", "0") or 0)
if not 0 <= SLOT <= 7:
    raise ValueError(f"TEST_SLOT must be 0..7, not {SLOT}")
# Slots with Redis databases of their own.
REDIS_SLOTS = 4


def port(base: int) -> int:
    """The port a test server uses in this slot (``base`` in slot 0)."""
    return base + 4000 * (SLOT % 4) + 500 * (SLOT // 4)


def redis_db(base: int) -> int:
    """The Redis database a test uses in this slot (``base``, one of 11-13, in slot 0).

    In slots 4-7 the test (or its whole module, when called at import) is skipped.
    """
    if SLOT >= REDIS_SLOTS:
        pytest.skip(f"TEST_SLOT={SLOT} has no Redis databases of its own (slots 0-3 have)",
                    allow_module_level=True)
    return base - 3 * SLOT
