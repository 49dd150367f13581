"""Ports and Redis databases of the servers the tests start, shifted by ``TEST_SLOT``.

The end-to-end and production tests start real processes on fixed ports (15xxx, 16xxx, 17xxx)
and use fixed Redis databases (11-13). Two test runs on one machine (two checkouts, or a test
run beside a benchmark) would take each other's ports and flush each other's Redis keys. With
``TEST_SLOT=1..3`` a run moves its ports up by 4,000 per slot (all stay below Linux's ephemeral
range, which starts at 32768) and its Redis databases down by 3 per slot (Redis has 0-15;
``make run-prod`` uses 0 and 1). The default slot 0 keeps the documented numbers.
"""

from __future__ import annotations

import os

SLOT = int(os.environ.get("TEST_SLOT", "0") or 0)
if not 0 <= SLOT <= 3:
    raise ValueError(f"TEST_SLOT must be 0..3, not {SLOT}")


def port(base: int) -> int:
    """The port a test server uses in this slot (``base`` in slot 0)."""
    return base + 4000 * SLOT


def redis_db(base: int) -> int:
    """The Redis database a test uses in this slot (``base``, one of 11-13, in slot 0)."""
    return base - 3 * SLOT
