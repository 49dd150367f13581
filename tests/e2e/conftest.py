"""Real processes for end-to-end tests: action server and Rasa server with the trained model.

Ports differ from `make run`'s so tests can run while a demo is up.
"""

from __future__ import annotations

import pytest

from bot.devserver import action_server, rasa_server

ACTION_PORT = 15055
RASA_PORT = 15005


@pytest.fixture(scope="session")
def rasa_url(model_path, repo_root):
    log_dir = repo_root / "build" / "test-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    actions = action_server(port=ACTION_PORT, log_path=log_dir / "action-server.log").start()
    rasa = rasa_server(
        model_path, port=RASA_PORT, action_port=ACTION_PORT, log_path=log_dir / "rasa-server.log"
    ).start()
    try:
        actions.wait_ready()
        rasa.wait_ready()
        yield f"http://127.0.0.1:{RASA_PORT}"
    finally:
        rasa.stop()
        actions.stop()
