"""``make run`` (``python -m bot run``) as a newcomer sees it in the terminal (issue 17, item 6).

The whole demo is started as a real process group on ports of this test slot, a conversation goes
through the web app, and the group gets Ctrl-C's SIGINT. The terminal must show the URLs and the
demo users, and none of the deprecation warnings that Rasa's dependencies raise on import
(TensorFlow, pyparsing, click, SQLAlchemy, pkg_resources); those processes log to files.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.settings import REPO_ROOT
from tests.slots import port

pytestmark = pytest.mark.slow

WEB, RASA, ACTIONS, TARIFF = port(18000), port(18005), port(18055), port(18100)
READY = "The assistant is running"
# What used to flood the terminal at every start.
NOISE = re.compile(
    r"Warning\b|DeprecationWarning|deprecated|tensorflow|pyparsing|click|SQLAlchemy 2\.0"
    r"|Traceback|pkg_resources",
    re.IGNORECASE,
)


def _wait_for(path: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = path.read_text(encoding="utf-8", errors="replace")
        if text in output:
            return output
        if process.poll() is not None:
            pytest.fail(f"python -m bot run exited with {process.returncode}:\n{output}")
        time.sleep(0.5)
    pytest.fail(f"{text!r} not in the terminal after {timeout:.0f} s:\n{path.read_text()}")


def test_make_run_shows_the_urls_and_demo_users_and_no_dependency_warnings(tmp_path: Path):
    terminal = tmp_path / "terminal.txt"
    logs = tmp_path / "logs"
    env = {
        **os.environ,
        "WEB_PORT": str(WEB),
        "RASA_URL": f"http://127.0.0.1:{RASA}",
        "ACTION_SERVER_PORT": str(ACTIONS),
        "TARIFF_URL": f"http://127.0.0.1:{TARIFF}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'chat.db'}",
        "RASA_TOKEN": "quiet-start-rasa-token-0123456789abcdef",
        "ACTION_SERVER_TOKEN": "quiet-start-action-token-0123456789abcdef",
        "TRAINING_ENABLED": "false",
    }
    # What a terminal does: one process group; Ctrl-C sends SIGINT to all of it.
    with terminal.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--log-dir", str(logs)],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for(terminal, READY, process, timeout=240)
        # A conversation through the web app (Rasa, the action server, the calculator's peers).
        cid = requests.post(f"http://127.0.0.1:{WEB}/api/v1/conversations",
                            timeout=10).json()["conversation_id"]
        answer = requests.post(f"http://127.0.0.1:{WEB}/api/v1/conversations/{cid}/messages",
                               json={"text": "Wie funktionierte die Gaspreisbremse?"}, timeout=60)
        assert answer.status_code == 200, answer.text
        assert answer.json()["messages"][0]["sender"] == "bot"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    output = terminal.read_text(encoding="utf-8", errors="replace")

    assert f"http://127.0.0.1:{WEB}/" in output
    assert f"http://127.0.0.1:{RASA}/webhooks/rest_meta/webhook" in output
    for user in ("agent", "editor", "admin"):
        assert re.search(rf"^\s+{user}\s+{user}\s+password: \S{{8,}}$", output, re.MULTILINE), user
    noise = [line for line in output.splitlines() if NOISE.search(line)]
    assert noise == [], "\n".join(noise)
    assert len(output.splitlines()) < 40, output  # a screenful, not a flood
    # The processes' own logs went to files; the dependency warnings are gone there too.
    rasa_log = (logs / "rasa.log").read_text(encoding="utf-8", errors="replace")
    assert "starting Rasa with" in rasa_log
    for name in ("rasa", "actions", "calculator"):
        text = (logs / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        assert "DeprecationWarning" not in text, name
        assert "PyparsingDeprecationWarning" not in text, name
