"""The local demo's tracker store: Rasa's in-memory store without a JSON round trip per turn.

Rasa's ``InMemoryTrackerStore`` keeps each conversation as a JSON text: every turn writes the
whole tracker with ``json.dumps`` and reads it back with ``json.loads`` plus one ``Event`` per
stored event. In the Rasa server under 50 concurrent conversations (py-spy,
docs/benchmarks/rasa-server.md) that was 22 % of its CPU, the largest single item, and it
grows with the length of a conversation. This store keeps the tracker's event objects instead
and rebuilds the tracker from them exactly as Rasa does from the decoded JSON (replaying the
events on a fresh tracker), so slots, forms and sessions come out the same
(tests/channels/test_tracker_store.py compares both stores turn by turn).

Sharing the event objects is safe because Rasa treats recorded events as values: the only
in-place changes while replaying (``EntitiesAdded`` and
``DefinePrevUserUtteredFeaturization`` on the previous ``UserUttered``) write what the stored
event already holds, since the JSON text was written from the same, already changed, objects.

Chosen in ``endpoints.yml`` (Rasa's documented way to plug in a tracker store); the production
profile keeps the SQL tracker store.
"""

from __future__ import annotations

from typing import Any

from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.conversation import Dialogue
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker


class EventsInMemoryTrackerStore(InMemoryTrackerStore):
    """Conversations in this process's memory, as tuples of Rasa events."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Rasa passes the endpoint's ``url`` as ``host`` to a custom store; there is none here.
        kwargs.pop("host", None)
        super().__init__(*args, **kwargs)
        self.store: dict[str, Any] = {}

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Keep the tracker's events (after streaming the new ones, as Rasa does)."""
        await self.stream_events(tracker)
        self.store[tracker.sender_id] = tuple(tracker.events)

    def deserialise_tracker(
        self, sender_id: str, serialised_tracker: Any
    ) -> DialogueStateTracker | None:
        """A fresh tracker with the stored events replayed (Rasa's path for a JSON text)."""
        if not isinstance(serialised_tracker, tuple):
            tracker: DialogueStateTracker | None = super().deserialise_tracker(
                sender_id, serialised_tracker
            )
            return tracker
        events: list[Event] = list(serialised_tracker)
        tracker = self.init_tracker(sender_id)
        tracker.recreate_from_dialogue(Dialogue(sender_id, events))
        return tracker
