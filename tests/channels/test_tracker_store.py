"""The demo's in-memory tracker store gives back what Rasa's JSON store gives back, turn by turn."""

from __future__ import annotations

import time
from pathlib import Path

from rasa.core.tracker_store import (
    AwaitableTrackerStore,
    InMemoryTrackerStore,
    create_tracker_store,
)
from rasa.core.utils import read_endpoint_config
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    EntitiesAdded,
    SessionStarted,
    SlotSet,
    UserUttered,
)

from channels.tracker_store import EventsInMemoryTrackerStore
from channels.trackers import _inner, delete_tracker, delete_trackers_before

REPO = Path(__file__).resolve().parents[2]
DOMAIN = Domain.load(REPO / "domain.yml")
T0 = time.time() - 1000


def _turns(start: float) -> list[list]:
    """A conversation's turns: a FAQ answer, a form with slots and entities, a new session."""
    parse = {
        "intent": {"name": "preisbremse_gas", "confidence": 0.93},
        "intent_ranking": [{"name": "preisbremse_gas", "confidence": 0.93},
                           {"name": "preisbremse_strom", "confidence": 0.04}],
        "entities": [],
        "text": "Wie funktioniert die Gaspreisbremse?",
        "segments": [{"text": "Wie funktioniert die Gaspreisbremse?", "intent_ranking": []}],
    }
    return [
        [ActionExecuted("action_session_start", timestamp=start),
         SessionStarted(timestamp=start), ActionExecuted("action_listen", timestamp=start)],
        [UserUttered(parse["text"], parse["intent"], [], parse, timestamp=start + 1),
         DefinePrevUserUtteredFeaturization(False, timestamp=start + 1),
         EntitiesAdded([{"entity": "energy", "value": "gas", "start": 21, "end": 24}],
                       timestamp=start + 1),
         ActionExecuted("action_answer_question", timestamp=start + 2),
         BotUttered("Die Gaspreisbremse deckelt …",
                    {"buttons": [{"title": "Und für Fernwärme?", "payload": "/x"}]},
                    metadata={"faq_id": "preisbremse_gas"}, timestamp=start + 2),
         SlotSet("last_faq_id", "preisbremse_gas", timestamp=start + 2),
         ActionExecuted("action_listen", timestamp=start + 2)],
        [UserUttered("Was heißt das für meinen Abschlag?",
                     {"name": "abschlag_berechnen", "confidence": 0.88}, [], timestamp=start + 3),
         ActionExecuted("instalment_form", timestamp=start + 4),
         ActiveLoop("instalment_form", timestamp=start + 4),
         SlotSet("requested_slot", "consumption_kwh", timestamp=start + 4),
         ActionExecuted("action_listen", timestamp=start + 4)],
        [UserUttered("18000 kWh", {"name": "inform", "confidence": 0.7},
                     [{"entity": "number", "value": 18000}], timestamp=start + 5),
         SlotSet("consumption_kwh", 18000.0, timestamp=start + 5),
         ActionExecuted("instalment_form", timestamp=start + 6),
         SlotSet("requested_slot", None, timestamp=start + 6),
         ActiveLoop(None, timestamp=start + 6),
         ActionExecuted("action_listen", timestamp=start + 6)],
        # A later session: Rasa's in-memory store hands back only the last one.
        [ActionExecuted("action_session_start", timestamp=start + 7200),
         SessionStarted(timestamp=start + 7200),
         SlotSet("last_faq_id", "preisbremse_gas", timestamp=start + 7200),
         ActionExecuted("action_listen", timestamp=start + 7200)],
        [UserUttered("und für Fernwärme?", {"name": "preisbremse_waerme", "confidence": 0.81},
                     [], timestamp=start + 7201),
         ActionExecuted("action_answer_question", timestamp=start + 7202),
         ActionExecuted("action_listen", timestamp=start + 7202)],
    ]


def _state(tracker) -> tuple:
    latest = tracker.latest_message
    # (A tracker without a user message has a fresh empty one, with its own timestamp.)
    message = (latest.text, latest.intent, latest.entities, latest.parse_data.get("segments"))
    return (tracker.as_dialogue().as_dict(), tracker.current_slot_values(),
            tracker.active_loop_name, message, len(tracker.events))


async def test_every_turn_comes_back_as_from_rasas_json_store():
    ours = AwaitableTrackerStore(EventsInMemoryTrackerStore(DOMAIN))
    rasas = AwaitableTrackerStore(InMemoryTrackerStore(DOMAIN))
    for store in (ours, rasas):
        await store.save(store.init_tracker("c1"))
    for turn in _turns(T0):
        # Each turn as the processor does it: fetch, add the turn's events, save.
        states = []
        for store in (ours, rasas):
            tracker = await store.get_or_create_tracker("c1", append_action_listen=False)
            for event in turn:
                tracker.update(event)
            await store.save(tracker)
            states.append(_state(await store.retrieve("c1")))
            full = await store.retrieve_full_tracker("c1")
            states.append(_state(full))
        assert states[0] == states[2]  # last session
        assert states[1] == states[3]  # every session
    final = await ours.retrieve("c1")
    assert final.get_slot("last_faq_id") == "preisbremse_gas"
    assert final.latest_message.text == "und für Fernwärme?"
    assert final.get_slot("consumption_kwh") is None  # the first session's slot is gone


async def test_a_retrieved_tracker_changed_and_not_saved_changes_nothing_stored():
    store = AwaitableTrackerStore(EventsInMemoryTrackerStore(DOMAIN))
    tracker = store.init_tracker("c2")
    for turn in _turns(T0)[:3]:
        for event in turn:
            tracker.update(event)
    await store.save(tracker)
    before = _state(await store.retrieve("c2"))
    unsaved = await store.retrieve("c2")
    unsaved.update(SlotSet("last_faq_id", "kontakt"))
    unsaved.update(ActiveLoop(None))
    assert _state(await store.retrieve("c2")) == before


async def test_conversations_are_deleted_from_it():
    store = AwaitableTrackerStore(EventsInMemoryTrackerStore(DOMAIN))
    for sender, start in (("old", T0 - 40 * 86400), ("new", T0)):
        tracker = store.init_tracker(sender)
        for event in _turns(start)[1]:
            tracker.update(event)
        await store.save(tracker)
    assert await delete_trackers_before(store, T0 - 86400) == 1
    assert await store.retrieve("old") is None
    assert await delete_tracker(store, "new") == 1
    assert await store.retrieve("new") is None


def test_the_demo_endpoints_choose_it(monkeypatch):
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "token")
    # Rasa falls back to its own store, with only a warning, when the class cannot be imported.
    config = read_endpoint_config(str(REPO / "endpoints.yml"), "tracker_store")
    store = _inner(create_tracker_store(config, DOMAIN))
    assert type(store) is EventsInMemoryTrackerStore
