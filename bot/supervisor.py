"""Keep the launcher's processes running: restart a crashed one with exponential backoff.

``make run`` and ``make run-prod`` start every service as a child process
(:class:`bot.devserver.ServiceProcess`). Before issue 17 the launcher stopped all of them when one
died, so a ``kill -9`` of one Rasa replica, which the web app survives by retrying on the other
replica, took the whole profile down a second later. Now a process that exits on its own is
started again while the others keep serving, after a delay that doubles with every crash in a row
(``initial_delay_s`` up to ``max_delay_s``, like systemd's ``RestartSteps=``/``RestartMaxDelaySec=``
in deploy/systemd/). A process that stayed up for ``stable_after_s`` has its delay reset.

Only the first start is all-or-nothing: a service that does not become ready then (a port in use,
no model) stops the launcher with its reason, since restarting would not fix the setup.

Plain Python on purpose: one VM runs the same processes under systemd (deploy/systemd/), a
cluster under Kubernetes; this supervisor is for a developer's machine and the tests.
"""

from __future__ import annotations

import enum
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Protocol, TextIO

import requests

# How many lines of a crashed process's log file to show in the terminal.
LOG_TAIL_LINES = 15
# A Rasa server needs ~20-40 s to load TensorFlow and the model on a 2-core machine.
FIRST_START_TIMEOUT_S = 180.0


class Supervised(Protocol):
    """What the supervisor needs of a process (:class:`bot.devserver.ServiceProcess`)."""

    name: str
    health_url: str
    log_path: Path | None

    def start(self) -> object:
        """Start the process."""

    def stop(self, timeout: float = ...) -> None:
        """Stop it (SIGTERM, then SIGKILL); nothing if it is not running."""

    def returncode(self) -> int | None:
        """``None`` while it runs, else its exit code (negative: the signal that ended it)."""


class State(enum.Enum):
    """Where a supervised process is."""

    RUNNING = "running"  # ready (answered its health URL) and alive
    STARTING = "starting"  # restarted, waiting for its health URL
    WAITING = "waiting"  # crashed, restart scheduled


@dataclass(frozen=True)
class Backoff:
    """Restart delays: ``initial_delay_s``, doubled per crash in a row, at most ``max_delay_s``."""

    initial_delay_s: float = 1.0
    max_delay_s: float = 60.0
    stable_after_s: float = 120.0  # ran this long: its next crash starts at the initial delay

    def delay(self, crashes_in_a_row: int) -> float:
        """The delay before the restart after the ``crashes_in_a_row``-th crash (1, 2, ...)."""
        exponent = max(crashes_in_a_row - 1, 0)
        return float(min(self.initial_delay_s * 2 ** min(exponent, 30), self.max_delay_s))


@dataclass
class _Watch:
    service: Supervised
    state: State = State.RUNNING
    since: float = 0.0  # when the current state began (monotonic)
    started_at: float = 0.0  # when the current run of the process began
    restart_at: float = 0.0
    crashes_in_a_row: int = 0
    restarts: int = 0


@dataclass
class Supervisor:
    """Start services, wait until each is ready, then keep them running until stopped."""

    services: Sequence[Supervised]
    backoff: Backoff = field(default_factory=Backoff)
    out: TextIO = field(default_factory=lambda: sys.stderr)
    clock: Callable[[], float] = time.monotonic
    poll_s: float = 0.5
    health_timeout_s: float = 1.0
    _watches: list[_Watch] = field(default_factory=list, init=False)
    _stopping: bool = field(default=False, init=False)

    def stop(self) -> None:
        """Ask :meth:`run` to stop every service and return (safe from a signal handler)."""
        self._stopping = True

    def restarts(self) -> dict[str, int]:
        """How often each service was restarted, by name."""
        return {w.service.name: w.restarts for w in self._watches}

    def run(self, banner: str = "") -> int:
        """Start, print ``banner`` once everything is ready, supervise until :meth:`stop`.

        Every service is stopped before it returns.

        Returns:
            0 after a stop; 1 when a service did not become ready at the first start.
        """
        try:
            for service in self.services:
                service.start()
            for service in self.services:
                print(f"waiting for {service.name} …", file=self.out, flush=True)
                problem = self._first_start(service)
                if self._stopping:
                    return 0
                if problem:
                    self._say(f"{service.name} {problem}: stopping")
                    self._show_log(service)
                    return 1
            if banner:
                print(banner, flush=True)
            self.watch()
            return 0
        finally:
            for service in reversed(self.services):
                service.stop()

    def _first_start(self, service: Supervised) -> str | None:
        """Wait until ``service`` is ready (or Ctrl-C); what went wrong, else ``None``."""
        deadline = time.monotonic() + FIRST_START_TIMEOUT_S
        while not self._stopping:
            code = service.returncode()
            if code is not None:
                return f"exited with {code}"
            if self._healthy(service):
                return None
            if time.monotonic() > deadline:
                return f"not ready after {FIRST_START_TIMEOUT_S:.0f} s ({service.health_url})"
            time.sleep(self.poll_s)
        return None

    def watch(self) -> None:
        """Supervise the running services until :meth:`stop` (they keep running after it)."""
        now = self.clock()
        self._watches = [_Watch(s, since=now, started_at=now) for s in self.services]
        while not self._stopping:
            self.check()
            time.sleep(self.poll_s)

    def check(self) -> None:
        """One round: notice crashes, restart whose delay is over, notice restarted ones ready."""
        for watch in self._watches:
            if self._stopping:
                return
            now = self.clock()
            service = watch.service
            if watch.state is State.WAITING:
                if now >= watch.restart_at:
                    self._say(f"restarting {service.name}")
                    service.start()
                    watch.state, watch.since, watch.started_at = State.STARTING, now, now
                    watch.restarts += 1
                continue
            code = service.returncode()
            if code is not None:
                self._crashed(watch, code, now)
            elif watch.state is State.STARTING and self._healthy(service):
                self._say(f"{service.name} is ready again")
                watch.state, watch.since = State.RUNNING, now

    def _crashed(self, watch: _Watch, code: int, now: float) -> None:
        if now - watch.started_at >= self.backoff.stable_after_s:
            watch.crashes_in_a_row = 0  # it ran long enough: not a crash loop
        watch.crashes_in_a_row += 1
        delay = self.backoff.delay(watch.crashes_in_a_row)
        how = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
        self._say(f"{watch.service.name} {how}; restarting in {delay:g} s "
                  f"(crash {watch.crashes_in_a_row} in a row)")
        self._show_log(watch.service)
        watch.state, watch.since, watch.restart_at = State.WAITING, now, now + delay

    def _healthy(self, service: Supervised) -> bool:
        try:
            response = requests.get(service.health_url, timeout=self.health_timeout_s)
        except requests.RequestException:
            return False
        return response.status_code == 200

    def _show_log(self, service: Supervised) -> None:
        """The end of the service's log file, where the reason usually is."""
        if service.log_path is None or not service.log_path.exists():
            return
        with service.log_path.open("rb") as log:
            lines = log.read()[-20_000:].decode("utf-8", "replace").splitlines()
        tail = lines[-LOG_TAIL_LINES:]
        if tail:
            self._say(f"last lines of {service.log_path}:\n  " + "\n  ".join(tail))

    def _say(self, text: str) -> None:
        print(f"[supervisor] {text}", file=self.out, flush=True)


def run_supervised(services: Sequence[Supervised], banner: str,
                   backoff: Backoff | None = None) -> int:
    """:meth:`Supervisor.run` with Ctrl-C and SIGTERM stopping every service."""
    supervisor = Supervisor(services, backoff=backoff or Backoff())

    def _stop(signum: int, frame: FrameType | None) -> None:
        supervisor.stop()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    return supervisor.run(banner)
