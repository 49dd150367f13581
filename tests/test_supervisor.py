"""The launcher's supervisor (bot/supervisor.py) with real child processes: a process that dies
is restarted after a delay that doubles with every crash in a row, the others are left alone.

The production profile under ``kill -9`` is in ``tests/production/test_supervised.py``.
"""

from __future__ import annotations

import io
import re
import sys
import threading
import time

from bot.devserver import ServiceProcess
from bot.supervisor import Backoff, Supervisor

UNREACHABLE = "http://127.0.0.1:9/health"  # the discard port: nothing answers


def _process(name: str, code: str) -> ServiceProcess:
    return ServiceProcess(name=name, command=[sys.executable, "-c", code],
                          health_url=UNREACHABLE)


def _supervise(services: list[ServiceProcess], backoff: Backoff, seconds: float) -> str:
    out = io.StringIO()
    supervisor = Supervisor(services, backoff=backoff, out=out, poll_s=0.05,
                            health_timeout_s=0.2)
    for service in services:
        service.start()
    thread = threading.Thread(target=supervisor.watch, daemon=True)
    thread.start()
    try:
        time.sleep(seconds)
    finally:
        supervisor.stop()
        thread.join(10)
        for service in services:
            service.stop()
    assert not thread.is_alive()
    return out.getvalue()


def test_a_crashing_process_is_restarted_with_doubling_delays_and_the_others_keep_running():
    crasher = _process("crasher", "import sys; sys.exit(3)")
    steady = _process("steady", "import time; time.sleep(60)")

    out = _supervise([crasher, steady], Backoff(initial_delay_s=0.2, max_delay_s=0.8,
                                                stable_after_s=30), seconds=4.0)

    delays = [float(d) for d in re.findall(r"crasher exited with code 3; restarting in ([\d.]+) s",
                                           out)]
    assert delays[:5] == [0.2, 0.4, 0.8, 0.8, 0.8], out
    assert out.count("restarting crasher") >= 4, out
    assert "steady" not in out  # never restarted, never reported
    assert steady.returncode() == -15  # alive until the test's stop (SIGTERM)


def test_a_process_that_ran_long_enough_starts_again_at_the_initial_delay():
    # Each run lasts longer than stable_after_s: every crash is the first in a row.
    flaky = _process("flaky", "import sys, time; time.sleep(0.6); sys.exit(1)")

    out = _supervise([flaky], Backoff(initial_delay_s=0.1, max_delay_s=5, stable_after_s=0.3),
                     seconds=3.0)

    delays = re.findall(r"flaky exited with code 1; restarting in ([\d.]+) s", out)
    assert len(delays) >= 3, out
    assert set(delays) == {"0.1"}, out


def test_a_killed_process_is_reported_with_its_signal_and_the_end_of_its_log(tmp_path):
    log = tmp_path / "victim.log"
    victim = ServiceProcess(name="victim", health_url=UNREACHABLE, log_path=log,
                            command=[sys.executable, "-c",
                                     "import os, signal; print('last words', flush=True); "
                                     "os.kill(os.getpid(), signal.SIGKILL)"])

    out = _supervise([victim], Backoff(initial_delay_s=5), seconds=1.5)

    assert "victim killed by signal 9; restarting in 5 s (crash 1 in a row)" in out
    assert f"last lines of {log}" in out and "last words" in out


def test_a_service_that_fails_its_first_start_stops_the_launcher_with_its_reason(tmp_path):
    log = tmp_path / "broken.log"
    broken = ServiceProcess(name="broken", health_url=UNREACHABLE, log_path=log,
                            command=[sys.executable, "-c",
                                     "print('port 8000 already in use', flush=True); exit(2)"])
    steady = _process("steady", "import time; time.sleep(60)")
    out = io.StringIO()

    code = Supervisor([broken, steady], out=out, poll_s=0.05, health_timeout_s=0.2).run()

    assert code == 1
    assert "broken exited with 2: stopping" in out.getvalue()
    assert "port 8000 already in use" in out.getvalue()
    assert steady.returncode() == -15  # the others are stopped too


def test_ctrl_c_while_starting_stops_at_once():
    slow = _process("slow", "import time; time.sleep(60)")  # never becomes ready
    supervisor = Supervisor([slow], out=io.StringIO(), poll_s=0.05, health_timeout_s=0.2)
    threading.Timer(0.5, supervisor.stop).start()
    started = time.monotonic()

    assert supervisor.run() == 0

    assert time.monotonic() - started < 10
    assert slow.returncode() == -15
