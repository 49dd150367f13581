"""The sliding-window rate limiter."""

from __future__ import annotations

from bot.web.ratelimit import RateLimiter


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def test_allow_counts_within_the_window_per_key():
    clock = Clock()
    limiter = RateLimiter(2, window_s=60, clock=clock)
    assert [limiter.allow("a"), limiter.allow("a"), limiter.allow("a")] == [True, True, False]
    assert limiter.allow("b")
    clock.now = 61
    assert limiter.allow("a")


def test_exceeded_and_hit_for_failed_logins():
    clock = Clock()
    limiter = RateLimiter(2, window_s=60, clock=clock)
    assert not limiter.exceeded("ip")
    limiter.hit("ip")
    limiter.hit("ip")
    assert limiter.exceeded("ip")
    clock.now = 60.5
    assert not limiter.exceeded("ip")
