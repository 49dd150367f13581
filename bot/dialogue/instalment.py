"""The instalment form's logic, without Rasa.

Which figure of a message fills which slot, and whether a figure is plausible.
``actions/instalment.py`` calls these functions and turns their results into slot events and
re-asks. The plausibility bounds are not legal facts but guards against typos; the household
limits (when other rules applied) come from ``knowledge/facts``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.dialogue.facets import read
from bot.dialogue.numbers import (
    Quantity,
    find_energy,
    find_quantities,
    is_skip,
    number_words_as_digits,
)
from bot.knowledge.model import KnowledgeBase
from bot.knowledge.render import format_number
from bot.nlu.normalize import fold

SKIPPED = "skip"  # slot value of an optional question the customer skipped
OPTIONAL_SLOTS = ("base_price_eur", "current_instalment_eur")

# Below this annual consumption a household figure is almost certainly a typo (a fridge alone
# uses ~150 kWh a year); the customer is asked to check it.
MIN_CONSUMPTION_KWH = Decimal(100)
# Working prices: above 0, and below 300 ct/kWh (2022's worst new-customer electricity offers
# were ~70-80 ct/kWh; 300 catches "4850" typed for 48,50).
MAX_WORKING_PRICE_CT = Decimal(300)
# A bare number below this is read as euros per kWh ("0,485" → 48,5 ct/kWh).
EURO_PER_KWH_BELOW = Decimal(3)
# Standing charges: up to 2.000 € a year covers every household tariff by far.
MAX_BASE_PRICE_EUR_YEAR = Decimal(2000)
# A bare standing charge up to this value is read as per month (typical 8-20 €/month),
# above it as per year (typical 100-250 €/year).
BASE_PRICE_MONTHLY_UP_TO = Decimal(40)
MAX_INSTALMENT_EUR_MONTH = Decimal(5000)


# A topic question asked at a slot is answered first, and the form asks again: "gilt das auch für
# Fernwärme, gibts da ne Bremse?" at the energy slot is not the answer "Fernwärme". A bare
# "Fernwärme?" (fewer words) and a message with a figure still answer the form.
TOPIC_QUESTION_MIN_WORDS = 3
_FAQ_INTENT_PREFIX = "faq_"


# The figures the brakes' answers quote (their reference prices: 40, 12, 9,5 ct/kWh …) are the
# measure's in a question about it, not the customer's: "Warum eigentlich 9,5 Cent bei Fernwärme
# und nicht 12 wie beim Gas?" and "gilt da überhaupt die 40-Cent-Grenze?" at the working price
# were taken as the customer's working price, silently (development set tests/dialogues/dev6.yml).
# A message that says the figure is the customer's own ("mein Preis ist 40 ct, gilt da die
# Bremse?") still answers the form.
_OWN_FIGURE = re.compile(
    r"\b(?:mein|meine|meinen|meinem|meiner|unser|unsere|unseren|unserem|unserer|bei mir|bei uns"
    r"|ich zahle|wir zahlen|zahle ich|zahlen wir)\b"
)
_REFERENCE_KINDS = frozenset({"ct_per_kwh", "number"})


def reference_prices(kb: KnowledgeBase) -> frozenset[Decimal]:
    """The reference prices of the brakes (facts in ct/kWh, gross or net) from ``knowledge/``."""
    return frozenset(
        fact.number
        for fact in kb.facts.values()
        if isinstance(fact.value, Decimal) and fact.unit.startswith("ct/kWh")
    )


def asks_a_topic(
    text: str, intent: str | None, reference: Collection[Decimal] = frozenset()
) -> bool:
    """Whether a message in the middle of the form is a question for a FAQ topic, not an answer.

    Args:
        text: the customer's message.
        intent: the NLU intent of the message (after the conversation context).
        reference: the brakes' reference prices (:func:`reference_prices`); in a question they
            are no figure of the customer's.
    """
    if not intent or not intent.startswith(_FAQ_INTENT_PREFIX):
        return False
    return _a_question_of_its_own(text, reference)


def _a_question_of_its_own(text: str, reference: Collection[Decimal] = frozenset()) -> bool:
    """A question of a few words without a figure: not an answer to the form's question.

    A figure in words counts ("zweihundertzehn Euro, ist das nicht zu viel?" answers the form);
    a reference price of the brakes does not, unless the message calls it the customer's own.
    """
    mentions = read(text)
    if not mentions.question or mentions.words < TOPIC_QUESTION_MIN_WORDS:
        return False
    figure = mentions.figure or number_words_as_digits(text) != text
    if figure and reference:
        quantities = find_quantities(text)
        quoted = bool(quantities) and all(
            q.kind in _REFERENCE_KINDS and q.value in reference for q in quantities
        )
        figure = not quoted or bool(_OWN_FIGURE.search(fold(text)))
    return not figure


# An off-topic question at a slot ("Wer hat eigentlich gestern das Spiel gewonnen?") gets the
# assistant's out-of-scope reply, and the form asks again; "Ich habe in Ihrer Antwort keine Zahl
# gefunden" would answer a question nobody asked. Only when the classifier is this sure: below
# it, its out_of_scope is often a remark about the form itself ("warum fragen Sie das alles?"
# 0.94, "darf ich das überspringen?" 0.91), for which the re-ask with its help is the better
# reply (development set tests/dialogues/dev2.yml and dev3.yml; the model of 2026-12-07).
OFF_TOPIC_MIN_CONFIDENCE = 0.95
_OUT_OF_SCOPE = "out_of_scope"


def asks_off_topic(text: str, intent: str | None, confidence: float) -> bool:
    """Whether a message in the middle of the form is a question outside the assistant's scope.

    Args:
        text: the customer's message (the caller has found no figure for the form in it).
        intent: the NLU intent of the message.
        confidence: the intent's confidence.
    """
    if intent != _OUT_OF_SCOPE or confidence < OFF_TOPIC_MIN_CONFIDENCE:
        return False
    return _a_question_of_its_own(text)


# A question about what the form asks for ("was ist ein Arbeitspreis?", "wo finde ich meinen
# Verbrauch?") gets the slot's help, whatever the classifier reads: it read "was ist ein
# Arbeitspreis?" as asking whether the assistant is a bot (0.93), and "was ist der Grundpreis?"
# may read as the brakes' topic on standing charges. Per slot, the words that name its figure
# (folded; a compound counts: "Jahresverbrauch", "Arbeitspreises").
_SLOT_TERMS = {
    "energy": r"energie|sparte",
    "consumption_kwh": r"verbrauch|kilowattstunde|kwh",
    "working_price_ct": r"arbeitspreis|verbrauchspreis|kilowattstundenpreis|preis (?:pro|je) kwh",
    "base_price_eur": r"grundpreis|grundgebuehr",
    "current_instalment_eur": r"abschlag|vorauszahlung|monatsrate",
}
# How such a question opens, and the few words that may stand between it and the term.
_HELP_OPENING = (
    r"(?:was (?:ist|sind|heisst|bedeutet|meinen sie mit|meint ihr mit|versteht man unter)"
    r"|wo (?:finde|sehe|steht|lese|bekomme)|wie finde|woher (?:weiss|bekomme|kriege|soll)"
    r"|welche[rnms]? (?:ist|meinen sie))"
)
_HELP_FILLER = (
    r"(?:\s+(?:ich|man|denn|eigentlich|genau|ueberhaupt|so|nochmal|bitte|ein|eine|einen|der|"
    r"die|das|den|dem|mein|meine|meinen|meinem|ihr|ihre|ihren|dieser|diesen))*"
)
# Such questions are short; a longer message is a question of its own (or a story).
HELP_MAX_WORDS = 15
HELP_MAX_CHARS = 200
# A short question back without the term: "wo finde ich den?", "was ist das?"
_HELP_SHORT = re.compile(
    r"^(?:und |aber |ja |ok |hm+ )?(?:was (?:ist|heisst|bedeutet) das"
    r"|wo (?:finde|sehe|lese) (?:ich|man) (?:das|den|die|ihn|sie|es)"
    r"|wo steht (?:das|der|die|er|sie)|woher soll ich das (?:wissen|nehmen))"
    r"(?: (?:denn|genau|eigentlich|bitte|ueberhaupt|jetzt))*\W*$"
)


def asks_for_help(text: str, requested_slot: str | None) -> bool:
    """Whether a message at a slot asks what that slot's figure is or where to find it.

    Args:
        text: the customer's message.
        requested_slot: the slot the form asked for last.
    """
    terms = _SLOT_TERMS.get(requested_slot or "")
    if terms is None or len(text.split()) > HELP_MAX_WORDS or len(text) > HELP_MAX_CHARS:
        return False
    if find_quantities(text):  # "was ist ein Arbeitspreis? 40 ct" answers
        return False
    folded = " ".join(fold(text).split())
    if _HELP_SHORT.match(folded):
        return True
    return re.search(rf"\b{_HELP_OPENING}{_HELP_FILLER}\s+\w*(?:{terms})", folded) is not None


@dataclass(frozen=True)
class Problem:
    """A value to re-ask for: the domain response to send and its template values."""

    response: str
    params: dict[str, str] = field(default_factory=dict)


def _first(quantities: Sequence[Quantity], *kinds: str) -> Quantity | None:
    return next((q for q in quantities if q.kind in kinds), None)


# A tariff's first word alone names it ("MusterWärme" for "MusterWärme Fernwärme") when no other
# tariff starts with it and it is no plain energy word.
_PLAIN_ENERGY_WORDS = frozenset({"strom", "gas", "erdgas", "waerme", "fernwaerme", "nahwaerme"})


def match_tariff(text: str, tariff_names: Sequence[str]) -> str | None:
    """The catalogue tariff named in ``text`` (case, umlauts and spacing ignored).

    The full name wins; otherwise a first word that only one tariff has ("MusterWärme"), while
    a first word several share ("MusterStrom": Basis or Öko) names none.
    """
    folded = " ".join(fold(text).split())
    for name in sorted(tariff_names, key=len, reverse=True):
        if " ".join(fold(name).split()) in folded:
            return name
    said = set(re.findall(r"\w+", folded))
    firsts: dict[str, list[str]] = {}
    for name in tariff_names:
        words = fold(name).split()
        if words:
            firsts.setdefault(words[0], []).append(name)
    named = [
        names[0]
        for first, names in firsts.items()
        if first in said and len(names) == 1 and first not in _PLAIN_ENERGY_WORDS
    ]
    return named[0] if len(named) == 1 else None


def extract(
    text: str,
    requested_slot: str | None,
    tariff_names: Sequence[str] = (),
) -> dict[str, Any]:
    """Slot values found in one customer message.

    Figures with a unit fill their slot whatever was asked ("nein, 4000 kWh" corrects the
    consumption while the price is being asked); bare numbers fill the slot that was asked.

    Args:
        text: the customer's message.
        requested_slot: the slot the form asked for last (``None`` when the form starts).
        tariff_names: names of the utility's tariffs (a named tariff supplies the prices).

    Returns:
        slot name → value (floats, ``"skip"`` for skipped optional slots, tariff name).
    """
    if text.startswith("/"):  # a button payload such as /instalment_calculation
        return {}
    values: dict[str, Any] = {}
    # The energy only when it is asked for or the form starts: later, "Heizstrom" or
    # "Strompreisbremse" in a question asked in between is no change of the energy, and a
    # filled slot would keep the form from letting the question be answered.
    energy = find_energy(text) if requested_slot in (None, "energy") else None
    if energy:
        values["energy"] = energy
    quantities = find_quantities(text)

    kwh = _first(quantities, "kwh")
    price = _first(quantities, "ct_per_kwh")
    monthly = _first(quantities, "eur_per_month")
    yearly = _first(quantities, "eur_per_year")
    if kwh:
        values["consumption_kwh"] = float(kwh.value)
    if price:
        values["working_price_ct"] = float(price.value)
    named, used = _named_amounts(text)
    values.update(named)
    # A figure a clause named ("Rate 90 Euro") is no answer to the question asked as well.
    bare = next((q for q in quantities if q.kind in ("number", "eur") and q.raw not in used), None)

    if requested_slot == "working_price_ct" and "working_price_ct" not in values:
        tariff = match_tariff(text, tariff_names)
        if tariff:
            values["tariff_name"] = tariff
        elif bare:
            value = bare.value
            values["working_price_ct"] = float(value * 100 if value < EURO_PER_KWH_BELOW else value)
    elif requested_slot == "consumption_kwh" and "consumption_kwh" not in values and bare:
        values["consumption_kwh"] = float(bare.value)
    elif requested_slot == "base_price_eur" and "base_price_eur" not in values:
        base = _base_price_per_year(yearly, monthly, bare)
        if base is not None:
            values["base_price_eur"] = base
        elif is_skip(text):
            values["base_price_eur"] = SKIPPED
    elif requested_slot == "current_instalment_eur" and "current_instalment_eur" not in values:
        amount = monthly or bare
        if amount:
            values["current_instalment_eur"] = float(amount.value)
        elif is_skip(text):
            values["current_instalment_eur"] = SKIPPED
    return values


def _base_price_per_year(
    yearly: Quantity | None, monthly: Quantity | None, amount: Quantity | None
) -> float | None:
    """The standing charge in €/year from the amounts a message gives for it.

    An amount without a period up to ``BASE_PRICE_MONTHLY_UP_TO`` is per month (typical
    8-20 €/month, 100-250 €/year).
    """
    if yearly:
        return float(yearly.value)
    if monthly:
        return float(monthly.value * 12)
    if amount:
        per_month = amount.value <= BASE_PRICE_MONTHLY_UP_TO
        return float(amount.value * 12 if per_month else amount.value)
    return None


# Clauses of a message that lists its figures: "Grundpreis 164 € im Jahr, Abschlag zurzeit
# 130 Euro" (a comma before a digit is a decimal comma: "16,5 ct").
_CLAUSE = re.compile(r"[;.!?]\s+|,(?!\d)|\s+(?:und|sowie)\s+")
# Words that name the current instalment in a clause: "Abschlag bisher 165", "derzeit zahle
# ich 100 € im Monat", "monatliche Rate 90 Euro" (folded text).
_INSTALMENT_WORDS = re.compile(
    r"abschlag|abschlaege|\bzahl(?:e|en)?\b|\bzahle ich\b|\brate\b|monatsrate|vorauszahlung|"
    r"abbuchung|abgebucht|buchen (?:sie|ihr) \w* ?ab"
)
# A clause that speaks of a change of the instalment: its bare number is the change ("um 50
# gestiegen", "50 mehr"), not the instalment; a percentage is never an amount anyway.
_CHANGE_WORDS = re.compile(r"\bum\b|\bmehr\b|\bweniger\b|gestiegen|gesunken|erhoeh|gesenkt")


def _named_amounts(text: str) -> tuple[dict[str, float], set[str]]:
    """Euro amounts whose clause names what they are: the standing charge, the instalment.

    A clause that says "Grundpreis" gives the standing charge per year (a bare amount up to
    ``BASE_PRICE_MONTHLY_UP_TO`` is per month); one that names the instalment ("Abschlag",
    "zahle ich", "Rate") gives the current instalment: an amount in euros, or a bare number
    when the clause does not speak of a change ("Abschlag bisher 165", but "um 50 gestiegen"
    is no instalment).

    Returns:
        slot → value, and the figures used (as written).
    """
    values: dict[str, float] = {}
    used: set[str] = set()
    for clause in _CLAUSE.split(text):
        folded = fold(clause)
        quantities = find_quantities(clause)
        if "grundpreis" in folded and "base_price_eur" not in values:
            base = _base_price_per_year(
                _first(quantities, "eur_per_year"),
                _first(quantities, "eur_per_month"),
                _first(quantities, "eur"),
            )
            if base is not None:
                values["base_price_eur"] = base
                used.update(q.raw for q in quantities if q.kind.startswith("eur"))
        elif _INSTALMENT_WORDS.search(folded) and "current_instalment_eur" not in values:
            amounts = [q for q in quantities if q.kind in ("eur_per_month", "eur")]
            if not amounts and not _CHANGE_WORDS.search(folded):
                amounts = [q for q in quantities if q.kind == "number"]
            # "von 100 € auf 250 € erhöht": the amount it went up to is today's.
            raised = len(amounts) > 1 and re.search(r"\bauf\b", folded)
            if amounts:
                amount = amounts[-1 if raised else 0]
                values["current_instalment_eur"] = float(amount.value)
                used.add(amount.raw)
    return values, used


ENERGY_NAMES = {"strom": "Strom", "gas": "Gas", "waerme": "Fernwärme"}
# A topic's energy facet → the form's energy: heat pumps and night storage heaters run on
# electricity (preisbremse_heizstrom).
_FORM_ENERGY = {"strom": "strom", "heizstrom": "strom", "gas": "gas", "waerme": "waerme"}


def energy_of_topic(energies: Sequence[str]) -> str | None:
    """The form's energy when the conversation's topic is about exactly one, else None.

    "Und was heißt das für meinen Abschlag?" after the gas brake is about gas.
    """
    found = {_FORM_ENERGY[e] for e in energies if e in _FORM_ENERGY}
    return found.pop() if len(found) == 1 else None


# Up to this many words, a message at the consumption question that names an energy and
# asks nothing corrects the energy taken from the conversation ("nein, Strom").
ENERGY_CORRECTION_MAX_WORDS = 4


def corrects_energy(text: str) -> str | None:
    """The energy of a short correction ("nein, Strom", "Fernwärme bitte"), or None."""
    mentions = read(text)
    if mentions.words > ENERGY_CORRECTION_MAX_WORDS or mentions.figure or "?" in text:
        return None
    return find_energy(text)


def household_limit(kb: KnowledgeBase, energy: str | None) -> Decimal:
    """The annual consumption up to which the household rules applied (kWh)."""
    fact = "strom_grenze_haushalt" if energy == "strom" else "gas_grenze_haushalt"
    return kb.facts[fact].number


def check_consumption(value: float, energy: str | None, kb: KnowledgeBase) -> Problem | None:
    """A re-ask for an implausible annual consumption, else ``None``."""
    amount = Decimal(str(value))
    shown = format_number(amount)
    if amount < MIN_CONSUMPTION_KWH:
        return Problem("utter_consumption_too_low", {"value": shown})
    limit = household_limit(kb, energy)
    if amount > limit:
        return Problem(
            "utter_consumption_above_household",
            {"value": shown, "limit": f"{format_number(limit)} kWh"},
        )
    return None


def check_working_price(value: float) -> Problem | None:
    """A re-ask for an implausible working price (ct/kWh), else ``None``."""
    amount = Decimal(str(value))
    if amount <= 0:
        return Problem("utter_price_not_positive")
    if amount > MAX_WORKING_PRICE_CT:
        return Problem("utter_price_too_high", {"value": format_number(amount)})
    return None


def check_base_price(value: Any) -> Problem | None:
    """A re-ask for an implausible annual standing charge, else ``None``."""
    if value == SKIPPED:
        return None
    amount = Decimal(str(value))
    if amount < 0 or amount > MAX_BASE_PRICE_EUR_YEAR:
        return Problem("utter_base_price_implausible", {"value": format_number(amount)})
    return None


def check_instalment(value: Any) -> Problem | None:
    """A re-ask for an implausible monthly instalment, else ``None``."""
    if value == SKIPPED:
        return None
    amount = Decimal(str(value))
    if amount < 0 or amount > MAX_INSTALMENT_EUR_MONTH:
        return Problem("utter_instalment_implausible", {"value": format_number(amount)})
    return None


def request_fields(slots: Mapping[str, Any]) -> dict[str, Any]:
    """The calculator's ``POST /v1/instalment`` fields from the form's slots."""
    base = slots.get("base_price_eur")
    current = slots.get("current_instalment_eur")
    return {
        "energy": slots["energy"],
        "forecast_kwh": slots["consumption_kwh"],
        "working_price_ct": slots["working_price_ct"],
        "base_price_eur_year": None if base in (None, SKIPPED) else base,
        "current_instalment_eur": None if current in (None, SKIPPED) else current,
    }


def december_fields(slots: Mapping[str, Any]) -> dict[str, Any] | None:
    """``POST /v1/december-relief`` fields for gas, else ``None``.

    Gas: the form's consumption and price stand in for the September-2022 forecast and the
    December-2022 price (the answer says so). Heat needs the September-2022 instalment, which
    the form does not ask for (the FAQ soforthilfe_berechnung explains it); electricity got no
    December aid.
    """
    base = slots.get("base_price_eur")
    if slots.get("energy") == "gas":
        return {
            "energy": "gas",
            "forecast_kwh_sept_2022": slots["consumption_kwh"],
            "working_price_ct_dec_2022": slots["working_price_ct"],
            "base_price_eur_year": None if base in (None, SKIPPED) else base,
        }
    return None
