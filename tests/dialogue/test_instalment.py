"""The instalment form's extraction and plausibility logic (no Rasa)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.dialogue.instalment import (
    SKIPPED,
    asks_a_topic,
    asks_for_help,
    asks_off_topic,
    check_base_price,
    check_consumption,
    check_instalment,
    check_working_price,
    december_fields,
    extract,
    match_tariff,
    reference_prices,
    request_fields,
)

TARIFFS = ["MusterStrom Basis", "MusterGas Komfort"]


def test_direct_question_fills_every_slot_it_can():
    values = extract(
        "Ich verbrauche 3500 kWh Strom und zahle 48 Cent, wie hoch ist meine Entlastung?", None
    )
    assert values == {"energy": "strom", "consumption_kwh": 3500.0, "working_price_ct": 48.0}


@pytest.mark.parametrize(
    ("text", "requested", "expected"),
    [
        ("3.500 kWh", "consumption_kwh", {"consumption_kwh": 3500.0}),
        ("3500", "consumption_kwh", {"consumption_kwh": 3500.0}),
        ("3,5 MWh", "consumption_kwh", {"consumption_kwh": 3500.0}),
        ("ca. 4000", "consumption_kwh", {"consumption_kwh": 4000.0}),
        ("48,5 Cent", "working_price_ct", {"working_price_ct": 48.5}),
        ("0,485 EUR/kWh", "working_price_ct", {"working_price_ct": 48.5}),
        ("0,485", "working_price_ct", {"working_price_ct": 48.5}),
        ("22", "working_price_ct", {"working_price_ct": 22.0}),
        ("12 Euro im Monat", "base_price_eur", {"base_price_eur": 144.0}),
        ("150 € im Jahr", "base_price_eur", {"base_price_eur": 150.0}),
        ("12", "base_price_eur", {"base_price_eur": 144.0}),
        ("164", "base_price_eur", {"base_price_eur": 164.0}),
        ("weiß ich nicht", "base_price_eur", {"base_price_eur": SKIPPED}),
        ("95 Euro", "current_instalment_eur", {"current_instalment_eur": 95.0}),
        ("überspringen", "current_instalment_eur", {"current_instalment_eur": SKIPPED}),
        # number words, as people type (and dictate) them
        ("zweihundertzehn Euro", "current_instalment_eur", {"current_instalment_eur": 210.0}),
        ("so dreitausendfünfhundert", "consumption_kwh", {"consumption_kwh": 3500.0}),
        ("zwölf Komma fünf Cent", "working_price_ct", {"working_price_ct": 12.5}),
        ("neun Euro im Monat", "base_price_eur", {"base_price_eur": 108.0}),
    ],
)
def test_figures_as_people_type_them(text, requested, expected):
    assert extract(text, requested) == expected


@pytest.mark.parametrize(
    ("text", "requested", "expected"),
    [
        (
            "Grundpreis 164 € im Jahr, Abschlag zurzeit 130 Euro",
            "base_price_eur",
            {"base_price_eur": 164.0, "current_instalment_eur": 130.0},
        ),
        (
            "Gas, 20.000 kWh im Jahr, 16,5 ct/kWh, Grundpreis 12 € im Monat, aktueller "
            "Abschlag 280 €. Was zahle ich mit Preisbremse?",
            None,
            {
                "energy": "gas",
                "consumption_kwh": 20000.0,
                "working_price_ct": 16.5,
                "base_price_eur": 144.0,
                "current_instalment_eur": 280.0,
            },
        ),
        (
            "mein Abschlag wurde von 100 € auf 250 € erhöht",
            "current_instalment_eur",
            {"current_instalment_eur": 250.0},
        ),
        # the instalment named by its clause, with or without the euro sign
        (
            "Grundpreis 210 Euro, Abschlag bisher 165",
            "base_price_eur",
            {"base_price_eur": 210.0, "current_instalment_eur": 165.0},
        ),
        (
            "Grundpreis 12 Euro im Monat also 144 im Jahr, Abschlag zahl ich 270",
            "base_price_eur",
            {"base_price_eur": 144.0, "current_instalment_eur": 270.0},
        ),
        (
            "Gas, 15000 kWh, 22 ct, 120 € Grundpreis im Jahr, derzeit zahle ich 100 € im Monat.",
            None,
            {
                "energy": "gas",
                "consumption_kwh": 15000.0,
                "working_price_ct": 22.0,
                "base_price_eur": 120.0,
                "current_instalment_eur": 100.0,
            },
        ),
        ("monatliche Rate 90 Euro", "consumption_kwh", {"current_instalment_eur": 90.0}),
        # a bare number beside "Abschlag" that speaks of a change is no amount
        (
            "mein Abschlag ist um 50 gestiegen, 3000 kWh",
            "consumption_kwh",
            {"consumption_kwh": 3000.0},
        ),
    ],
)
def test_every_named_amount_of_a_list_of_figures_is_read(text, requested, expected):
    assert extract(text, requested) == expected


def test_a_percentage_or_a_change_beside_the_instalment_is_no_amount():
    assert extract("Abschlag 20 % höher, 3000 kWh", "consumption_kwh") == {
        "consumption_kwh": 3000.0
    }
    assert extract("ich zahle 50 mehr als letztes Jahr", None) == {}


def test_correction_with_a_unit_while_another_slot_is_asked():
    assert extract("nein, 4000 kWh", "working_price_ct") == {"consumption_kwh": 4000.0}


def test_tariff_name_supplies_the_prices():
    assert extract("Ich habe musterstrom basis", "working_price_ct", TARIFFS) == {
        "tariff_name": "MusterStrom Basis",
    }
    assert match_tariff("keine Ahnung", TARIFFS) is None


def test_a_tariffs_own_first_word_names_it():
    names = ["MusterStrom Basis", "MusterStrom Öko", "MusterWärme Fernwärme", "Gas Komfort"]
    assert match_tariff("MusterWärme", names) == "MusterWärme Fernwärme"
    assert match_tariff("ich hab musterwaerme", names) == "MusterWärme Fernwärme"
    assert match_tariff("MusterStrom", names) is None  # Basis or Öko: the buttons ask
    assert match_tariff("Gas", names) is None  # an energy word names no tariff


def test_a_question_in_between_does_not_change_the_energy():
    # Else the filled slot keeps the form from letting the question be answered (issue 16).
    text = "gibt es für Heizstrom eigentlich einen anderen Deckel?"
    assert extract(text, "working_price_ct") == {}
    assert extract("Strom", "energy") == {"energy": "strom"}


def test_button_payloads_are_not_parsed():
    assert extract("/instalment_calculation", None) == {}


def test_plausibility(kb):
    assert check_consumption(5, "strom", kb).response == "utter_consumption_too_low"
    problem = check_consumption(5_000_000, "gas", kb)
    assert problem.response == "utter_consumption_above_household"
    assert problem.params == {"value": "5.000.000", "limit": "1.500.000 kWh"}
    assert check_consumption(31_000, "strom", kb).params["limit"] == "30.000 kWh"
    assert check_consumption(3500, "strom", kb) is None
    assert check_working_price(0).response == "utter_price_not_positive"
    assert check_working_price(900).response == "utter_price_too_high"
    assert check_working_price(48.5) is None
    assert check_base_price(SKIPPED) is None
    assert check_base_price(50_000).response == "utter_base_price_implausible"
    assert check_instalment(-3).response == "utter_instalment_implausible"
    assert check_instalment(120) is None


def test_request_fields_drop_skipped_values():
    slots = {
        "energy": "gas",
        "consumption_kwh": 15000.0,
        "working_price_ct": 22.0,
        "base_price_eur": SKIPPED,
        "current_instalment_eur": 100.0,
    }
    assert request_fields(slots) == {
        "energy": "gas",
        "forecast_kwh": 15000.0,
        "working_price_ct": 22.0,
        "base_price_eur_year": None,
        "current_instalment_eur": 100.0,
    }
    assert december_fields(slots) == {
        "energy": "gas",
        "forecast_kwh_sept_2022": 15000.0,
        "working_price_ct_dec_2022": 22.0,
        "base_price_eur_year": None,
    }
    assert december_fields({**slots, "energy": "strom"}) is None


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ("gilt das auch für fernwärme, gibts da ne bremse?", "faq_waermepreisbremse", True),
        ("müssen wir dafür was einreichen", "faq_preisbremse_antrag", True),
        ("Fernwärme", "faq_waermepreisbremse", False),  # the answer, whatever the classifier says
        ("Fernwärme?", "faq_waermepreisbremse", False),
        ("gilt das auch bei 9000 kWh?", "faq_gaspreisbremse", False),  # a figure: the form's
        ("gilt das auch bei neuntausend kWh?", "faq_gaspreisbremse", False),  # in words too
        ("gilt das auch für fernwärme?", "nlu_fallback", False),
        ("gilt das auch für fernwärme?", None, False),
    ],
)
def test_a_topic_question_mid_form_is_told_from_an_answer(text, intent, expected):
    assert asks_a_topic(text, intent) is expected


REFERENCE = frozenset({Decimal(40), Decimal(12), Decimal("9.5")})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the brakes' own figures in a question about them: no working price of the customer's
        ("Warum eigentlich 9,5 Cent bei Fernwärme und nicht 12 wie beim Gas?", True),
        ("Moment, Wärmepumpentarif mit HT und NT – gilt da überhaupt die 40-Cent-Grenze?", True),
        # the customer's own figure, or one that is no reference price: the form's
        ("mein Preis ist 40 ct, gilt da die Bremse?", False),
        ("gilt die Bremse auch bei 41 Cent?", False),
        ("Warum 12 ct bei 9000 kWh?", False),
        ("40 ct", False),  # an answer, not a question
        ("gilt da die " + "9" * 40 + "-Cent-Grenze?", False),  # a huge number is no reference
    ],
)
def test_a_reference_price_in_a_question_is_not_the_customers(text, expected):
    assert asks_a_topic(text, "faq_waermepreisbremse", REFERENCE) is expected


def test_the_reference_prices_come_from_the_facts(kb):
    prices = reference_prices(kb)
    assert {Decimal(40), Decimal(12), Decimal("9.5")} <= prices
    assert Decimal(30000) not in prices  # a consumption limit, not a price


@pytest.mark.parametrize(
    ("text", "intent", "confidence", "expected"),
    [
        ("Wer hat eigentlich gestern das Fußballspiel gewonnen?", "out_of_scope", 0.999, True),
        ("wie wird eigentlich das Wetter am Wochenende", "out_of_scope", 0.995, True),
        ("warum fragen sie das alles?", "out_of_scope", 0.94, False),  # not sure enough
        ("wer hat 2022 die meisterschaft gewonnen?", "out_of_scope", 0.99, False),  # a figure
        ("wetter?", "out_of_scope", 0.99, False),  # too short to be a question of its own
        ("Wer hat gestern das Spiel gewonnen?", "nlu_fallback", 0.99, False),
        ("ok das weiß ich nicht so genau", "out_of_scope", 0.99, False),  # no question
    ],
)
def test_an_off_topic_question_mid_form_is_told_from_an_answer(
    text, intent, confidence, expected
):
    assert asks_off_topic(text, intent, confidence) is expected


@pytest.mark.parametrize(
    ("text", "requested", "expected"),
    [
        ("was ist ein arbeitspreis?", "working_price_ct", True),
        ("Was meinen Sie mit Arbeitspreis?", "working_price_ct", True),
        ("Was versteht man unter Grundpreis?", "base_price_eur", True),
        ("wo steht der Verbrauch auf der Rechnung", "consumption_kwh", True),
        ("wo finde ich den?", "working_price_ct", True),  # short: the figure just asked for
        ("woher soll ich das wissen", "consumption_kwh", True),
        ("was ist ein arbeitspreis? 40 ct", "working_price_ct", False),  # answers with it
        ("was ist ein abschlag", "working_price_ct", False),  # another slot's figure
        ("was ist mit meinem Abschlag im Dezember?", "current_instalment_eur", False),
        ("was ist mit Mietern?", "consumption_kwh", False),  # a follow-up, no help asked
        ("was ist ein arbeitspreis?", None, False),  # no form question open
        ("was ist ein " + "a" * 5000, "working_price_ct", False),  # hostile length
    ],
)
def test_a_question_about_the_figure_asked_for(text, requested, expected):
    assert asks_for_help(text, requested) is expected
