"""Hand the conversation to a person.

Within the chat's opening hours (``knowledge/utility.yml``) the answer carries the metadata
``handoff: queued``: the web app puts the conversation in the agents' queue and stops relaying
to the bot. Outside them it carries ``handoff: offline`` and offers a callback or message
request (the widget shows the form). A channel without a web app (``rasa shell``, the REST
channel) still gets a complete answer; the contact topic follows outside opening hours.
"""

from __future__ import annotations

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.dependencies import knowledge_store, now
from bot.handoff.hours import OpeningHours

CONTACT_TOPIC = "kontakt_oeffnungszeiten"


def _reason(tracker: Tracker) -> str:
    """Why a person is wanted: asked directly, or after the bot failed, or the customer upset."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/") or intent == "affirm":  # a button the bot offered, or "ja" to it
        previous = [e for e in tracker.events if e.get("event") == "user"][-2:-1]
        intent = (
            ((previous[0].get("parse_data") or {}).get("intent") or {}).get("name")
            if (previous)
            else intent
        )
        if intent == "upset":
            return "upset"
        return "offered"
    return "upset" if intent == "upset" else "asked"


class ActionRequestHandoff(Action):
    """``action_request_handoff``: the customer wants (or is offered and accepts) a person."""

    def name(self) -> str:
        """Name of the action in domain.yml."""
        return "action_request_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Queue for an agent within opening hours, else offer a callback request."""
        kb = knowledge_store().knowledge()
        hours = OpeningHours.from_utility(kb.utility)
        current = now()
        if hours.is_open(current):
            dispatcher.utter_message(
                response="utter_handoff_queued", handoff="queued", handoff_reason=_reason(tracker)
            )
        else:
            dispatcher.utter_message(
                response="utter_handoff_offline",
                handoff="offline",
                # Names today's holiday or special day: "heute geschlossen, Erster Weihnachtstag; …"
                hours=hours.describe_day(current),
                next_opening=hours.describe_next_opening(current) or "so bald wie möglich",
                phone=str(kb.utility.get("phone", "")),
            )
        return [SlotSet("failed_attempts", 0.0)]
