"""Observability of the production profile through its real processes.

One customer turn that runs an action calling the calculator leaves the same request id in the
JSON logs of a web app, a Rasa replica, an action server and the calculator; the logs are JSON
lines; every metrics route answers Prometheus text with counts from that turn.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.production.conftest import chat, log_files, new_conversation

# The instalment dialogue (tests/e2e/test_calculation.py): the last answer needs the calculator.
DIALOGUE = ["Abschlag berechnen", "Gas", "15.000 kWh", "22 Cent", "weiß nicht"]
LAST = "100 Euro"
KINDS = ("web", "rasa", "actions", "calculator")
FIELDS = {"time", "level", "logger", "message", "service"}


def kind_of(path: Path) -> str:
    return path.stem.split("-")[0]  # web-17000, rasa-17005, actions-17055, calculator


def entries(path: Path) -> tuple[list[dict], list[list[str]]]:
    """The JSON lines of a log, and the blocks of consecutive lines that are not JSON."""
    parsed, blocks, block = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            block.append(line)
            continue
        if block:
            blocks.append(block)
            block = []
        assert isinstance(entry, dict), (path.name, line)
        parsed.append(entry)
    if block:
        blocks.append(block)
    return parsed, blocks


def with_id(request_id: str) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {kind: [] for kind in KINDS}
    for path in log_files():
        for entry in entries(path)[0]:
            if entry.get("request_id") == request_id:
                found[kind_of(path)].append(entry)
    return found


def test_one_turn_leaves_its_request_id_in_every_process(production):
    web = production.web_urls[0]
    cid = new_conversation(web)
    for text in DIALOGUE:
        chat(web, cid, text)
    request_id = f"obs-{uuid.uuid4().hex}"
    response = requests.post(f"{web}/api/v1/conversations/{cid}/messages", json={"text": LAST},
                             headers={"X-Request-ID": request_id}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["X-Request-ID"] == request_id
    assert "Rechenweg" in response.json()["messages"][-1]["text"]  # the calculator answered

    deadline = time.monotonic() + 10  # each process writes its line before it answers
    found = with_id(request_id)
    while not all(found.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
        found = with_id(request_id)
    assert all(found.values()), {kind: len(lines) for kind, lines in found.items()}
    for kind, lines in found.items():
        assert {entry["service"] for entry in lines} == {kind}
    assert any(e["logger"] == "uvicorn.access" and "/messages" in e["message"]
               for e in found["web"])
    assert any("turn answered" in e["message"] for e in found["rasa"])
    assert any(e["message"].startswith("action action_calculate_instalment: HTTP 200")
               for e in found["actions"]), found["actions"]
    assert any("/v1/instalment" in e["message"] for e in found["calculator"])


def test_every_log_line_is_json(production):
    paths = log_files()
    assert {kind_of(p) for p in paths} == set(KINDS)
    for path in paths:
        parsed, blocks = entries(path)
        assert parsed, path.name
        for entry in parsed:
            assert set(entry) >= FIELDS, (path.name, entry)
            assert entry["service"] == kind_of(path), (path.name, entry)
        assert blocks == [], (path.name, blocks[:1])


def metrics(url: str) -> dict[tuple[str, tuple], float]:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200, url
    assert response.headers["Content-Type"].startswith("text/plain; version="), url
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(samples: dict, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    return sum(v for (n, ls), v in samples.items()
               if n == name and set(labels.items()) <= set(ls))


def test_every_metrics_route_counts_the_turns(production):
    web = production.web_urls[0]
    cid = new_conversation(web)
    for text in [*DIALOGUE, LAST]:
        chat(web, cid, text)
    app = metrics(f"{web}/metrics")
    assert total(app, "web_customer_messages_total", channel="text", state="bot") >= 6
    assert total(app, "web_conversations_started_total") >= 1
    assert total(app, "web_turn_duration_seconds_count", part="rasa") >= 6
    assert total(app, "web_http_requests_total",
                 route="/api/v1/conversations/{conversation_id}/messages", status="200") >= 6
    assert total(app, "web_bot_messages_total") >= 6
    assert ("web_handoffs_total", (("kind", "queued"),)) in app
    assert app[("web_snapshot_ok", ())] == 1  # the gauges read from PostgreSQL
    assert ("web_queue_length", ()) in app and ("web_solved_without_person_ratio", ()) in app
    assert total(app, "process_resident_memory_bytes") > 0

    rasa = [metrics(f"{url}/webhooks/rest_meta/metrics") for url in production.rasa_urls]
    assert sum(total(r, "rasa_turns_total") for r in rasa) >= 6
    assert sum(total(r, "rasa_turn_duration_seconds_count") for r in rasa) >= 6
    assert sum(total(r, "rasa_turn_wait_seconds_count") for r in rasa) >= 6
    assert all(("rasa_failed_turns_total", ()) in r and ("rasa_replayed_turns_total", ()) in r
               for r in rasa)

    actions = [metrics(f"http://127.0.0.1:{port}/metrics")
               for port in production.layout.action_ports]
    assert sum(total(a, "actions_runs_total", action="action_calculate_instalment",
                     outcome="ok") for a in actions) >= 1
    assert sum(total(a, "actions_run_duration_seconds_count") for a in actions) >= 1

    calculator = metrics(f"http://127.0.0.1:{production.layout.calculator_port}/metrics")
    assert total(calculator, "calculator_http_requests_total", method="POST",
                 route="/v1/instalment", status="200") >= 1
    assert total(calculator, "calculator_http_request_duration_seconds_count",
                 route="/v1/instalment") >= 1
