"""A brake question with a consumption above the household limit is about the large customers.

"Wir sind eine kleine Bäckerei mit ca. 60.000 kWh Strom im Jahr. Wie greift die
Strompreisbremse bei uns?" reads as the electricity brake (its words), but the answer to it,
40 ct/kWh for households and small businesses up to 30.000 kWh, does not apply to this
customer: above the limit the large-customer rules did (13 ct/kWh net, 70 %). Every author of
the development sets wrote such messages (a business with its consumption); the classifier
reads most of them as the large customers' topic, but one that names the brake itself can read
as that brake (tests/dialogues/dev6.yml). So an answer on the electricity, gas
or heat brake to a message that names a consumption above that energy's household limit
(``strom_grenze_haushalt``, ``gas_grenze_haushalt`` in ``knowledge/facts``; heat shares the
gas limit, relief-measures.md "Wärme ≤ 1,5 GWh") becomes the large-customer topic.

Plain Python; ``actions/faq.py`` and ``python -m bot eval`` call :func:`for_large_customers`
after :func:`bot.dialogue.decision.decide`.
"""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal

from bot.dialogue.decision import Decision
from bot.dialogue.numbers import find_quantities
from bot.knowledge.model import KnowledgeBase
from bot.nlu.normalize import fold

LARGE_CUSTOMERS = "preisbremse_gewerbe"
# The household limit of each brake topic's energy (fact names in knowledge/facts).
HOUSEHOLD_LIMITS = {
    "strompreisbremse": "strom_grenze_haushalt",
    "gaspreisbremse": "gas_grenze_haushalt",
    "waermepreisbremse": "gas_grenze_haushalt",
}
# "über 30.000 kWh" is above the limit although the figure equals it; "bis 30.000 kWh" is not.
_ABOVE = re.compile(r"(?:ueber|mehr als|oberhalb|oberhalb von|jenseits von)\s*$")
# Business customers write gigawatt hours and millions of kWh ("2,3 GWh", "1,8 Mio kWh"), which
# the calculation form's number reader leaves out (no household uses them). At most 12 digits.
_MILLIONS = re.compile(
    r"(?<![\d.,])(\d{1,12}(?:,\d{1,6})?)\s*(?:gwh|gigawattstunden?|mio\.?\s*kwh|millionen\s*kwh)"
)
MILLION = Decimal(1_000_000)


def for_large_customers(decision: Decision, text: str, kb: KnowledgeBase) -> Decision:
    """The decision; a brake answer becomes the large customers' topic above the limit.

    Only when the message names a consumption above the brake's household limit.

    Args:
        decision: what :func:`bot.dialogue.decision.decide` made of the message.
        text: the customer's message.
        kb: the content (its facts give the limits).
    """
    fact = HOUSEHOLD_LIMITS.get(decision.label)
    if decision.kind != "answer" or fact is None or fact not in kb.facts:
        return decision
    if LARGE_CUSTOMERS not in kb.topics or not _above(text, kb.facts[fact].number):
        return decision
    labels = (LARGE_CUSTOMERS, *decision.labels[1:])
    also = tuple(label for label in decision.also if label != LARGE_CUSTOMERS)
    answered_too = tuple(label for label in decision.answered_too if label != LARGE_CUSTOMERS)
    return dataclasses.replace(decision, labels=labels, also=also, answered_too=answered_too)


def _above(text: str, limit: Decimal) -> bool:
    folded = fold(text)
    for match in _MILLIONS.finditer(folded):
        if Decimal(match[1].replace(",", ".")) * MILLION > limit:
            return True
    for quantity in find_quantities(text):
        if quantity.kind != "kwh":
            continue
        if quantity.value > limit:
            return True
        if quantity.value == limit:
            before = folded.split(fold(quantity.raw), 1)[0]
            if _ABOVE.search(before):
                return True
    return False
