"""The metric sets (``bot.observability.metrics``): registries, names, the database gauges."""

from __future__ import annotations

from prometheus_client import generate_latest

from bot.content.models import TRAINING_STATES
from bot.observability import metrics
from tests.observability.conftest import value


def text(registry) -> str:
    return generate_latest(registry).decode()


def test_each_set_has_its_own_registry_so_many_can_live_in_one_process():
    for _ in range(3):
        metrics.WebMetrics()
        metrics.RasaMetrics()
        metrics.ActionMetrics()
        metrics.CalculatorMetrics()


def test_the_exposition_is_prometheus_text_with_process_figures():
    web = metrics.WebMetrics()
    body, content_type = metrics.exposition(web.registry)
    assert content_type.startswith("text/plain; version=")
    assert b"# TYPE web_customer_messages_total counter" in body
    assert b"process_resident_memory_bytes" in body


def test_kinds_start_at_zero_so_rates_exist_before_the_first_event():
    web = metrics.WebMetrics()
    assert value(text(web.registry), "web_handoffs_total", kind="offline") == 0.0
    assert value(text(web.registry), "web_bot_messages_total", kind="fallback") == 0.0


def test_action_outcomes():
    actions = metrics.ActionMetrics()
    actions.observe("action_answer_question", 200, 0.02)
    actions.observe("action_answer_question", 500, 0.5)
    actions.observe("validate_instalment_form", 400, 0.01)
    out = text(actions.registry)
    assert value(out, "actions_runs_total", action="action_answer_question", outcome="ok") == 1
    assert value(out, "actions_runs_total", action="action_answer_question", outcome="error") == 1
    assert value(out, "actions_runs_total", action="validate_instalment_form",
                 outcome="rejected") == 1
    assert value(out, "actions_run_duration_seconds_count", action="action_answer_question") == 2


def test_the_snapshot_collector_reads_at_scrape_time():
    calls = []

    def read():
        calls.append(1)
        return metrics.Snapshot(queue_length=2, longest_wait_s=90.0, average_wait_s=60.0,
                                solved_without_person=0.75, training_state="live")

    registry = metrics.new_registry(process=False)
    registry.register(metrics.SnapshotCollector(read))
    assert calls == []  # registering reads nothing (describe() names the families)
    out = text(registry)
    assert calls == [1]
    assert value(out, "web_snapshot_ok") == 1
    assert value(out, "web_queue_length") == 2
    assert value(out, "web_queue_longest_wait_seconds") == 90
    assert value(out, "web_queue_average_wait_seconds") == 60
    assert value(out, "web_solved_without_person_ratio") == 0.75
    assert value(out, "web_training_state", state="live") == 1
    assert value(out, "web_training_state", state="failed") == 0


def test_a_database_that_is_away_leaves_the_gauges_out_but_the_scrape_works():
    def read():
        raise ConnectionError("database away")

    registry = metrics.new_registry(process=False)
    registry.register(metrics.SnapshotCollector(read))
    out = text(registry)
    assert value(out, "web_snapshot_ok") == 0
    assert value(out, "web_queue_length") is None


def test_no_ratio_without_conversations():
    registry = metrics.new_registry(process=False)
    registry.register(metrics.SnapshotCollector(lambda: metrics.Snapshot(
        queue_length=0, longest_wait_s=0.0, average_wait_s=0.0, solved_without_person=None,
        training_state=None)))
    out = text(registry)
    assert value(out, "web_solved_without_person_ratio") is None
    assert all(value(out, "web_training_state", state=s) == 0 for s in metrics.TRAINING_STATES)


def test_training_states_are_the_models():
    assert metrics.TRAINING_STATES == TRAINING_STATES
