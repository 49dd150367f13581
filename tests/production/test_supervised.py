"""The production profile under the launcher's supervisor (issue 17, item 5): ``kill -9`` of one
Rasa replica and of one action server, through real processes and a real browser.

Before, the launcher of ``make run-prod`` stopped every process within a second of one dying.
Now the supervisor (bot/supervisor.py, what ``make run-prod`` runs) restarts the killed process
with backoff while the others keep serving: the customer's conversation in the widget goes on
during the restart (the web app fails over to the other replica, Rasa to the other action
server) and after it, and the restarted process answers again.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import requests
from playwright.sync_api import sync_playwright

from bot.supervisor import Backoff, Supervisor
from tests.e2e.test_browser import CHROMIUM, FLAGS, ask, log, open_widget
from tests.production.conftest import chat, new_conversation

pytestmark = pytest.mark.slow

QUESTIONS = ("Wie funktionierte die Gaspreisbremse?", "Was war die Dezember-Soforthilfe?")
RESTART_TIMEOUT_S = 240  # a Rasa replica loads TensorFlow and the model again


@pytest.fixture
def supervisor(production):
    """A supervisor watching the profile's running processes, as ``make run-prod``'s does."""
    watching = Supervisor(list(production.services.values()),
                          backoff=Backoff(initial_delay_s=1.0, max_delay_s=8.0))
    thread = threading.Thread(target=watching.watch, daemon=True)
    thread.start()
    yield watching
    watching.stop()
    thread.join(10)


def _ask_and_wait(page, text: str) -> str:
    """Send ``text`` in the widget; the text of the bot's answer (no outage notice)."""
    bot = log(page).locator(".swc-msg--bot")
    before = bot.count()
    ask(page, text)
    deadline = time.monotonic() + 30
    while bot.count() <= before:
        assert time.monotonic() < deadline, f"no answer to {text!r}"
        time.sleep(0.2)
    answer = bot.nth(before).inner_text()
    assert "gestört" not in answer, answer
    return answer


def _kill(production, kind: str, port: int) -> int:
    service = production.service(kind, port)
    assert service.process is not None and service.process.poll() is None
    pid = service.process.pid
    os.kill(pid, signal.SIGKILL)
    return pid


def _wait_restarted(production, supervisor, kind: str, port: int, old_pid: int,
                    ready_url: str) -> None:
    service = production.service(kind, port)
    deadline = time.monotonic() + RESTART_TIMEOUT_S
    while time.monotonic() < deadline:
        process = service.process
        if (supervisor.restarts()[service.name] >= 1 and process is not None
                and process.pid != old_pid and process.poll() is None):
            try:
                if requests.get(ready_url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
        time.sleep(1)
    pytest.fail(f"{service.name} was not restarted within {RESTART_TIMEOUT_S} s")


def test_killed_rasa_replica_and_action_server_are_restarted_while_the_chat_goes_on(
    production, supervisor
):
    rasa_port = production.layout.rasa_ports[0]
    actions_port = production.layout.action_ports[0]
    web_url = production.web_urls[0]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_context(locale="de-DE", reduced_motion="reduce").new_page()
            open_widget(page, web_url)
            assert "12 ct/kWh" in _ask_and_wait(page, QUESTIONS[0])

            old_rasa = _kill(production, "rasa", rasa_port)
            # The conversation goes on at once: the web app retries on the other replica.
            assert "Dezember" in _ask_and_wait(page, QUESTIONS[1])
            api_conversation = new_conversation(web_url)
            assert chat(web_url, api_conversation, QUESTIONS[0])["messages"][0]["sender"] == "bot"

            _wait_restarted(production, supervisor, "rasa", rasa_port, old_rasa,
                            f"http://127.0.0.1:{rasa_port}/webhooks/rest_meta/ready")
            # The restarted replica itself answers a turn again.
            answer = requests.post(
                f"http://127.0.0.1:{rasa_port}/webhooks/rest_meta/webhook",
                json={"sender": "supervised-test", "message": QUESTIONS[0]},
                headers=production.rasa_auth, timeout=60)
            assert answer.status_code == 200, answer.text
            assert "12 ct/kWh" in answer.json()[0]["text"]

            old_actions = _kill(production, "actions", actions_port)
            assert "12 ct/kWh" in _ask_and_wait(page, QUESTIONS[0])
            _wait_restarted(production, supervisor, "actions", actions_port, old_actions,
                            f"http://127.0.0.1:{actions_port}/ready")
            assert "Dezember" in _ask_and_wait(page, QUESTIONS[1])
        finally:
            browser.close()

    # Only the two killed processes were restarted; everything else kept running.
    restarted = {name: count for name, count in supervisor.restarts().items() if count}
    assert restarted == {f"rasa server :{rasa_port}": 1, f"action server :{actions_port}": 1}
    for service in production.services.values():
        assert service.returncode() is None, service.name
