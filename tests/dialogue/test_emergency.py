"""Messages that report a gas smell (bot.dialogue.emergency)."""

from __future__ import annotations

import pytest

from bot.dialogue.emergency import reports_danger


@pytest.mark.parametrize(
    "text",
    [
        "Es riecht nach Gas, was soll ich tun?",
        "Gasgeruch im Keller",
        "gas-geruch in der wohnung",
        "Im Treppenhaus riecht es seit heute Morgen komisch nach Gas",
        "Hilfe, in der Küche stinkt es nach Gas!",
        "bei uns riechts im keller so nach gas",
        "Nach Gas riecht es hier",
        "Ich glaube, wir haben ein Gasleck",
        "Der Gaszähler zischt ganz laut",
        "aus der Leitung tritt Gas aus",
    ],
)
def test_a_gas_smell_or_leak_is_a_danger(text):
    assert reports_danger(text)


@pytest.mark.parametrize(
    "text",
    [
        "Wie hoch war die Gaspreisbremse?",
        "Was kostet Gas bei euch nach der Preiserhöhung?",
        "Meine Gasrechnung stinkt mir gewaltig",
        "Ich rieche den Braten: die Gasumlage kommt wieder",
        "Was ist der Gasgeruchsstoff im Erdgas?",
        "Bei uns ist der Strom weg, weil ich nicht bezahlt habe",
        "",
    ],
)
def test_questions_about_gas_are_no_danger(text):
    assert not reports_danger(text)
