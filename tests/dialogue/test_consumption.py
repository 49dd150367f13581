"""A brake question with a consumption above the household limit gets the large customers."""

from __future__ import annotations

import pytest

from bot.dialogue.consumption import LARGE_CUSTOMERS, for_large_customers
from bot.dialogue.decision import Decision


@pytest.mark.parametrize(
    ("label", "text", "expected"),
    [
        ("strompreisbremse", "Wir sind eine kleine Bäckerei mit ca. 60.000 kWh Strom im Jahr. "
         "Wie greift die Strompreisbremse bei uns?", LARGE_CUSTOMERS),
        ("gaspreisbremse", "Wir haben 2,3 GWh Gas, wie funktioniert die Gaspreisbremse?",
         LARGE_CUSTOMERS),
        ("strompreisbremse", "Strompreisbremse über 30.000 kWh", LARGE_CUSTOMERS),
        ("waermepreisbremse", "Fernwärme, 1,8 Mio kWh im Jahr: welche Bremse?", LARGE_CUSTOMERS),
        # at or below the limit, or the limit as a limit: the household brake
        ("strompreisbremse", "Gilt die Strompreisbremse bis 30.000 kWh?", "strompreisbremse"),
        ("strompreisbremse", "Wir verbrauchen 3.500 kWh, wie geht die Strompreisbremse?",
         "strompreisbremse"),
        ("gaspreisbremse", "Wir haben 400.000 kWh Gas, wie greift die Gaspreisbremse?",
         "gaspreisbremse"),
        # another topic, or a figure that is no consumption: unchanged
        ("preisbremse_zeitraum", "Wie lange galt die Bremse bei 60.000 kWh?",
         "preisbremse_zeitraum"),
        ("strompreisbremse", "Wir zahlen 60.000 Euro im Jahr für Strom", "strompreisbremse"),
        ("strompreisbremse", "Strompreisbremse " + "9" * 40 + " kWh", "strompreisbremse"),
        ("gaspreisbremse", "Gaspreisbremse bei " + "9" * 40 + " GWh", "gaspreisbremse"),
        ("gaspreisbremse", "Gaspreisbremse bei 1,2 Mio. kWh?", "gaspreisbremse"),
    ],
)  # fmt: skip
def test_a_consumption_above_the_household_limit_gets_the_large_customers(
    kb, label, text, expected
):
    decision = Decision("answer", (label,), 0.9)
    assert for_large_customers(decision, text, kb).label == expected


def test_only_answers_change_and_the_topic_is_not_offered_twice(kb):
    text = "Wir haben 80.000 kWh Strom. Wie funktioniert die Strompreisbremse?"
    clarify = Decision("clarify", ("strompreisbremse", "preisbremse_gewerbe"), 0.3)
    assert for_large_customers(clarify, text, kb) == clarify
    answer = Decision("answer", ("strompreisbremse",), 0.9, also=(LARGE_CUSTOMERS, "mwst_ende"))
    changed = for_large_customers(answer, text, kb)
    assert changed.labels == (LARGE_CUSTOMERS,) and changed.also == ("mwst_ende",)
