"""Answer a question: a FAQ topic, a clarification ("Meinten Sie …?") or a fallback.

Also the turn after an answer the customer did not understand ("versteh ich nicht"): other
ways instead of the same text again.

Runs for every FAQ intent, ``nlu_fallback`` and ``out_of_scope``. What to do is decided by
``bot.dialogue.decision.decide`` (the same function ``python -m bot eval`` scores); this adapter
only turns the decision into messages and slot events.

A fallback message carries the metadata ``decision: fallback`` (like an answer's ``faq_id``), so
the web app can put the customer's message into the editors' inbox of what was not understood.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.dependencies import knowledge_store, response_text
from bot.dialogue.consumption import for_large_customers
from bot.dialogue.decision import (
    OFFERED_TOPIC_SLOT,
    OUT_OF_SCOPE,
    UPSET,
    Decision,
    decide,
    intent_of,
    reply_line_language,
)
from bot.knowledge.store import Answer

# From the second consecutive turn the assistant cannot answer, it offers a person.
OFFER_PERSON_AFTER_FAILURES = 2


def person_button(domain: DomainDict) -> dict[str, str]:
    """The button that asks for a person."""
    return {
        "title": response_text(domain, "utter_option_human_handoff"),
        "payload": "/human_handoff",
    }


def calculation_button(domain: DomainDict) -> dict[str, str]:
    """The button that starts the personal calculation."""
    return {
        "title": response_text(domain, "utter_option_offer_calculation"),
        "payload": "/instalment_calculation",
    }


def utter_answer(
    dispatcher: CollectingDispatcher, answer: Answer, domain: DomainDict | None = None
) -> None:
    """Send a FAQ answer with its identifiers in the message metadata.

    With ``domain``, answers of topics that offer it get a button for the personal calculation.
    """
    buttons = []
    if domain is not None and answer.offers_calculation:
        buttons.append(calculation_button(domain))
    dispatcher.utter_message(
        text=answer.text,
        buttons=buttons,
        faq_id=answer.faq_id,
        content_version=answer.content_version,
    )


class ActionAnswerQuestion(Action):
    """``action_answer_question``: act on :func:`bot.dialogue.decision.decide`."""

    def name(self) -> str:
        """Name of the action in domain.yml."""
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Answer, ask back or fall back for the latest customer message."""
        kb = knowledge_store().knowledge()
        text = str(tracker.latest_message.get("text") or "")
        decision = for_large_customers(decide(tracker.latest_message), text, kb)
        language = reply_line_language(tracker.latest_message)
        if language is not None:
            # A question in another language: say in it that the reply is German (issue 16).
            dispatcher.utter_message(response=f"utter_in_german_{language}")
        if decision.kind == "answer" and decision.label == UPSET:
            dispatcher.utter_message(response="utter_upset")
            return []
        if decision.kind == "answer" and decision.label in kb.topics:
            if decision.complaint:
                # One short acknowledgement, then the substance (issue 16).
                dispatcher.utter_message(response="utter_complaint_acknowledged")
            answer = knowledge_store().answer(decision.label)
            utter_answer(dispatcher, answer, domain)
            for label in decision.answered_too:
                if label in kb.topics:
                    # Two questions in one short message: both answered, in the order asked,
                    # each with its own faq_id and version (issue 16). The first stays the
                    # current topic: customers lead with their main concern ("Geht
                    # Ratenzahlung, und kann ich den Abschlag anpassen?" → "Könnt ihr mir
                    # deswegen das Gas abstellen?"; development conversations: 2 of 3 such
                    # follow-ups lean on the first).
                    dispatcher.utter_message(response="utter_second_question")
                    utter_answer(dispatcher, knowledge_store().answer(label), domain)
            also = [label for label in decision.also if label in kb.topics]
            if also:
                dispatcher.utter_message(
                    response="utter_also_asked",
                    buttons=[
                        {"title": kb.topics[label].title, "payload": f"/faq_{label}"}
                        for label in also
                    ],
                )
            if decision.person:
                # The message also asked for a person, or complained: offer one (issue 16).
                dispatcher.utter_message(
                    response="utter_offer_person_too",
                    buttons=[person_button(domain)],
                )
            return [
                SlotSet("failed_attempts", 0.0),
                SlotSet("last_faq_id", answer.faq_id),
                SlotSet(OFFERED_TOPIC_SLOT, None),
            ]
        if decision.kind == "unclear":
            self._offer_other_ways(dispatcher, decision.label, domain, kb.topics)
            return []
        if decision.kind == "clarify":
            if decision.complaint:
                dispatcher.utter_message(response="utter_complaint_acknowledged")
            dispatcher.utter_message(
                response="utter_clarify_followup" if decision.followup else "utter_clarify",
                buttons=self._options(decision, domain, kb.topics),
            )
            offered = next((label for label in decision.labels if label in kb.topics), None)
            return [SlotSet(OFFERED_TOPIC_SLOT, offered)]
        failures = float(tracker.get_slot("failed_attempts") or 0) + 1
        response = (
            "utter_fallback_offer_person"
            if failures >= OFFER_PERSON_AFTER_FAILURES
            else "utter_fallback"
        )
        # The metadata travels with the message like ``faq_id``; the web app files the turn in
        # the editors' inbox.
        dispatcher.utter_message(response=response, decision="fallback")
        return [SlotSet("failed_attempts", failures), SlotSet(OFFERED_TOPIC_SLOT, None)]

    @staticmethod
    def _offer_other_ways(
        dispatcher: CollectingDispatcher, topic_id: str, domain: DomainDict, topics: dict[str, Any]
    ) -> None:
        """The customer did not understand the answer on ``topic_id``: not the same text again.

        Its own figures explain a brake or an instalment best (the calculation, where the topic
        offers it); a person always. The metadata names the topic, so the web app files the
        question behind it in the editors' inbox like a thumbs down.
        """
        topic = topics.get(topic_id)
        person = person_button(domain)
        if topic is not None and topic.offers_calculation:
            dispatcher.utter_message(
                response="utter_unclear_calculation",
                buttons=[calculation_button(domain), person],
                decision="unclear",
                about=topic_id,
            )
            return
        dispatcher.utter_message(
            response="utter_unclear", buttons=[person], decision="unclear", about=topic_id
        )

    @staticmethod
    def _options(
        decision: Decision, domain: DomainDict, topics: dict[str, Any]
    ) -> list[dict[str, str]]:
        faq_ids = frozenset(topics)
        buttons = []
        for label in decision.labels:
            title = (
                topics[label].title
                if label in topics
                else response_text(domain, f"utter_option_{label}")
            )
            buttons.append({"title": title, "payload": f"/{intent_of(label, faq_ids)}"})
        # "None of these" counts as not understood: the fallback path, with its person offer.
        buttons.append(
            {
                "title": response_text(domain, "utter_clarify_none_title"),
                "payload": f"/{OUT_OF_SCOPE}",
            }
        )
        return buttons
