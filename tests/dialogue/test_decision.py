"""The answer/clarify/fallback decision on Rasa parse data."""

from __future__ import annotations

import pytest

from bot.dialogue.decision import (
    SECOND_ANSWER_MAX_WORDS,
    Decision,
    decide,
    intent_of,
    label_of,
)


def parse(intent, confidence, ranking=()):
    return {
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
    }


def test_confident_faq_intent_is_answered_with_its_topic():
    d = decide(parse("faq_gaspreisbremse", 0.93, [("faq_gaspreisbremse", 0.93)]))
    assert d == Decision("answer", ("gaspreisbremse",), 0.93)


def test_dialogue_intent_is_answered_with_its_name():
    assert decide(parse("instalment_calculation", 0.8)).labels == ("instalment_calculation",)


def test_out_of_scope_intent_falls_back():
    assert decide(parse("out_of_scope", 0.99)).kind == "fallback"


def test_low_confidence_between_two_topics_asks_back():
    d = decide(
        parse(
            "nlu_fallback",
            0.5,
            [
                ("nlu_fallback", 0.5),
                ("faq_mwst_senkung", 0.45),
                ("faq_mwst_ende", 0.40),
                ("faq_gasspeicherumlage", 0.05),
            ],
        )
    )
    assert d.kind == "clarify"
    assert d.labels == ("mwst_senkung", "mwst_ende")


def test_clarification_skips_chitchat_and_keeps_actionable_intents():
    d = decide(
        parse(
            "nlu_fallback",
            0.5,
            [
                ("nlu_fallback", 0.5),
                ("instalment_calculation", 0.4),
                ("greet", 0.35),
                ("faq_preisbremse_abschlag", 0.3),
            ],
        )
    )
    assert d.labels == ("instalment_calculation", "preisbremse_abschlag")


def test_low_confidence_with_out_of_scope_on_top_falls_back():
    d = decide(parse("nlu_fallback", 0.5, [("out_of_scope", 0.45), ("faq_mwst_ende", 0.40)]))
    assert d.kind == "fallback"


def test_very_low_confidence_falls_back():
    d = decide(parse("nlu_fallback", 0.5, [("faq_mwst_ende", 0.12), ("faq_mwst_senkung", 0.1)]))
    assert d.kind == "fallback"


def test_incomplete_parse_data_falls_back():
    assert decide({}).kind == "fallback"
    assert decide({"intent": None, "intent_ranking": None}).kind == "fallback"


def test_label_mapping_round_trip():
    assert label_of("faq_mwst_ende") == "mwst_ende"
    assert label_of("greet") == "greet"
    assert intent_of("mwst_ende", frozenset({"mwst_ende"})) == "faq_mwst_ende"
    assert intent_of("human_handoff", frozenset({"mwst_ende"})) == "human_handoff"


# ---- issue 16: context, several questions, complaints ---------------------------------------


def with_segments(p, *parts):
    p["segments"] = [
        {"text": f"Frage {i}?", "intent_ranking": [{"name": n, "confidence": c}]}
        for i, (n, c) in enumerate(parts)
    ]
    return p


def test_unresolved_follow_up_asks_back_with_the_context_options():
    p = parse("nlu_fallback", 0.3, [("nlu_fallback", 0.3), ("goodbye", 0.3)])
    p["context"] = {"kind": "clarify", "topics": ["zaehlerstand_melden", "abschlag_aendern"]}
    d = decide(p)
    assert (d.kind, d.labels, d.followup) == (
        "clarify",
        ("zaehlerstand_melden", "abschlag_aendern"),
        True,
    )


def test_resolved_follow_up_is_marked():
    p = parse("faq_waermepreisbremse", 0.2, [("faq_gaspreisbremse", 0.5)])
    p["context"] = {"kind": "followup", "topics": ["waermepreisbremse"]}
    d = decide(p)
    assert (d.kind, d.label, d.followup) == ("answer", "waermepreisbremse", True)


def test_second_question_is_offered():
    p = with_segments(
        parse("faq_preisbremse_zeitraum", 0.7, [("faq_preisbremse_zeitraum", 0.7)]),
        ("faq_preisbremse_zeitraum", 0.9),
        ("faq_soforthilfe_steuer", 0.6),
    )
    d = decide(p)
    assert d.label == "preisbremse_zeitraum" and d.also == ("soforthilfe_steuer",)
    assert d.answered_too == ()


def test_two_sure_questions_in_a_short_message_are_both_answered_in_the_order_asked():
    # "Wie funktioniert die Strompreisbremse und ist der Grundpreis auch gedeckelt?"
    p = with_segments(
        parse("faq_preisbremse_grundpreis", 0.6, [("faq_preisbremse_grundpreis", 0.6)]),
        ("faq_strompreisbremse", 0.85),
        ("faq_preisbremse_grundpreis", 0.95),
    )
    p["text"] = "Wie funktioniert die Strompreisbremse und ist der Grundpreis auch gedeckelt?"
    d = decide(p)
    assert (d.kind, d.label, d.answered_too) == (
        "answer",
        "strompreisbremse",
        ("preisbremse_grundpreis",),
    )
    assert d.also == ()


def test_in_a_long_message_the_second_sure_question_is_offered_not_answered():
    p = with_segments(
        parse("faq_preisbremse_grundpreis", 0.6, [("faq_preisbremse_grundpreis", 0.6)]),
        ("faq_strompreisbremse", 0.85),
        ("faq_preisbremse_grundpreis", 0.95),
    )
    p["text"] = " ".join(["Wort"] * (SECOND_ANSWER_MAX_WORDS + 1))
    d = decide(p)
    assert (d.label, d.answered_too, d.also) == (
        "strompreisbremse",
        (),
        ("preisbremse_grundpreis",),
    )


@pytest.mark.parametrize(
    ("intent", "context"),
    [
        # The calculation has its own rule: its parts do not change what runs.
        ("instalment_calculation", None),
        # A resolved follow-up is read against the conversation, not split.
        ("faq_strompreisbremse", {"kind": "followup", "topics": ["strompreisbremse"]}),
    ],
)
def test_two_sure_questions_are_not_both_answered_for_a_dialogue_intent_or_a_follow_up(
    intent, context
):
    p = with_segments(
        parse(intent, 0.95, [(intent, 0.95)]),
        ("faq_strompreisbremse", 0.85),
        ("faq_preisbremse_grundpreis", 0.95),
    )
    p["text"] = "und für Strom? und der Grundpreis?"
    if context:
        p["context"] = context
    assert decide(p).answered_too == ()


def test_a_part_that_asks_nothing_is_not_offered():
    # "… Ich bin bis 17 Uhr erreichbar." tells; it asks for no topic.
    p = with_segments(
        parse("faq_preisbremse_zeitraum", 0.7, [("faq_preisbremse_zeitraum", 0.7)]),
        ("faq_preisbremse_zeitraum", 0.9),
        ("faq_kontakt_oeffnungszeiten", 0.8),
    )
    p["segments"][1]["text"] = "Ich bin bis 17 Uhr erreichbar."
    assert decide(p).also == ()


def test_unsure_part_is_not_offered():
    p = with_segments(
        parse("faq_preisbremse_zeitraum", 0.7, [("faq_preisbremse_zeitraum", 0.7)]),
        ("faq_preisbremse_zeitraum", 0.9),
        ("faq_soforthilfe_steuer", 0.3),
    )
    assert decide(p).also == ()


def test_a_sure_part_rescues_an_unsure_message():
    p = with_segments(
        parse("nlu_fallback", 0.2, [("nlu_fallback", 0.2), ("out_of_scope", 0.2)]),
        ("out_of_scope", 0.6),
        ("faq_gaspreisbremse", 0.85),
    )
    d = decide(p)
    assert (d.kind, d.label) == ("answer", "gaspreisbremse")


def test_angry_message_with_a_topic_gets_the_topic_and_the_acknowledgement():
    p = parse("upset", 0.5, [("upset", 0.5), ("faq_preisbremse_abschlag", 0.35)])
    p["text"] = "Eine Frechheit, wie ist mein Abschlag mit der Preisbremse berechnet?"
    d = decide(p)
    assert (d.kind, d.label, d.complaint, d.person) == (
        "answer", "preisbremse_abschlag", True, True
    )


def test_a_matter_of_fact_message_read_as_upset_gets_the_topic_without_acknowledgement():
    # The classifier reads statements about one's situation as upset too.
    p = parse("upset", 0.6, [("upset", 0.6), ("faq_abschlag_aendern", 0.35)])
    p["text"] = "Meine Tochter ist ausgezogen. Kann ich den Gasabschlag anpassen lassen?"
    d = decide(p)
    assert (d.kind, d.label, d.complaint, d.person) == (
        "answer", "abschlag_aendern", False, False
    )


def test_angry_message_without_a_topic_stays_upset():
    p = parse("upset", 0.9, [("upset", 0.9), ("faq_gaspreisbremse", 0.02)])
    assert decide(p).label == "upset"


def test_answer_with_some_anger_is_a_complaint():
    p = parse("faq_gaspreisbremse", 0.6, [("faq_gaspreisbremse", 0.6), ("upset", 0.3)])
    p["text"] = "Ich bin echt sauer: wie hat die Gaspreisbremse funktioniert?"
    assert decide(p).complaint
    p["text"] = "Ich heize mit Gas. Wie hat die Gaspreisbremse funktioniert?"
    assert not decide(p).complaint  # read as upset, but no sign of a feeling


def test_anger_as_the_second_reading_of_a_part_is_a_complaint_too():
    p = with_segments(
        parse("faq_waermepreisbremse", 0.97, [("faq_waermepreisbremse", 0.97)]),
        ("out_of_scope", 0.4),
        ("faq_waermepreisbremse", 0.99),
    )
    p["segments"][0]["intent_ranking"].append({"name": "upset", "confidence": 0.31})
    p["text"] = "Seit Wochen warte ich auf Antwort, unverschämt! Wie hat die Wärmepreisbremse …?"
    assert decide(p).complaint
    p["text"] = "Seit Wochen warte ich auf Antwort. Wie hat die Wärmepreisbremse funktioniert?"
    assert not decide(p).complaint  # no sign of a feeling


def test_a_question_back_to_an_angry_message_is_marked_for_the_acknowledgement():
    p = parse(
        "nlu_fallback",
        0.4,
        [("instalment_calculation", 0.31), ("faq_zahlungsschwierigkeiten", 0.26), ("upset", 0.2)],
    )
    p["text"] = "Mein Abschlag ist von 89 auf 160 Euro gestiegen, das kann doch nicht sein!!"
    d = decide(p)
    assert d.kind == "clarify" and d.complaint
    p["text"] = "Mein Abschlag ist von 89 auf 160 Euro gestiegen."
    assert not decide(p).complaint


def test_of_several_questions_the_first_asked_is_answered():
    p = with_segments(
        parse("faq_preisbremse_grundpreis", 0.5, [("faq_preisbremse_grundpreis", 0.5)]),
        ("faq_preisbremse_antrag", 0.7),
        ("faq_preisbremse_grundpreis", 0.9),
    )
    d = decide(p)
    assert d.label == "preisbremse_antrag" and d.also == ("preisbremse_grundpreis",)


def test_an_answer_not_understood_offers_other_ways_on_its_topic():
    message = {
        **parse("nlu_fallback", 0.0),
        "context": {"kind": "unclear", "topics": ["gaspreisbremse"], "current": "gaspreisbremse"},
    }
    d = decide(message)
    assert d == Decision("unclear", ("gaspreisbremse",), 0.0, followup=True, person=True)


def _with_foreign_noun(intent, confidence, **extra):
    data = parse(intent, confidence, [(intent, confidence)])
    data["out_of_scope_words"] = ["balkonkraftwerk"]
    return {**data, **extra}


def test_an_unsure_topic_answer_to_a_question_with_an_out_of_scope_noun_falls_back():
    # "Lohnt sich ein Balkonkraftwerk und muss ich das irgendwo anmelden?" read 0.87 as
    # applying for the brakes.
    d = decide(_with_foreign_noun("faq_preisbremse_antrag", 0.87))
    assert (d.kind, d.labels) == ("fallback", ("out_of_scope",))


def test_a_sure_topic_answer_or_a_dialogue_intent_stays_despite_an_out_of_scope_noun():
    assert decide(_with_foreign_noun("faq_preisbremse_antrag", 0.95)).kind == "answer"
    handoff = decide(_with_foreign_noun("human_handoff", 0.8))
    assert (handoff.kind, handoff.labels) == ("answer", ("human_handoff",))
    # A follow-up the context resolved keeps its reading (the context has its own test).
    followup = _with_foreign_noun(
        "faq_preisbremse_heizstrom", 0.6, context={"kind": "followup", "current": "x"}
    )
    assert decide(followup).labels == ("preisbremse_heizstrom",)
    # Without such a noun the same reading is answered.
    assert decide(parse("faq_preisbremse_antrag", 0.87)).kind == "answer"
