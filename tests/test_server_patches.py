"""The Rasa server's compiled action-response validation behaves like Rasa's own."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from channels import server_patches


def test_valid_and_invalid_action_responses():
    server_patches.install()
    action = RemoteAction("action_x", None)
    assert action._validate_action_result({"events": [], "responses": [{"text": "Hallo"}]})
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result({"events": "not a list"})


def test_event_classes_resolve_as_before():
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

    server_patches.install()
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("slot") is SlotSet
    assert Event.resolve_by_type("action") is ActionExecuted
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("nope", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("nope")
    restored = Event.from_parameters({"event": "slot", "name": "energy", "value": "gas"})
    assert restored == SlotSet("energy", "gas")


def test_a_new_agent_takes_over_the_conversations_and_locks():
    from types import SimpleNamespace

    import rasa.server
    from rasa.core.agent import Agent
    from rasa.shared.core.domain import Domain

    server_patches.install()
    assert rasa.server._load_agent is server_patches._load_agent
    previous, new = Agent(), Agent()
    new.domain = Domain.from_dict({"intents": ["greet"]})
    new.processor = SimpleNamespace(tracker_store=new.tracker_store, lock_store=new.lock_store)
    server_patches.adopt_stores(new, previous)
    assert new.tracker_store is previous.tracker_store
    assert new.lock_store is previous.lock_store
    assert new.processor.tracker_store is previous.tracker_store
    assert new.processor.lock_store is previous.lock_store
    assert previous.tracker_store.domain is new.domain  # trackers are read with the new slots


async def test_without_a_running_server_loading_takes_rasas_path():
    import rasa.server

    with pytest.raises(rasa.server.ErrorResponse), pytest.warns(UserWarning, match="no model"):
        await server_patches._load_agent(model_path="/nonexistent.tar.gz")  # Rasa's own path


async def test_a_failing_tracker_store_fails_the_turn_instead_of_forgetting_it():
    from rasa.core.tracker_store import FailSafeTrackerStore, InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    class Broken(InMemoryTrackerStore):
        async def retrieve(self, sender_id):
            raise ConnectionError("database away")

        async def save(self, tracker):
            raise ConnectionError("database away")

    server_patches.install()
    store = FailSafeTrackerStore(Broken(Domain.empty()))
    with pytest.raises(server_patches.TrackerStoreUnavailable, match="database away"):
        await store.retrieve("k")
    with pytest.raises(server_patches.TrackerStoreUnavailable):
        await store.save(DialogueStateTracker("k", []))
    assert store._fallback_tracker_store is None  # nothing kept in memory instead


def _rasa_accepts(result) -> bool:
    from jsonschema import validate

    try:
        validate(result, RemoteAction.action_response_format_spec())
    except ValidationError:
        return False
    return True


def _responses():
    """Valid action responses with many event types, and broken variants of them."""
    from datetime import datetime

    from rasa.shared.core.events import (
        ActionExecuted,
        ActiveLoop,
        AllSlotsReset,
        BotUttered,
        FollowupAction,
        LoopInterrupted,
        ReminderScheduled,
        Restarted,
        SessionStarted,
        SlotSet,
        UserUttered,
    )

    events = [
        SlotSet("last_faq_id", "gaspreisbremse").as_dict(),
        SlotSet("failed_attempts", 0.0).as_dict(),
        BotUttered("Hallo", {"buttons": [{"title": "A", "payload": "/a"}]}).as_dict(),
        ActionExecuted("action_listen").as_dict(),
        ActiveLoop("instalment_form").as_dict(),
        ActiveLoop(None).as_dict(),
        FollowupAction("action_listen").as_dict(),
        LoopInterrupted(True).as_dict(),
        Restarted().as_dict(),
        AllSlotsReset().as_dict(),
        SessionStarted().as_dict(),
        ReminderScheduled("greet", datetime(2030, 1, 1)).as_dict(),
        UserUttered(
            "Hallo",
            {"name": "greet", "confidence": 0.9},
            [{"entity": "energy", "value": "gas", "start": 0, "end": 3}],
        ).as_dict(),
    ]
    broken = [
        {},
        {"event": "nope"},
        {"event": 3},
        {"event": "slot"},  # no name, no value
        {"event": "slot", "name": 3, "value": 1},
        {"event": "user", "parse_data": {"intent": {"name": 3}}},
        {"event": "user", "parse_data": {"entities": [{"value": "gas"}]}},
        {"event": "user", "parse_data": {"response_selector": {"default": 3}}},
        {"event": "action", "name": 3},
        {"event": "action", "hide_rule_turn": "yes"},
        {"event": "entities"},
        {"event": "bot", "timestamp": "now"},
        {"event": "bot", "metadata": []},
        "slot",
        None,
    ]
    yield {"events": [], "responses": []}
    yield {"events": events, "responses": [{"text": "Hallo"}]}
    yield {}
    for event in events:
        yield {"events": [event]}
    for bad in broken:
        yield {"events": [*events[:2], bad]}
    yield {"events": "not a list"}
    yield {"events": None}
    yield {"events": [], "responses": "x"}
    yield {"events": [], "responses": [3]}
    yield {"events": [], "responses": [{"text": 3}]}
    yield []
    yield "text"


def test_events_checked_against_their_own_type_accept_what_rasa_accepts():
    server_patches.install()
    responses = list(_responses())
    accepted = [r for r in responses if _rasa_accepts(r)]
    assert len(accepted) >= 15 and len(responses) - len(accepted) >= 15  # both kinds
    for response in responses:
        assert server_patches._surely_valid(response) == _rasa_accepts(response), response
    action = RemoteAction("action_x", None)
    for response in responses:
        if _rasa_accepts(response):
            assert action._validate_action_result(response)
        else:
            with pytest.raises(ValidationError, match="Failed to validate"):
                action._validate_action_result(response)


def _version_guarded_patches():
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.engine.runner.dask import DaskGraphRunner

    return [
        (server_patches.RULE_POLICY_CHECKED, RulePolicy, "_get_possible_keys",
         server_patches._get_possible_keys, server_patches._rasa_get_possible_keys),
        (server_patches.GRAPH_RUNNER_CHECKED, DaskGraphRunner, "run",
         server_patches._sequential_run, server_patches._rasa_graph_run),
    ]


@pytest.mark.parametrize("index", [0, 1], ids=["rule-policy-step", "graph-without-dask"])
def test_patches_of_rasas_internals_apply_only_to_the_rasa_they_were_checked_against(
    index, monkeypatch
):
    import rasa

    checked, owner, attribute, patched, original = _version_guarded_patches()[index]
    # Upgrading Rasa fails here: check the patch against the new Rasa's code first
    # (RulePolicy._get_possible_keys; DaskGraphRunner.run and GraphNode.__call__).
    assert rasa.__version__ == checked
    monkeypatch.setattr(owner, attribute, original)
    server_patches.install()
    assert getattr(owner, attribute) is patched
    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    monkeypatch.setattr(owner, attribute, original)
    server_patches.install()
    assert getattr(owner, attribute) is original


def _trained_lookup(model_path):
    import json
    import tarfile

    with tarfile.open(model_path) as archive:
        member = next(
            m for m in archive.getmembers() if m.name.endswith("RulePolicy0/rule_policy.json")
        )
        return json.load(archive.extractfile(member))["lookup"]


def _conversation_states(lookup, count: int, seed: int = 7):
    """Random state histories from the values the rules use, and some they do not."""
    import json
    import random

    values: dict[tuple[str, str], set] = {}
    for table in ("rules", "rules_for_loop_unhappy_path"):
        for key in lookup[table]:
            for state in json.loads(key):
                for kind, sub in state.items():
                    for name, value in sub.items():
                        values.setdefault((kind, name), set()).add(
                            tuple(value) if isinstance(value, list) else value
                        )
    values[("user", "entities")] = {("energy",), ("energy", "audience")}
    values[("slots", "energy")] = {(1.0,), (0.0,)}
    values[("user", "text")] = {"hallo", "Wie hoch war die Gaspreisbremse?", "und für Mieter?"}
    choices = {k: sorted(v, key=repr) for k, v in values.items()}
    rng = random.Random(seed)
    for _ in range(count):
        history = []
        for index in range(rng.randint(1, 6)):
            state: dict = {}
            for (kind, name), options in choices.items():
                if kind == "prev_action" and index == 0 and rng.random() < 0.3:
                    continue  # a conversation's first state has no previous action
                if rng.random() < (0.8 if kind in ("prev_action", "user") else 0.3):
                    state.setdefault(kind, {})[name] = rng.choice(options)
            history.append(state)
        yield history


def test_remembered_rule_step_gives_rasas_keys_in_rasas_order(model_path):
    from rasa.core.policies.rule_policy import RulePolicy

    lookup = _trained_lookup(model_path)
    policy = RulePolicy.__new__(RulePolicy)  # the methods used need no trained state
    rasa_keys = server_patches._rasa_get_possible_keys
    histories = list(_conversation_states(lookup, 1500))
    found = 0
    for table in ("rules", "rules_for_loop_unhappy_path"):
        for history in histories + histories[::7]:  # repeated states: taken from memory
            expected = list(rasa_keys(policy, lookup[table], history))
            assert (
                list(server_patches._get_possible_keys(policy, lookup[table], history)) == expected
            )
            found += bool(expected)
    assert found > 100  # states that rules apply to are among them
    assert server_patches._get_possible_keys(policy, lookup["rules"], []) == rasa_keys(
        policy, lookup["rules"], []
    )
    unhashable = [
        {
            "user": {"intent": "greet", "entities": ["a"]},
            "prev_action": {"action_name": "action_listen"},
        }
    ]
    assert server_patches._get_possible_keys(policy, lookup["rules"], unhashable) == rasa_keys(
        policy, lookup["rules"], unhashable
    )


def test_the_graph_run_without_dask_gives_rasas_results(model_path, monkeypatch):
    """The trained model's NLU and policy graphs, run by dask and by the sequential run."""
    import asyncio

    from rasa.core.agent import Agent
    from rasa.engine.exceptions import GraphRunError
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    monkeypatch.setattr(DaskGraphRunner, "run", server_patches._rasa_graph_run)
    agent = Agent.load(str(model_path))
    processor = agent.processor
    assert processor is not None
    texts = ["Wie hoch war die Gaspreisbremse?", "und für Fernwärme?",
             "Mein Abschlag ist zu hoch, ich will ihn senken", "hallo", "wetter morgen"]

    def run_all() -> list:
        loop = asyncio.new_event_loop()
        try:
            results = []
            for text in texts:
                parsed = loop.run_until_complete(agent.parse_message(text))
                tracker = DialogueStateTracker.from_events("patch-test", [
                    ActionExecuted("action_listen"),
                    UserUttered(text, parsed["intent"], parsed["entities"], parsed),
                ], slots=processor.domain.slots)
                prediction = processor._predict_next_with_tracker(tracker)
                results.append((parsed, processor.domain.action_names_or_texts[
                    prediction.max_confidence_index], prediction.policy_name))
            return results
        finally:
            loop.close()

    by_dask = run_all()
    monkeypatch.setattr(DaskGraphRunner, "run", server_patches._sequential_run)
    assert run_all() == by_dask
    assert {action for _, action, _ in by_dask} >= {"action_answer_question"}
    runner = processor.graph_runner
    with pytest.raises(GraphRunError, match="clashes with a node name"):
        runner.run(inputs={"__message__": "run_SpacyNLP0"})
    with pytest.raises(GraphRunError, match="misses"):
        runner.run(targets=["run_SpacyNLP0"])  # its input, the message, not given
