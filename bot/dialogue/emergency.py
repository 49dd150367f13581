"""Messages that report a danger: always the emergency topic, whatever the classifier reads.

A customer who writes "Es riecht im Keller nach Gas" must get the safety steps and the 24-hour
fault number at once, never "Meinten Sie …?", a fallback, the instalment form or a queue. The
classifier learns the topic ``stoerung_notfall`` from its questions like any other; this check
is the deterministic net under it for the one case where a wrong reading is dangerous: gas.
(A power outage is not in it: "ich habe keinen Strom mehr" is as often a supply cut-off for
unpaid bills, which is the payment-difficulties topic.)
"""

from __future__ import annotations

import re

from bot.dialogue.facets import fold

EMERGENCY_TOPIC = "stoerung_notfall"

# On folded text (lower case, umlauts as ae/oe/ue). "nach Gas" is a smell only next to a verb of
# smelling; "Gaspreis", "Gasgeruchsstoff" in a price question or "Gas geben" do not match.
_GAS_DANGER = re.compile(
    r"\bgas[ -]?geruch(?!sstoff)"
    r"|\b(?:riech|stink|mief)\w* (?:\w+ ){0,5}nach gas\b"
    r"|\bnach gas (?:\w+ ){0,2}(?:riech|stink|mief)"
    r"|\bgas[ -]?(?:leck|austritt)\b"
    r"|\bgas (?:tritt|stroemt|entweicht)\w* (?:\w+ ){0,2}aus"
    r"|\b(?:tritt|stroemt|entweicht) (?:\w+ ){0,2}gas\b"
    r"|\b(?:gasleitung|gaszaehler|gashahn|gasherd|gastherme)\w* (?:\w+ ){0,3}zisch"
)


def reports_danger(text: str) -> bool:
    """True when the message reports a gas smell or a gas leak."""
    return bool(_GAS_DANGER.search(fold(text)))
