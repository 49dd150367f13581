"""Real processes for end-to-end tests: calculator, action server, Rasa server (trained model).

Ports differ from `make run`'s so tests can run while a demo is up.
"""

from __future__ import annotations

import pytest

from bot.devserver import action_server, rasa_server, tariff_service

ACTION_PORT = 15055
RASA_PORT = 15005
TARIFF_PORT = 15100


@pytest.fixture(scope="session")
def log_dir(repo_root):
    path = repo_root / "build" / "test-logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def calculator(log_dir):
    service = tariff_service(port=TARIFF_PORT, log_path=log_dir / "tariff.log").start()
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop()


@pytest.fixture(scope="session")
def rasa_url(model_path, log_dir, calculator):
    actions = action_server(
        port=ACTION_PORT,
        log_path=log_dir / "action-server.log",
        tariff_url=f"http://127.0.0.1:{TARIFF_PORT}",
    ).start()
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
