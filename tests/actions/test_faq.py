"""action_answer_question and action_request_handoff with a real Tracker and dispatcher."""

from __future__ import annotations

import pytest
from rasa_sdk.events import SlotSet

from actions.faq import ActionAnswerQuestion
from actions.handoff import ActionRequestHandoff
from tests.actions.conftest import make_tracker


async def test_faq_answer_carries_id_and_version(dispatcher, domain, kb):
    tracker = make_tracker("faq_gaspreisbremse", 0.95)
    events = await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    assert events == [
        SlotSet("failed_attempts", 0.0),
        SlotSet("last_faq_id", "gaspreisbremse"),
        SlotSet("offered_topic", None),  # an answer ends what a question back offered
    ]
    [message] = dispatcher.messages
    assert message["faq_id"] == "gaspreisbremse"
    assert message["content_version"] == kb.topics["gaspreisbremse"].version
    assert "12 ct/kWh" in message["text"]  # the gas reference price, rendered from facts
    assert "ausgelaufen" in message["text"]  # the brakes have ended


async def test_button_payload_of_a_clarification_answers_that_topic(dispatcher, domain):
    # A button "/faq_mwst_ende" arrives as that intent with confidence 1.0.
    tracker = make_tracker("faq_mwst_ende", 1.0, text="/faq_mwst_ende")
    await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["faq_id"] == "mwst_ende"


async def test_ambiguous_question_gets_buttons_for_exactly_those_topics(dispatcher, domain, kb):
    tracker = make_tracker(
        "nlu_fallback",
        0.5,
        ranking=[("nlu_fallback", 0.5), ("faq_mwst_senkung", 0.46), ("faq_mwst_abrechnung", 0.41)],
    )
    events = await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    # The first topic offered: a typed follow-up ("und für Firmen?") leans on it.
    assert events == [SlotSet("offered_topic", "mwst_senkung")]
    [message] = dispatcher.messages
    assert message["response"] == "utter_clarify"
    assert message["buttons"] == [
        {"title": kb.topics["mwst_senkung"].title, "payload": "/faq_mwst_senkung"},
        {"title": kb.topics["mwst_abrechnung"].title, "payload": "/faq_mwst_abrechnung"},
        {"title": "Nichts davon", "payload": "/out_of_scope"},
    ]


async def test_clarification_can_offer_the_calculation(dispatcher, domain):
    tracker = make_tracker(
        "nlu_fallback",
        0.45,
        ranking=[("instalment_calculation", 0.45), ("faq_preisbremse_abschlag", 0.40)],
    )
    await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert titles[0] == "Meinen Abschlag berechnen"


@pytest.mark.parametrize(
    ("failed_before", "response", "failed_after"),
    [(0.0, "utter_fallback", 1.0), (1.0, "utter_fallback_offer_person", 2.0)],
)
async def test_fallback_offers_a_person_after_repeated_failure(
    dispatcher, domain, failed_before, response, failed_after
):
    tracker = make_tracker("out_of_scope", 0.97, slots={"failed_attempts": failed_before})
    events = await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == response
    assert dispatcher.messages[0]["decision"] == "fallback"  # for the editors' inbox
    assert events == [SlotSet("failed_attempts", failed_after), SlotSet("offered_topic", None)]


async def test_answers_and_clarifications_are_not_marked_as_fallback(dispatcher, domain):
    ambiguous = make_tracker(
        "nlu_fallback",
        0.5,
        ranking=[("nlu_fallback", 0.5), ("faq_mwst_senkung", 0.46), ("faq_mwst_abrechnung", 0.41)],
    )
    for tracker in (make_tracker("faq_mwst_ende", 0.9), ambiguous):
        await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    assert [m.get("decision") for m in dispatcher.messages] == [None, None]


async def test_low_confidence_without_candidates_is_a_fallback(dispatcher, domain):
    tracker = make_tracker("nlu_fallback", 0.3, ranking=[("nlu_fallback", 0.3)])
    await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["decision"] == "fallback"


async def test_answer_resets_the_failure_count(dispatcher, domain):
    tracker = make_tracker("faq_mwst_ende", 0.9, slots={"failed_attempts": 1.0})
    events = await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    assert SlotSet("failed_attempts", 0.0) in events


async def test_handoff_within_opening_hours_queues(dispatcher, domain):
    from datetime import datetime, timezone

    from actions.dependencies import set_clock

    set_clock(lambda: datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))  # Monday 11:00 CET
    try:
        await ActionRequestHandoff().run(dispatcher, make_tracker("human_handoff", 0.9), domain)
    finally:
        set_clock(None)
    [message] = dispatcher.messages
    assert message["response"] == "utter_handoff_queued"
    assert message["handoff"] == "queued" and message["handoff_reason"] == "asked"


async def test_handoff_outside_opening_hours_offers_a_callback(dispatcher, domain, kb):
    from datetime import datetime, timezone

    from actions.dependencies import set_clock

    set_clock(lambda: datetime(2026, 11, 22, 20, 0, tzinfo=timezone.utc))  # Sunday evening
    try:
        await ActionRequestHandoff().run(dispatcher, make_tracker("human_handoff", 0.9), domain)
    finally:
        set_clock(None)
    [message] = dispatcher.messages
    assert message["response"] == "utter_handoff_offline"
    assert message["handoff"] == "offline"
    assert message["next_opening"] == "morgen ab 8 Uhr"
    assert message["phone"] == kb.utility["phone"]


async def test_edited_answer_is_served_without_retraining(dispatcher, domain, tmp_path, repo_root):
    import shutil

    from actions.dependencies import set_knowledge_store
    from bot.knowledge.store import FileKnowledgeStore

    shutil.copytree(repo_root / "knowledge", tmp_path / "knowledge")
    set_knowledge_store(FileKnowledgeStore(tmp_path / "knowledge"))
    path = tmp_path / "knowledge" / "topics" / "mwst_ende.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("version: 1", "version: 2").replace(
            "answer: |", "answer: |\n  Neuer Text.", 1
        ),
        encoding="utf-8",
    )
    await ActionAnswerQuestion().run(dispatcher, make_tracker("faq_mwst_ende"), domain)
    assert dispatcher.messages[0]["content_version"] == 2
    assert dispatcher.messages[0]["text"].startswith("Neuer Text.")


async def test_answer_of_a_brake_topic_offers_the_personal_calculation(dispatcher, domain):
    await ActionAnswerQuestion().run(dispatcher, make_tracker("faq_strompreisbremse"), domain)
    assert dispatcher.messages[0]["buttons"] == [
        {"title": "Meinen Abschlag berechnen", "payload": "/instalment_calculation"}
    ]


async def test_answer_of_other_topics_has_no_buttons(dispatcher, domain):
    await ActionAnswerQuestion().run(dispatcher, make_tracker("faq_mwst_ende"), domain)
    assert dispatcher.messages[0]["buttons"] == []


async def test_a_question_in_another_language_gets_a_line_in_it_before_the_german_answer(
    dispatcher, domain
):
    tracker = make_tracker("faq_soforthilfe_steuer", 0.8, text="Do I pay tax on the aid?")
    tracker.latest_message["dense_cascade"] = {"reason": "unfamiliar", "language": "en"}
    await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    line, answer = dispatcher.messages
    assert line["response"] == "utter_in_german_en"
    assert answer["faq_id"] == "soforthilfe_steuer"
    assert "utter_in_german_en" in domain["responses"]


async def test_german_and_unknown_languages_get_no_extra_line(dispatcher, domain):
    for language in ("de", "xx", None):
        dispatcher.messages.clear()
        tracker = make_tracker("faq_gaspreisbremse", 0.95)
        tracker.latest_message["dense_cascade"] = {"reason": "unfamiliar", "language": language}
        await ActionAnswerQuestion().run(dispatcher, tracker, domain)
        assert [m.get("faq_id") for m in dispatcher.messages] == ["gaspreisbremse"]


def test_every_reply_line_language_has_its_response(domain):
    from bot.dialogue.decision import REPLY_LINE_LANGUAGES

    missing = [c for c in REPLY_LINE_LANGUAGES if f"utter_in_german_{c}" not in domain["responses"]]
    assert missing == []


async def test_a_message_that_also_asks_for_a_person_gets_the_answer_and_a_person_offered(
    dispatcher, domain
):
    text = (
        "Ihre Antworten helfen mir nicht. Wann lief die Gaspreisbremse aus? "
        "Ich will jemanden sprechen."
    )
    tracker = make_tracker("faq_preisbremse_zeitraum", 0.8, text=text)
    tracker.latest_message["segments"] = [
        {"text": "Wann lief die Gaspreisbremse aus?",
         "intent_ranking": [{"name": "faq_preisbremse_zeitraum", "confidence": 0.9}]},
        {"text": "Ich will jemanden sprechen.",
         "intent_ranking": [{"name": "human_handoff", "confidence": 0.97}]},
    ]  # fmt: skip
    await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    answer, offer = dispatcher.messages
    assert answer["faq_id"] == "preisbremse_zeitraum"
    assert offer["response"] == "utter_offer_person_too"
    assert offer["buttons"] == [{"title": "Mit einer Person sprechen", "payload": "/human_handoff"}]


async def test_two_questions_in_one_short_message_get_two_answers_in_the_order_asked(
    dispatcher, domain, kb
):
    text = "Wie funktioniert die Strompreisbremse und ist der Grundpreis auch gedeckelt?"
    tracker = make_tracker("faq_preisbremse_grundpreis", 0.6, text=text)
    tracker.latest_message["segments"] = [
        {"text": "Wie funktioniert die Strompreisbremse",
         "intent_ranking": [{"name": "faq_strompreisbremse", "confidence": 0.85}]},
        {"text": "ist der Grundpreis auch gedeckelt?",
         "intent_ranking": [{"name": "faq_preisbremse_grundpreis", "confidence": 0.95}]},
    ]  # fmt: skip
    events = await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    first, lead, second = dispatcher.messages
    assert (first["faq_id"], second["faq_id"]) == ("strompreisbremse", "preisbremse_grundpreis")
    assert second["content_version"] == kb.topics["preisbremse_grundpreis"].version
    assert lead["response"] == "utter_second_question"
    # A follow-up leans on the first question, the customer's main concern.
    assert SlotSet("last_faq_id", "strompreisbremse") in events


async def test_a_plain_question_gets_no_person_offered(dispatcher, domain):
    ranking = [("faq_preisbremse_zeitraum", 0.9), ("human_handoff", 0.05)]
    tracker = make_tracker("faq_preisbremse_zeitraum", 0.9, ranking=ranking)
    await ActionAnswerQuestion().run(dispatcher, tracker, domain)
    assert [m.get("response") for m in dispatcher.messages] == [None]


def _unclear(topic: str):
    tracker = make_tracker("nlu_fallback", 0.0, slots={"last_faq_id": topic}, text="hä?")
    tracker.latest_message["context"] = {"kind": "unclear", "topics": [topic], "current": topic}
    return tracker


async def test_an_answer_not_understood_offers_its_calculation_and_a_person(dispatcher, domain):
    events = await ActionAnswerQuestion().run(dispatcher, _unclear("gaspreisbremse"), domain)
    (reply,) = dispatcher.messages
    assert reply["response"] == "utter_unclear_calculation"
    assert [b["payload"] for b in reply["buttons"]] == ["/instalment_calculation", "/human_handoff"]
    # Not the same answer again, and no faq_id: the turn answered nothing.
    assert "faq_id" not in reply
    assert reply["decision"] == "unclear" and reply["about"] == "gaspreisbremse"
    assert events == []  # the topic stays current for the next follow-up


async def test_an_answer_without_a_calculation_not_understood_offers_a_person(dispatcher, domain):
    await ActionAnswerQuestion().run(dispatcher, _unclear("datenschutz_chat"), domain)
    (reply,) = dispatcher.messages
    assert reply["response"] == "utter_unclear"
    assert [b["payload"] for b in reply["buttons"]] == ["/human_handoff"]


def test_the_replies_to_an_answer_not_understood_exist(domain):
    assert {"utter_unclear", "utter_unclear_calculation"} <= set(domain["responses"])


def _after(*bot_buttons: dict, text: str = "ja"):
    tracker = make_tracker("affirm", 0.95, text=text)
    tracker.events = [
        {"event": "user", "text": "vorher"},
        {"event": "bot", "text": "…", "data": {"buttons": list(bot_buttons)}},
        {"event": "user", "text": text},
    ]
    return tracker


async def test_yes_to_a_person_offer_hands_over(dispatcher, domain):
    from rasa_sdk.events import FollowupAction

    from actions.affirm import ActionAffirm

    person = {"title": "Mit einer Person sprechen", "payload": "/human_handoff"}
    events = await ActionAffirm().run(dispatcher, _after(person), domain)
    assert events == [FollowupAction("action_request_handoff")] and dispatcher.messages == []


async def test_yes_to_the_calculation_starts_it_and_to_a_topic_answers_it(dispatcher, domain):
    from rasa_sdk.events import FollowupAction

    from actions.affirm import ActionAffirm

    calculation = {"title": "Meinen Abschlag berechnen", "payload": "/instalment_calculation"}
    assert await ActionAffirm().run(dispatcher, _after(calculation), domain) == [
        FollowupAction("instalment_form")
    ]
    topic = {"title": "Mehrwertsteuer", "payload": "/faq_mwst_senkung"}
    events = await ActionAffirm().run(dispatcher, _after(topic), domain)
    assert dispatcher.messages[-1]["faq_id"] == "mwst_senkung"
    assert SlotSet("last_faq_id", "mwst_senkung") in events


async def test_yes_to_several_offers_asks_which_and_to_none_invites_a_question(dispatcher, domain):
    from actions.affirm import ActionAffirm

    a = {"title": "Mehrwertsteuer", "payload": "/faq_mwst_senkung"}
    b = {"title": "Mit einer Person sprechen", "payload": "/human_handoff"}
    assert await ActionAffirm().run(dispatcher, _after(a, b), domain) == []
    assert dispatcher.messages[-1]["response"] == "utter_affirm_choose"
    assert dispatcher.messages[-1]["buttons"] == [a, b]
    await ActionAffirm().run(dispatcher, _after(), domain)
    assert dispatcher.messages[-1]["response"] == "utter_affirm"


def test_a_yes_to_an_offered_person_is_queued_as_offered_not_as_asked():
    from actions.handoff import _reason

    def events(first_intent: str) -> list[dict]:
        return [
            {"event": "user", "text": "…", "parse_data": {"intent": {"name": first_intent}}},
            {"event": "user", "text": "ja", "parse_data": {"intent": {"name": "affirm"}}},
        ]

    tracker = make_tracker("affirm", 0.9, text="ja")
    tracker.events = events("upset")
    assert _reason(tracker) == "upset"
    tracker.events = events("faq_gaspreisbremse")
    assert _reason(tracker) == "offered"
