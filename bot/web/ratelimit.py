"""A small sliding-window rate limiter (per key, in process memory).

Used for customer messages per conversation, new conversations per client address and login
attempts per address. Limits are per web app instance; the production profile (issue 6)
moves them to Redis so that several instances share them.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable


class RateLimiter:
    """At most ``limit`` events per ``window_s`` seconds and key."""

    def __init__(
        self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._events: defaultdict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> None:
        events = self._events[key]
        while events and events[0] <= now - self.window_s:
            events.popleft()

    def exceeded(self, key: str) -> bool:
        """True when ``key`` already used up its events in the window (records nothing)."""
        with self._lock:
            self._prune(key, self._clock())
            return len(self._events[key]) >= self.limit

    def hit(self, key: str) -> None:
        """Record an event for ``key`` (e.g. a failed login) without checking the limit."""
        with self._lock:
            self._events[key].append(self._clock())

    def allow(self, key: str) -> bool:
        """Record an event for ``key``; False when it is over the limit (nothing recorded)."""
        now = self._clock()
        with self._lock:
            events = self._events[key]
            while events and events[0] <= now - self.window_s:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            if len(self._events) > 100_000:  # bound memory under an address-spraying attack
                for stale in [k for k, v in self._events.items() if not v]:
                    del self._events[stale]
            return True
