"""The answer/clarify/fallback decision on Rasa parse data."""

from __future__ import annotations

from bot.dialogue.decision import Decision, decide, intent_of, label_of


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
