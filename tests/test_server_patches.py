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
