"""Hand the conversation to a person.

Until the web app's agent queue exists (issue 4) the assistant answers with the contact topic:
how to reach customer service by phone, e-mail or in person.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.dependencies import knowledge_store
from actions.faq import utter_answer

CONTACT_TOPIC = "kontakt_oeffnungszeiten"


class ActionRequestHandoff(Action):
    """``action_request_handoff``: the customer wants a person."""

    def name(self) -> str:
        """Name of the action in domain.yml."""
        return "action_request_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer with the ways to reach customer service."""
        utter_answer(dispatcher, knowledge_store().answer(CONTACT_TOPIC))
        return [SlotSet("failed_attempts", 0.0), SlotSet("last_faq_id", CONTACT_TOPIC)]
