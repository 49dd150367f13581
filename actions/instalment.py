"""The personal instalment calculation: form validation, the tariff question, the result.

The figures are parsed and checked by ``bot.dialogue.instalment`` and computed by the tariff
calculator service (``bot.tariff.client.TariffClient``); this module only maps them onto Rasa
slots, responses and events.
"""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.dependencies import knowledge_store, response_text, tariff_catalogue, tariff_client
from bot.dialogue import instalment as form
from bot.dialogue.decision import decide
from bot.dialogue.numbers import is_skip
from bot.knowledge.render import format_money, format_number
from bot.tariff.client import (
    DecemberQuote,
    InstalmentQuote,
    TariffInfo,
    TariffRejected,
    TariffServiceError,
)

FORM_SLOTS = (
    "energy",
    "consumption_kwh",
    "working_price_ct",
    "base_price_eur",
    "current_instalment_eur",
    "tariff_name",
)
# The month the calculation is for: the brakes applied in 2023 (the contract's default month).
CALCULATION_MONTH = date(2023, 6, 1)
# Intents whose message, when it holds no usable figure, gets "no number found" and the same
# question again instead of being handled as a new question.
_FIGURE_INTENTS = frozenset({"nlu_fallback", "out_of_scope", "instalment_calculation", "affirm"})


async def _tariffs(energy: str | None) -> list[TariffInfo]:
    """The catalogue's tariffs for ``energy``; empty when the service cannot be reached.

    The client is synchronous; it runs in a worker thread so that a slow calculator never
    blocks the action server's event loop (and with it every other conversation).
    """
    return await asyncio.to_thread(tariff_catalogue().tariffs, energy)


def _energy_of_current_topic(tracker: Tracker) -> str | None:
    """The energy of the conversation's current topic (slot ``last_faq_id``), if only one."""
    topic_id = tracker.get_slot("last_faq_id")
    topic = knowledge_store().knowledge().topics.get(str(topic_id)) if topic_id else None
    return form.energy_of_topic(topic.facet("energy")) if topic is not None else None


def _off_topic(tracker: Tracker) -> bool:
    """The latest message is a question outside the assistant's scope (no figure read)."""
    intent = tracker.latest_message.get("intent") or {}
    return form.asks_off_topic(
        tracker.latest_message.get("text") or "",
        intent.get("name"),
        float(intent.get("confidence") or 0.0),
    )


def _reask(dispatcher: CollectingDispatcher, problem: form.Problem | None) -> bool:
    if problem is None:
        return False
    dispatcher.utter_message(response=problem.response, **problem.params)
    return True


class ValidateInstalmentForm(FormValidationAction):
    """``validate_instalment_form``: extract figures from free text and check them."""

    def name(self) -> str:
        """Name of the action in domain.yml."""
        return "validate_instalment_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Validate; a message without a usable figure gets a hint instead of a rejection."""
        requested = tracker.get_slot("requested_slot")
        if requested is None and decide(tracker.latest_message).complaint:
            # The form starts from an angry or desperate message ("Mein Abschlag ist von 89
            # auf 160 Euro gestiegen, das kann doch nicht sein!! …"): one short acknowledgement
            # before the first question, as an answer to a complaint gets (issue 16).
            dispatcher.utter_message(response="utter_complaint_acknowledged")
        events: list[EventType] = await super().run(dispatcher, tracker, domain)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        filled = any(e.get("event") == "slot" and e.get("name") in FORM_SLOTS for e in events)
        text = tracker.latest_message.get("text") or ""
        if requested and not filled and form.asks_for_help(text, requested):
            # "was ist ein Arbeitspreis?": what the figure is and where to find it, then the
            # form asks again (the slot set to None keeps Rasa from rejecting the turn).
            dispatcher.utter_message(response=f"utter_help_{requested}")
            events.append(SlotSet(requested, None))
            return events
        if requested and not filled and _off_topic(tracker):
            # No slot set: Rasa rejects the form's turn, the out-of-scope rule of the form
            # answers, then the form asks for the same slot again.
            return events
        if requested and not filled and (intent == "dont_know" or is_skip(text)):
            # "weiß ich nicht" at a slot: an optional figure is skipped, a required one is
            # explained (where to find it) and asked again; so is "überspringen" at a required
            # one ("keine Zahl gefunden" would not say why it cannot be skipped).
            if requested in form.OPTIONAL_SLOTS:
                events.append(SlotSet(requested, form.SKIPPED))
            else:
                dispatcher.utter_message(response=f"utter_help_{requested}")
                events.append(SlotSet(requested, None))
        elif requested and not filled and intent in _FIGURE_INTENTS:
            response = "utter_invalid_energy" if requested == "energy" else "utter_invalid_number"
            dispatcher.utter_message(response=response)
            events.append(SlotSet(requested, None))
        return events

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        """The domain's slots plus ``tariff_name``, so that a named tariff is extracted too."""
        return [*domain_slots, "tariff_name"]

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> EventType | None:
        """Let Rasa ask for the domain's slots in order; ``tariff_name`` is never asked for."""
        return None

    async def get_extraction_events(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Every figure the message holds, whatever was asked (parsed once per message)."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        text = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        requested = tracker.get_slot("requested_slot")
        if form.asks_for_help(text, requested):
            return []  # answered with the slot's help in run()
        if form.asks_a_topic(text, intent, form.reference_prices(knowledge_store().knowledge())):
            # Nothing extracted: Rasa rejects the form's turn and the FAQ rule for the
            # intent answers, then the form asks for the same slot again.
            return []
        names: list[str] = []
        if requested == "working_price_ct":
            tariffs = await _tariffs(tracker.get_slot("energy"))
            names = [t.name for t in tariffs]
        values = {k: v for k, v in form.extract(text, requested, names).items() if k in required}
        if requested is None and "energy" not in values:
            # The form starts after an answer about one energy: calculate for that one, and
            # say so (the customer can still name another at the next question).
            energy = _energy_of_current_topic(tracker)
            if energy is not None:
                values["energy"] = energy
                dispatcher.utter_message(
                    response="utter_energy_from_conversation",
                    energy_name=form.ENERGY_NAMES[energy],
                )
        elif requested == "consumption_kwh" and "consumption_kwh" not in values:
            energy = form.corrects_energy(text)
            if energy is not None and energy != tracker.get_slot("energy"):
                values["energy"] = energy
        tracker.slots.update(values)
        return [SlotSet(slot, value) for slot, value in values.items()]

    # --- validation -----------------------------------------------------------------------------

    def validate_energy(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Accept strom, gas, waerme."""
        if value in ("strom", "gas", "waerme"):
            return {"energy": value}
        dispatcher.utter_message(response="utter_invalid_energy")
        return {"energy": None}

    def validate_consumption_kwh(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Plausible for a household and within the household limit of the energy."""
        kb = knowledge_store().knowledge()
        energy = tracker.get_slot("energy")
        if _reask(dispatcher, form.check_consumption(float(value), energy, kb)):
            return {"consumption_kwh": None}
        return {"consumption_kwh": float(value)}

    def validate_working_price_ct(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Above zero and not absurdly high."""
        if _reask(dispatcher, form.check_working_price(float(value))):
            return {"working_price_ct": None}
        return {"working_price_ct": float(value)}

    def validate_base_price_eur(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A plausible standing charge per year, or skipped."""
        if _reask(dispatcher, form.check_base_price(value)):
            return {"base_price_eur": None}
        return {"base_price_eur": value}

    def validate_current_instalment_eur(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A plausible monthly instalment, or skipped."""
        if _reask(dispatcher, form.check_instalment(value)):
            return {"current_instalment_eur": None}
        return {"current_instalment_eur": value}

    async def validate_tariff_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A named tariff supplies working price and standing charge for the calculated month."""
        for tariff in await _tariffs(tracker.get_slot("energy")):
            if tariff.name != value:
                continue
            for price in tariff.prices:
                ends = price.valid_to or date.max
                if price.valid_from <= CALCULATION_MONTH <= ends:
                    dispatcher.utter_message(response="utter_tariff_applied", tariff=tariff.name)
                    return {
                        "tariff_name": tariff.name,
                        "energy": tariff.energy,
                        "working_price_ct": float(price.working_price_ct),
                        "base_price_eur": float(price.base_price_eur_year),
                    }
        return {"tariff_name": None}


class ActionAskInstalmentFormWorkingPriceCt(Action):
    """``action_ask_instalment_form_working_price_ct``: ask the price, offer the tariffs."""

    def name(self) -> str:
        """Name of the action in domain.yml."""
        return "action_ask_instalment_form_working_price_ct"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Ask for the working price, with the utility's tariffs of that energy as buttons."""
        tariffs = await _tariffs(tracker.get_slot("energy"))
        buttons = [{"title": t.name, "payload": t.name} for t in tariffs]
        dispatcher.utter_message(
            response="utter_ask_instalment_form_working_price_ct", buttons=buttons
        )
        return []


def _inputs_line(tracker: Tracker) -> str:
    energy = form.ENERGY_NAMES[tracker.get_slot("energy")]
    parts = [
        energy,
        f"{format_number(Decimal(str(tracker.get_slot('consumption_kwh'))))} kWh im Jahr",
        f"{format_number(Decimal(str(tracker.get_slot('working_price_ct'))))} ct/kWh",
    ]
    base = tracker.get_slot("base_price_eur")
    if base not in (None, form.SKIPPED):
        parts.append(f"Grundpreis {format_money(Decimal(str(base)))} im Jahr")
    tariff = tracker.get_slot("tariff_name")
    if tariff:
        parts.append(f"Tarif „{tariff}“")
    return "**Ihre Angaben:** " + ", ".join(parts)


def _summary(quote: InstalmentQuote, december: DecemberQuote | None) -> dict[str, Any]:
    """The figures of the result, for channels and the agents' summary (message metadata)."""

    def cents(value: Decimal) -> str:
        return f"{value:.2f}"

    summary: dict[str, Any] = {
        "energy": quote.energy,
        "month": quote.month,
        "reference_price_ct": None
        if quote.reference_price_ct is None
        else str(quote.reference_price_ct),
        "monthly_relief_eur": cents(quote.monthly_relief_eur),
        "instalment_without_relief_eur": cents(quote.instalment_without_relief_eur),
        "instalment_with_relief_eur": cents(quote.instalment_with_relief_eur),
    }
    if december is not None:
        summary["december_relief_eur"] = cents(december.relief_eur)
    return summary


class ActionCalculateInstalment(Action):
    """``action_calculate_instalment``: call the calculator and explain the result."""

    def name(self) -> str:
        """Name of the action in domain.yml."""
        return "action_calculate_instalment"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        """Send the Rechenweg, or a clear message when the calculator cannot answer."""
        slots = {name: tracker.get_slot(name) for name in FORM_SLOTS}
        client = tariff_client()
        try:
            quote = await asyncio.to_thread(client.instalment, **form.request_fields(slots))
        except TariffRejected as exc:
            dispatcher.utter_message(response="utter_calculation_rejected", reason=exc.reason)
            return [SlotSet(name, None) for name in FORM_SLOTS]
        except TariffServiceError:
            # Keep the slots: "Noch einmal versuchen" and the agent both need the figures.
            dispatcher.utter_message(response="utter_calculator_unavailable")
            return []
        december: DecemberQuote | None = None
        december_request = form.december_fields(slots)
        if december_request is not None:
            try:
                december = await asyncio.to_thread(client.december_relief, **december_request)
            except TariffServiceError:
                december = None  # the instalment answer stands on its own
        summary = (
            "utter_calculation_summary"
            if quote.monthly_relief_eur > 0
            else ("utter_calculation_no_relief")
        )
        lines = [
            response_text(domain, summary).format(
                with_relief=format_money(quote.instalment_with_relief_eur),
                without_relief=format_money(quote.instalment_without_relief_eur),
                monthly_relief=format_money(quote.monthly_relief_eur),
            ),
            "",
            response_text(domain, "utter_calculation_intro"),
            "",
            _inputs_line(tracker),
            "",
        ]
        lines += [f"- {step}" for step in quote.steps]
        if december is not None:
            lines += ["", f"**{response_text(domain, 'utter_calculation_december_title')}**"]
            lines += [f"- {step}" for step in december.steps]
        lines += ["", f"_{response_text(domain, 'utter_calculation_disclaimer')}_"]
        dispatcher.utter_message(text="\n".join(lines), calculation=_summary(quote, december))
        return [SlotSet(name, None) for name in FORM_SLOTS]
