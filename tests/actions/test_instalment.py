"""The instalment form's actions with a real Tracker and dispatcher; the calculator's HTTP API
is faked with `responses`, its answers produced by the real service app."""

from __future__ import annotations

import json

import pytest
import requests
import responses
from fastapi.testclient import TestClient
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.dependencies import set_tariff_client
from actions.instalment import (
    ActionAskInstalmentFormWorkingPriceCt,
    ActionCalculateInstalment,
    ValidateInstalmentForm,
)
from bot.tariff.client import TariffClient
from bot.tariff.service import create_app

BASE = "http://calculator.test"


@pytest.fixture(scope="module")
def service():
    return TestClient(create_app())


@pytest.fixture
def fake_http(service):
    """`responses` answering with what the real service app answers."""

    def relay(request):
        method = getattr(service, request.method.lower())
        kwargs = {"content": request.body} if request.body else {}
        answer = method(request.path_url, headers={"Content-Type": "application/json"}, **kwargs)
        return answer.status_code, {}, answer.content

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in (responses.GET, responses.POST):
            mock.add_callback(method, responses.matchers.re.compile(f"{BASE}/.*"), relay)
        set_tariff_client(TariffClient(BASE, sleep=lambda _: None))
        yield mock
        set_tariff_client(None)


def form_tracker(text, requested, slots=None, intent="nlu_fallback", confidence=0.4):
    return Tracker(
        sender_id="t",
        slots={"requested_slot": requested, **(slots or {})},
        latest_message={"text": text, "intent": {"name": intent, "confidence": confidence}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={"name": "instalment_form"},
        latest_action_name="action_listen",
    )


def slot_events(events):
    return {
        e["name"]: e["value"]
        for e in events
        if e.get("event") == "slot" and e["name"] != "requested_slot"
    }


async def test_first_message_fills_what_it_can(dispatcher, domain, fake_http):
    tracker = form_tracker(
        "Ich verbrauche 3.500 kWh Strom und zahle 48,5 Cent", None, intent="instalment_calculation"
    )
    events = await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    assert slot_events(events) == {
        "energy": "strom",
        "consumption_kwh": 3500.0,
        "working_price_ct": 48.5,
    }
    assert dispatcher.messages == []


async def test_a_form_started_in_anger_begins_with_the_acknowledgement(
    dispatcher, domain, fake_http
):
    text = "Mein Abschlag ist von 89 auf 160 Euro gestiegen, das kann doch nicht sein!!"
    tracker = form_tracker(text, None, intent="instalment_calculation", confidence=0.44)
    tracker.latest_message["intent_ranking"] = [
        {"name": "instalment_calculation", "confidence": 0.44},
        {"name": "upset", "confidence": 0.3},
    ]
    await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_complaint_acknowledged"
    # Later turns of the form, or a calm start, get no acknowledgement.
    dispatcher.messages.clear()
    tracker = form_tracker("160 Euro!!", "current_instalment_eur", {"energy": "gas"})
    tracker.latest_message["intent_ranking"] = [{"name": "upset", "confidence": 0.3}]
    await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    assert "utter_complaint_acknowledged" not in [m["response"] for m in dispatcher.messages]


@pytest.mark.parametrize(
    ("topic", "energy", "name"),
    [("gaspreisbremse", "gas", "Gas"), ("preisbremse_heizstrom", "strom", "Strom")],
)
async def test_the_form_calculates_for_the_energy_of_the_last_answer(
    dispatcher, domain, fake_http, topic, energy, name
):
    tracker = form_tracker(
        "was heißt das für meinen Abschlag?",
        None,
        {"last_faq_id": topic},
        intent="instalment_calculation",
    )
    events = await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    assert slot_events(events) == {"energy": energy}
    assert dispatcher.messages[0]["response"] == "utter_energy_from_conversation"
    assert dispatcher.messages[0]["energy_name"] == name


async def test_a_general_topic_or_a_named_energy_gives_no_energy_from_the_conversation(
    dispatcher, domain, fake_http
):
    general = form_tracker(
        "rechnen Sie das aus", None, {"last_faq_id": "preisbremse_antrag"}, "instalment_calculation"
    )
    assert slot_events(await ValidateInstalmentForm().run(dispatcher, general, domain)) == {}
    named = form_tracker(
        "und für meinen Stromabschlag?",
        None,
        {"last_faq_id": "gaspreisbremse"},
        "instalment_calculation",
    )
    events = await ValidateInstalmentForm().run(dispatcher, named, domain)
    assert slot_events(events) == {"energy": "strom"}
    assert dispatcher.messages == []


async def test_the_customer_corrects_the_energy_at_the_next_question(dispatcher, domain, fake_http):
    tracker = form_tracker("nein, Fernwärme", "consumption_kwh", {"energy": "gas"})
    events = await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    assert slot_events(events)["energy"] == "waerme"
    question = form_tracker("gilt das auch für Strom?", "consumption_kwh", {"energy": "gas"})
    events = await ValidateInstalmentForm().run(CollectingDispatcher(), question, domain)
    assert "energy" not in slot_events(events)


async def test_implausible_consumption_is_reasked_with_the_reason(dispatcher, domain, fake_http):
    tracker = form_tracker("5 Millionen", "consumption_kwh", {"energy": "strom"})
    tracker.latest_message["text"] = "5.000.000 kWh"
    events = await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    assert slot_events(events) == {"consumption_kwh": None}
    assert dispatcher.messages[0]["response"] == "utter_consumption_above_household"
    assert dispatcher.messages[0]["limit"] == "30.000 kWh"


async def test_message_without_a_figure_gets_a_hint(dispatcher, domain, fake_http):
    tracker = form_tracker("hm, puh", "consumption_kwh", {"energy": "gas"})
    events = await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_invalid_number"
    assert SlotSet("consumption_kwh", None) in events


@pytest.mark.parametrize(
    ("text", "requested", "intent"),
    [
        ("was ist ein arbeitspreis?", "working_price_ct", "bot_challenge"),
        ("Was ist denn der Grundpreis?", "base_price_eur", "faq_preisbremse_grundpreis"),
        ("wo finde ich meinen Jahresverbrauch?", "consumption_kwh", "faq_zaehlerstand_melden"),
        ("wo finde ich den?", "current_instalment_eur", "nlu_fallback"),
    ],
)
async def test_a_question_about_the_figure_asked_for_gets_its_help(
    dispatcher, domain, fake_http, text, requested, intent
):
    tracker = form_tracker(text, requested, {"energy": "gas"}, intent=intent, confidence=0.93)
    events = await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    assert [m["response"] for m in dispatcher.messages] == [f"utter_help_{requested}"]
    assert SlotSet(requested, None) in events  # the form goes on and asks again
    assert slot_events(events) == {requested: None}


async def test_skipping_a_required_figure_gets_its_help(dispatcher, domain, fake_http):
    tracker = form_tracker("überspringen", "working_price_ct", {"energy": "waerme"})
    events = await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_help_working_price_ct"]
    assert slot_events(events) == {"working_price_ct": None}


async def test_faq_question_during_the_form_is_left_to_the_rules(dispatcher, domain, fake_http):
    tracker = form_tracker(
        "Muss ich die Preisbremse beantragen?",
        "consumption_kwh",
        {"energy": "gas"},
        intent="faq_preisbremse_antrag",
    )
    events = await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    assert slot_events(events) == {}  # nothing filled: Rasa rejects the form, a rule answers
    assert dispatcher.messages == []


async def test_an_off_topic_question_during_the_form_is_left_to_the_rules(
    dispatcher, domain, fake_http
):
    tracker = form_tracker(
        "Wer hat eigentlich gestern das Fußballspiel gewonnen?", "base_price_eur",
        {"energy": "gas"}, intent="out_of_scope", confidence=0.999,
    )  # fmt: skip
    events = await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    # Nothing filled, no "no number found": Rasa rejects the form's turn, the form's
    # out-of-scope rule answers, the form asks for the standing charge again.
    assert slot_events(events) == {}
    assert SlotSet("base_price_eur", None) not in events
    assert dispatcher.messages == []


async def test_a_less_sure_out_of_scope_or_a_figure_stays_with_the_form(
    dispatcher, domain, fake_http
):
    # A remark about the form the classifier is less sure of: the hint and the question again.
    tracker = form_tracker(
        "warum fragen sie das alles?", "base_price_eur", {"energy": "gas"},
        intent="out_of_scope", confidence=0.94,
    )  # fmt: skip
    events = await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_invalid_number"
    assert SlotSet("base_price_eur", None) in events
    # A sure out_of_scope that holds the figure asked for answers the form.
    dispatcher.messages.clear()
    tracker = form_tracker(
        "was weiß ich, 12 Euro im Monat?", "base_price_eur", {"energy": "gas"},
        intent="out_of_scope", confidence=0.99,
    )  # fmt: skip
    events = await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    assert "base_price_eur" in slot_events(events)


async def test_topic_question_naming_a_slot_value_is_not_the_slot_answer(
    dispatcher, domain, fake_http
):
    # At the energy slot: the question names "Fernwärme" but asks about the heat brake.
    tracker = form_tracker(
        "gilt das auch für fernwärme, gibts da ne bremse?", "energy",
        intent="faq_waermepreisbremse",
    )  # fmt: skip
    events = await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    assert slot_events(events) == {}  # the FAQ rule answers, the form asks for the energy again
    # The bare energy, even read as that topic, still answers the form.
    tracker = form_tracker("Fernwärme", "energy", intent="faq_waermepreisbremse")
    events = await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    assert slot_events(events) == {"energy": "waerme"}


async def test_tariff_name_supplies_working_price_and_standing_charge(
    dispatcher, domain, fake_http
):
    tracker = form_tracker(
        "MusterStrom Basis", "working_price_ct", {"energy": "strom", "consumption_kwh": 3000.0}
    )
    events = await ValidateInstalmentForm().run(dispatcher, tracker, domain)
    values = slot_events(events)
    assert values["tariff_name"] == "MusterStrom Basis"
    assert values["working_price_ct"] > 0 and values["base_price_eur"] > 0
    assert dispatcher.messages[0]["response"] == "utter_tariff_applied"


async def test_price_question_offers_the_tariffs_of_that_energy(dispatcher, domain, fake_http):
    tracker = form_tracker("", "working_price_ct", {"energy": "gas"})
    await ActionAskInstalmentFormWorkingPriceCt().run(dispatcher, tracker, domain)
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert titles and all("Gas" in t for t in titles)


def filled(**overrides):
    slots = {
        "energy": "strom",
        "consumption_kwh": 3000.0,
        "working_price_ct": 50.0,
        "base_price_eur": "skip",
        "current_instalment_eur": "skip",
        "tariff_name": None,
    }
    return form_tracker("überspringen", None, {**slots, **overrides})


async def test_result_shows_the_rechenweg_and_resets_the_form(dispatcher, domain, fake_http):
    events = await ActionCalculateInstalment().run(dispatcher, filled(), domain)
    [message] = dispatcher.messages
    assert "betrug Ihr Abschlag 105 € statt 125 € im Monat" in message["text"]
    assert "Entlastung von 20 € im Monat" in message["text"]
    assert message["calculation"]["monthly_relief_eur"] == "20.00"
    assert "Dezember-Soforthilfe" not in message["text"]  # none for electricity
    assert all(e["value"] is None for e in events)
    sent = json.loads(fake_http.calls[0].request.body)
    assert sent == {"energy": "strom", "forecast_kwh": 3000.0, "working_price_ct": 50.0}


async def test_gas_result_includes_the_december_aid(dispatcher, domain, fake_http):
    tracker = filled(
        energy="gas", consumption_kwh=24000.0, working_price_ct=10.0, base_price_eur=120.0
    )
    await ActionCalculateInstalment().run(dispatcher, tracker, domain)
    # ODR example D1: 24.000 kWh, 10 ct, 120 €/a → 210 € December aid.
    assert "Ihre Soforthilfe: 200 € + 10 € = 210 €." in dispatcher.messages[0]["text"]


async def test_calculator_down_keeps_the_figures_and_offers_a_person(dispatcher, domain):
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, f"{BASE}/v1/instalment", body=requests.ConnectionError("refused"))
        set_tariff_client(TariffClient(BASE, sleep=lambda _: None))
        try:
            events = await ActionCalculateInstalment().run(dispatcher, filled(), domain)
        finally:
            set_tariff_client(None)
        assert len(mock.calls) == 3  # retried with backoff before giving up
    assert dispatcher.messages[0]["response"] == "utter_calculator_unavailable"
    assert events == []


async def test_calculator_rejection_is_explained(dispatcher, domain, fake_http):
    await ActionCalculateInstalment().run(dispatcher, filled(consumption_kwh=99_000.0), domain)
    message = dispatcher.messages[0]
    assert message["response"] == "utter_calculation_rejected"
    assert message["reason"]
