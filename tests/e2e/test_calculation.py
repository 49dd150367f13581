"""The instalment calculation through the trained model, the action server and the real
calculator process; and the same with the calculator stopped."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_assistant import send

pytestmark = pytest.mark.slow


def test_direct_question_with_figures_ends_in_the_rechenweg(rasa_url):
    sender = uuid.uuid4().hex
    # Energy, consumption and price are taken from the first message: 3.000 kWh at 50 ct is
    # the published example S2 of Stadtwerke Neckarsulm (relief 20 €/month, 105 € with brake).
    first = send(
        rasa_url,
        "Ich verbrauche 3000 kWh Strom und zahle 50 Cent, wie hoch ist meine Entlastung?",
        sender,
    )
    assert "Grundpreis" in first[-1]["text"]  # only the optional questions remain
    second = send(rasa_url, "weiß ich nicht", sender)
    assert "Abschlag" in second[-1]["text"]
    [result] = send(rasa_url, "überspringen", sender)
    text = result["text"]
    assert "Rechenweg" in text
    assert "40 ct/kWh" in text  # the electricity reference price
    assert "betrug Ihr Abschlag 105 € statt 125 € im Monat" in text
    assert "Entlastung von 20 € im Monat" in text
    assert "Schätzung" in text
    assert result["metadata"]["calculation"]["instalment_with_relief_eur"] == "105.00"


def test_step_by_step_with_corrections_and_a_tariff_name(rasa_url):
    sender = uuid.uuid4().hex
    ask_energy = send(rasa_url, "Ich möchte meinen Abschlag berechnen", sender)
    assert [b["title"] for b in ask_energy[-1]["buttons"]] == ["Strom", "Gas", "Fernwärme"]
    ask_consumption = send(rasa_url, "Gas", sender)
    assert "Jahresverbrauch" in ask_consumption[-1]["text"]
    too_low = send(rasa_url, "5 kWh", sender)
    assert "sehr wenig" in too_low[0]["text"]
    ask_price = send(rasa_url, "15.000 kWh", sender)
    assert "Arbeitspreis" in ask_price[-1]["text"]
    assert any("MusterGas" in b["title"] for b in ask_price[-1]["buttons"])
    send(rasa_url, "22 Cent", sender)
    send(rasa_url, "weiß nicht", sender)
    [result] = send(rasa_url, "100 Euro", sender)
    # Government example G1: 15.000 kWh gas at 22 ct: 175 € instead of 275 € a month.
    assert "betrug Ihr Abschlag 175 € statt 275 € im Monat" in result["text"]
    assert "Dezember-Soforthilfe" in result["text"]


def test_figures_in_words_and_a_question_about_one_on_the_way(rasa_url):
    """Dictated or typed out in words, the figures of government example G1 give its result;
    a question about a figure on the way is explained, not misread."""
    sender = uuid.uuid4().hex
    send(rasa_url, "Ich möchte meinen Abschlag berechnen", sender)
    send(rasa_url, "Gas", sender)
    ask_price = send(rasa_url, "fünfzehntausend Kilowattstunden", sender)
    assert "Arbeitspreis" in ask_price[-1]["text"]
    # A question about the figure asked for gets what it is, and the question again.
    help_then_ask = send(rasa_url, "was ist ein Arbeitspreis?", sender)
    assert help_then_ask[0]["text"].startswith("Der Arbeitspreis ist der Preis"), help_then_ask
    assert "Wie hoch ist Ihr Arbeitspreis" in help_then_ask[-1]["text"]
    send(rasa_url, "zweiundzwanzig Cent", sender)
    send(rasa_url, "weiß nicht", sender)
    [result] = send(rasa_url, "hundert Euro", sender)
    assert "betrug Ihr Abschlag 175 € statt 275 € im Monat" in result["text"]


def test_a_calculation_asked_for_in_anger_begins_with_one_acknowledgement(rasa_url):
    sender = uuid.uuid4().hex
    replies = send(
        rasa_url,
        "Mein Abschlag ist von 89 auf 160 Euro gestiegen, das kann doch nicht sein!! "
        "Ich bin Rentnerin und weiß nicht wie ich das bezahlen soll",
        sender,
    )
    texts = [r.get("text") or "" for r in replies]
    assert texts[0].startswith("Ich verstehe, dass Sie das ärgert oder belastet"), texts
    assert len(texts) == 2, texts  # the acknowledgement once, then the substance
    # The substance: the form's first question, or (the classifier reads the calculation at
    # 0.31 since the near-miss training data of 2026-12-07) a question back that offers the
    # calculation first.
    buttons = [b["payload"] for b in replies[-1].get("buttons") or []]
    assert "Um welche Energie geht es?" in texts[-1] or buttons[0] == "/instalment_calculation"


def test_a_number_longer_than_any_figure_gets_the_question_again(rasa_url):
    sender = uuid.uuid4().hex
    send(rasa_url, "Ich möchte meinen Abschlag berechnen", sender)
    send(rasa_url, "Gas", sender)
    replies = send(rasa_url, "9" * 40 + " kWh", sender)  # once an InvalidOperation in the action
    assert "Jahresverbrauch" in replies[-1]["text"], replies
    [ask_price] = send(rasa_url, "15.000 kWh", sender)[-1:]
    assert "Arbeitspreis" in ask_price["text"]


def test_faq_question_during_the_form_is_answered_and_the_form_continues(rasa_url):
    sender = uuid.uuid4().hex
    send(rasa_url, "Abschlag berechnen", sender)
    send(rasa_url, "Strom", sender)
    replies = send(rasa_url, "Muss ich die Preisbremse eigentlich beantragen?", sender)
    assert replies[0]["metadata"].get("faq_id") == "preisbremse_antrag"
    assert "Jahresverbrauch" in replies[-1]["text"]


def test_a_question_about_the_brakes_own_figures_is_answered_not_taken_as_a_price(rasa_url):
    # 9,5 and 12 ct/kWh are the heat and gas brakes' reference prices (knowledge/facts): in a
    # question about them they are no working price of the customer's.
    sender = uuid.uuid4().hex
    send(rasa_url, "Abschlag mit Fernwärme berechnen", sender)
    send(rasa_url, "9.800 kWh", sender)
    replies = send(
        rasa_url, "Warum eigentlich 9,5 Cent bei Fernwärme und nicht 12 wie beim Gas?", sender
    )
    assert replies[0]["metadata"].get("faq_id") == "waermepreisbremse", replies
    assert "Arbeitspreis" in replies[-1]["text"]  # the form asks for the price again
    [next_question] = send(rasa_url, "17,2 ct", sender)
    assert "Grundpreis" in next_question["text"]


def test_an_off_topic_question_during_the_form_gets_its_reply_and_the_form_continues(rasa_url):
    sender = uuid.uuid4().hex
    send(rasa_url, "Abschlag berechnen", sender)
    send(rasa_url, "Strom", sender)
    replies = send(rasa_url, "Wer hat eigentlich gestern das Fußballspiel gewonnen?", sender)
    texts = [r.get("text") or "" for r in replies]
    assert replies[0]["metadata"].get("decision") == "fallback", texts
    assert not any("keine Zahl" in t for t in texts)  # not read as a missing figure
    assert "Jahresverbrauch" in texts[-1]  # the form asks for the consumption again
    [next_question] = send(rasa_url, "3000 kWh", sender)
    assert "Arbeitspreis" in next_question["text"]


def test_the_customer_can_stop_the_form(rasa_url):
    sender = uuid.uuid4().hex
    send(rasa_url, "Abschlag berechnen", sender)
    [reply] = send(rasa_url, "abbrechen", sender)
    assert "abgebrochen" in reply["text"]
    assert "Assistent" in send(rasa_url, "Hallo", sender)[0]["text"]


def test_calculator_down_gives_a_clear_message_and_a_person(rasa_url, calculator):
    sender = uuid.uuid4().hex
    send(rasa_url, "Ich verbrauche 3000 kWh Strom und zahle 50 Cent", sender)
    send(rasa_url, "weiß nicht", sender)
    calculator.stop()
    try:
        [reply] = send(rasa_url, "überspringen", sender)
        assert "nicht erreichbar" in reply["text"]
        assert {"title": "Mit einer Person sprechen", "payload": "/human_handoff"} in reply[
            "buttons"
        ]
        # The conversation goes on.
        assert (
            send(rasa_url, "Wie hat die Gaspreisbremse funktioniert?", sender)[0]["metadata"][
                "faq_id"
            ]
            == "gaspreisbremse"
        )
    finally:
        calculator.start().wait_ready()
