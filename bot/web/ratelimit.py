"""A small sliding-window rate limiter (per key, in process memory).

Used for customer messages per conversation; new conversations, callback requests, ratings and
failed logins per client address (``bot.web.proxy``); failed logins per user name.
:class:`RateLimiter` counts per web app instance (the demo);
:class:`RedisRateLimiter` lets several instances share the counts (production profile). Redis
sees a keyed hash of each key, never a client address (an IP address is personal data; the
hash is keyed with the app's secret because the IPv4 space is small enough to hash whole).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any, Final

import redis

logger = logging.getLogger(__name__)

# Keys held in process memory before the ones without events in the window are dropped.
MAX_KEYS: Final = 100_000


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

    def _prune(self, key: str, now: float) -> int:
        """Drop ``key``'s events older than the window; how many are left."""
        events = self._events.get(key)
        if events is None:
            return 0
        while events and events[0] <= now - self.window_s:
            events.popleft()
        if not events:
            del self._events[key]
            return 0
        return len(events)

    def _record(self, key: str, now: float) -> None:
        self._events[key].append(now)
        if len(self._events) > MAX_KEYS:  # bound memory under an address- or name-spraying attack
            for other in list(self._events):
                self._prune(other, now)  # drops the keys without events in the window

    def exceeded(self, key: str) -> bool:
        """True when ``key`` already used up its events in the window (records nothing)."""
        with self._lock:
            return self._prune(key, self._clock()) >= self.limit

    def hit(self, key: str) -> None:
        """Record an event for ``key`` (e.g. a failed login) without checking the limit."""
        with self._lock:
            now = self._clock()
            self._prune(key, now)
            self._record(key, now)

    def allow(self, key: str) -> bool:
        """Record an event for ``key``; False when it is over the limit (nothing recorded)."""
        with self._lock:
            now = self._clock()
            if self._prune(key, now) >= self.limit:
                return False
            self._record(key, now)
            return True


# Sliding window in a sorted set, in one atomic step: drop old entries, count, maybe add.
# KEYS[1] key; ARGV: now (s), window (s), limit, mode ("check" | "hit" | "allow"), member.
_SCRIPT: Final = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local n = redis.call('ZCARD', KEYS[1])
if ARGV[4] == 'check' then return n end
if ARGV[4] == 'allow' and n >= tonumber(ARGV[3]) then return -1 end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2]) * 1000))
return n + 1
"""
# After Redis failed, limits are kept in this process for this long before Redis is asked
# again (s): a Redis outage costs one failed call per pause, not one per request.
REDIS_RETRY_S: Final = 2.0


class RedisRateLimiter(RateLimiter):
    """:class:`RateLimiter` shared by every web app instance through Redis.

    While Redis is away the limits fall back to this process (each instance counts for
    itself): the chat keeps working, and limits stay in force, only less strictly.

    ``key_secret`` keys the hash that stands for each key in Redis (:meth:`redis_key`); every
    instance that shares the counts must use the same one (the app's ``SECRET_KEY``).
    """

    def __init__(
        self,
        client: redis.Redis[Any],
        name: str,
        limit: int,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        *,
        key_secret: bytes,
    ) -> None:
        super().__init__(limit, window_s, clock=time.monotonic)
        self._key_secret = key_secret
        self._red = client
        self._script = client.register_script(_SCRIPT)
        self._prefix = f"stadtwerk:ratelimit:{name}:"
        self._wall = clock
        self._redis_after = 0.0

    def redis_key(self, key: str) -> str:
        """The Redis key that counts ``key``: a keyed SHA-256 (128 bits), not the key itself."""
        digest = hmac.new(self._key_secret, key.encode("utf-8"), hashlib.sha256).hexdigest()
        return self._prefix + digest[:32]

    def _redis(self, key: str, mode: str) -> int | None:
        if time.monotonic() < self._redis_after:
            return None
        try:
            result = self._script(
                keys=[self.redis_key(key)],
                args=[self._wall(), self.window_s, self.limit, mode, uuid.uuid4().hex],
            )
            return int(result)
        except redis.RedisError as exc:
            logger.warning("rate limits: Redis unavailable (%s); counting in this process", exc)
            self._redis_after = time.monotonic() + REDIS_RETRY_S
            return None

    def exceeded(self, key: str) -> bool:
        """True when ``key`` already used up its events in the window (records nothing)."""
        count = self._redis(key, "check")
        return super().exceeded(key) if count is None else count >= self.limit

    def hit(self, key: str) -> None:
        """Record an event for ``key`` without checking the limit."""
        if self._redis(key, "hit") is None:
            super().hit(key)

    def allow(self, key: str) -> bool:
        """Record an event for ``key``; False when it is over the limit (nothing recorded)."""
        count = self._redis(key, "allow")
        return super().allow(key) if count is None else count >= 0
