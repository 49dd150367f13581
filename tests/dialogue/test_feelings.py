"""Signs of anger or distress (bot.dialogue.feelings)."""

from __future__ import annotations

import pytest

from bot.dialogue.feelings import shows_feeling


@pytest.mark.parametrize(
    "text",
    [
        "Ich bin echt wütend! Wie kann ich den Abschlag ändern?",
        "Das ist eine Frechheit.",
        "ich find das echt unverschaemt",  # typed without umlauts
        "Ihr Abzocker, wann krieg ich mein Geld zurück",
        "ICH KANN DIE NACHZAHLUNG NICHT BEZAHLEN",  # shouting
        "Wurde die wirklich nicht verlängert?!",  # emphatic punctuation
        "Ich habe echt Panik bekommen.",
        "Ich bin langsam echt am Ende.",
        "Das ist für mich als Alleinerziehende nicht machbar.",
        "Ich habe schon dreimal angerufen.",
        "Scheiß Preiserhöhung",  # a vulgar word the abuse filter knows
    ],
)
def test_signs_of_a_feeling(text):
    assert shows_feeling(text)


@pytest.mark.parametrize(
    "text",
    [
        "Ich heize mit Öl. Bekomme ich auch irgendeine Entlastung?",
        "Ich bin Mieter und habe keinen eigenen Gasvertrag.",
        "Meine Tochter ist ausgezogen, wir sind nur noch zu zweit.",
        "Wird die Entlastung da einfach am Ende abgezogen?",  # "am Ende" of a bill
        "Ist im Keller Sauerstoff?",  # "sauer" only as a whole word
        "Wie hoch war die MwSt im Dezember?",  # one abbreviation in capitals is no shouting
        "",
    ],
)
def test_matter_of_fact_messages(text):
    assert not shows_feeling(text)
