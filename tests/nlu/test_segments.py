"""Several questions in one message (bot.nlu.segments)."""

from __future__ import annotations

import pytest

from bot.nlu.segments import MAX_SEGMENTS, asks, is_put_as_question, split, texts


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (
            "Wie lange galt die Gaspreisbremse? Und muss ich die Soforthilfe versteuern?",
            ["Wie lange galt die Gaspreisbremse?", "Und muss ich die Soforthilfe versteuern?"],
        ),
        (
            "Was ist die Soforthilfe und wie wurde sie berechnet?",
            ["Was ist die Soforthilfe", "und wie wurde sie berechnet?"],
        ),
        (  # a yes/no question in the past tense
            "haben Stromkunden die Soforthilfe bekommen, und musste man die versteuern?",
            ["haben Stromkunden die Soforthilfe bekommen", "und musste man die versteuern?"],
        ),
        (
            "muss ich die Gaspreisbremse beantragen und bis wann gilt sie?",
            ["muss ich die Gaspreisbremse beantragen", "und bis wann gilt sie?"],
        ),
        (
            "Wann habt ihr geöffnet und werden meine Chatdaten gespeichert?",
            ["Wann habt ihr geöffnet", "und werden meine Chatdaten gespeichert?"],
        ),
        (
            "Frage zur Mehrwertsteuer auf Gas, außerdem: wann kommt die Jahresabrechnung",
            ["Frage zur Mehrwertsteuer auf Gas,", "wann kommt die Jahresabrechnung"],
        ),
        (
            # Enumerated questions of a letter.
            "Erstens möchte ich wissen, wie die Gaspreisbremse meinen Abschlag verändert, "
            "zweitens, ob die Soforthilfe schon verrechnet wurde.",
            [
                "Erstens möchte ich wissen, wie die Gaspreisbremse meinen Abschlag verändert",
                "zweitens, ob die Soforthilfe schon verrechnet wurde.",
            ],
        ),
        (
            # The full stop of an abbreviation ends no sentence.
            "Verbrauch ca. 18.000 kWh, Abschlag z. B. 260 €. Wird die Gaspreisbremse abgezogen?",
            [
                "Verbrauch ca. 18.000 kWh, Abschlag z. B. 260 €.",
                "Wird die Gaspreisbremse abgezogen?",
            ],
        ),
    ],
)
def test_splits_questions(text, parts):
    assert texts(text) == parts


@pytest.mark.parametrize(
    "text",
    [
        "Gilt das für Gas und Strom?",  # "und" between nouns
        "Danke. Und bei Strom?",  # a short part joins its neighbour
        "Hallo! Wie hoch war der Gaspreisdeckel?",  # a greeting is not a question
        "gaspreisbremse",
    ],
)
def test_one_question_stays_one(text):
    assert len(split(text)) == 1


def test_spans_cover_the_text_in_order():
    text = "Erste Frage zur Bremse? Zweite Frage zur Hilfe! Dritte Frage zum Abschlag."
    spans = split(text)
    assert [text[a:b].strip() for a, b in spans] == texts(text)
    assert all(a < b for a, b in spans) and spans == sorted(spans)


def test_a_long_letter_has_at_most_max_segments():
    text = " ".join(f"Das ist Satz Nummer {i} meiner Geschichte." for i in range(30))
    assert len(split(text)) == MAX_SEGMENTS
    assert split(text)[-1][1] == len(text)


def test_empty_text():
    assert split("") == [(0, 0)]


@pytest.mark.parametrize(
    ("part", "put_as_question"),
    [
        ("Muss ich die Gaspreisbremse beantragen?", True),
        ("und bis wann galt sie", True),  # opens with a question word, no mark
        ("Zweitens: wie erfahre ich das", True),
        ("Ich frage mich, ob das stimmt?", True),  # the question mark
        # A story that mentions a question word without asking.
        ("und trotzdem ist der Betrag genau so hoch wie im Brief vom Frühjahr.", False),
        ("Wir haben gespart, was das Zeug hält.", False),
    ],
)
def test_a_part_put_as_question_is_stricter_than_one_that_asks(part, put_as_question):
    assert is_put_as_question(part) is put_as_question
    if put_as_question:
        assert asks(part)
