"""``action_affirm``: a typed "ja" takes the offer the assistant just made.

The logic (which offer) is ``bot.dialogue.affirm``; this adapter turns it into what pressing the
button would have done: a person (``action_request_handoff``), the calculation
(``instalment_form``), a topic's answer.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.dependencies import knowledge_store
from actions.faq import utter_answer
from bot.dialogue.affirm import last_offer
from bot.dialogue.decision import FAQ_INTENT_PREFIX, OFFERED_TOPIC_SLOT

# Offers a "ja" takes by running the action the button's intent would have run.
FOLLOW_UPS = {
    "/human_handoff": "action_request_handoff",
    "/instalment_calculation": "instalment_form",
}


class ActionAffirm(Action):
    """``action_affirm``: "ja" after an offer takes it; after several, asks which."""

    def name(self) -> str:
        """Name of the action in domain.yml."""
        return "action_affirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Take the last message's one offer, ask among several, or invite a question."""
        agreement = last_offer(tracker.events)
        if agreement.kind == "choose":
            dispatcher.utter_message(
                response="utter_affirm_choose",
                buttons=[{"title": b["title"], "payload": b["payload"]} for b in agreement.buttons],
            )
            return []
        payload = agreement.payload or ""
        if payload in FOLLOW_UPS:
            return [FollowupAction(FOLLOW_UPS[payload])]
        topic = payload.removeprefix("/" + FAQ_INTENT_PREFIX)
        kb = knowledge_store().knowledge()
        if payload.startswith("/" + FAQ_INTENT_PREFIX) and topic in kb.topics:
            answer = knowledge_store().answer(topic)
            utter_answer(dispatcher, answer, domain)
            return [
                SlotSet("failed_attempts", 0.0),
                SlotSet("last_faq_id", answer.faq_id),
                SlotSet(OFFERED_TOPIC_SLOT, None),
            ]
        dispatcher.utter_message(response="utter_affirm")
        return []
