"""The action server's request ids, metrics and log line per action (``actions/__main__.py``)."""

from __future__ import annotations

import json
import logging
import uuid
import zlib
from types import SimpleNamespace

import pytest
from sanic import Sanic, response

from actions.__main__ import action_name, observe
from bot.observability.logs import current_request_id
from bot.observability.metrics import ActionMetrics
from tests.observability.conftest import value


def request(body=None, *, path="/webhook", request_id=None, deflate=False):
    raw = json.dumps(body or {}).encode()
    headers = {}
    if request_id:
        headers["X-Request-ID"] = request_id
    if deflate:
        headers["Content-Encoding"] = "deflate"
    return SimpleNamespace(headers=headers, ctx=SimpleNamespace(), path=path,
                           body=zlib.compress(raw) if deflate else raw,
                           json=None if deflate else body)


@pytest.fixture
def server():
    app = Sanic(f"actions_{uuid.uuid4().hex}", configure_logging=False)
    metrics = ActionMetrics()
    observe(app, metrics)
    [begin] = app.request_middleware
    [end] = app.response_middleware
    [route] = [r for r in app._future_routes if r.uri == "/metrics"]
    return SimpleNamespace(begin=begin, end=end, metrics=metrics, scrape=route.handler)


@pytest.mark.parametrize(
    ("call", "status", "expected"),
    [
        (request({"next_action": "action_answer_question"}), 200, "action_answer_question"),
        (request({"next_action": "validate_instalment_form"}, deflate=True), 200,
         "validate_instalment_form"),
        (request({"next_action": "action_gibt_es_nicht"}), 404, "unknown"),
        (request({"next_action": "'; DROP"}), 200, "unknown"),
        (request({"next_action": 7}), 200, "unknown"),
        (request({}), 400, "unknown"),
    ],
)
def test_the_action_name_label_is_bounded(call, status, expected):
    assert action_name(call, status) == expected


async def test_a_run_carries_the_turns_id_and_is_counted_and_logged(server, caplog):
    call = request({"next_action": "action_calculate_instalment"}, request_id="turn-9")
    await server.begin(call)
    assert current_request_id() == "turn-9"  # the action, and the calculator client, see it
    answer = response.json({"events": [], "responses": []})
    with caplog.at_level(logging.INFO, logger="actions.server"):
        await server.end(call, answer)
    assert current_request_id() is None
    assert answer.headers["X-Request-ID"] == "turn-9"
    [record] = caplog.records
    assert record.getMessage().startswith("action action_calculate_instalment: HTTP 200 in ")
    scraped = (await server.scrape(None)).body.decode()
    assert value(scraped, "actions_runs_total", action="action_calculate_instalment",
                 outcome="ok") == 1
    assert value(scraped, "actions_run_duration_seconds_count",
                 action="action_calculate_instalment") == 1


async def test_other_routes_get_an_id_but_are_not_action_runs(server):
    call = request(path="/health")
    await server.begin(call)
    answer = response.json({"status": "ok"})
    await server.end(call, answer)
    assert len(answer.headers["X-Request-ID"]) == 32
    scraped = (await server.scrape(None)).body.decode()
    assert "actions_runs_total{" not in scraped


def test_the_action_server_does_not_start_without_its_token(repo_root):
    """Without ACTION_SERVER_TOKEN anyone reaching the port could run actions (issue 15)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "ACTION_SERVER_TOKEN"}
    env["ACTION_SERVER_PORT"] = "1"  # never reached: it must stop before binding
    result = subprocess.run([sys.executable, "-m", "actions"], cwd=repo_root, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "ACTION_SERVER_TOKEN is not set" in result.stderr
