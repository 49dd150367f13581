"""Language identification of unfamiliar messages (py3langid, real model)."""

from __future__ import annotations

import pytest

from bot.dialogue.decision import CASCADE_KEY, REPLY_LINE_LANGUAGES, reply_line_language
from bot.nlu.languages import CANDIDATES, LanguageGuesser

GUESSER = LanguageGuesser()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Why is my monthly payment still so high after the price cap?", "en"),
        ("Gaz fiyat freni kiracılar için de geçerli mi?", "tr"),
        ("Czy hamulec cen prądu obowiązuje też małe firmy?", "pl"),
        ("Когда закончился ценовой тормоз на газ?", "ru"),
        ("Чи діє ціновий гальмо на опалення для орендарів?", "uk"),
        ("هل يجب علي دفع ضريبة على مساعدة ديسمبر؟", "ar"),
        ("Wie hoch war die Gaspreisbremse fuer Mieter eigentlich genau", "de"),
    ],
)
def test_guesses_the_language(text, code):
    assert GUESSER.guess(text) == code


def test_no_guess_for_empty_text():
    assert GUESSER.guess("   ") is None


def test_every_reply_language_is_a_candidate_and_german_gets_no_line():
    assert set(CANDIDATES) >= REPLY_LINE_LANGUAGES
    assert "de" not in REPLY_LINE_LANGUAGES


@pytest.mark.parametrize(
    ("parse", "expected"),
    [
        ({CASCADE_KEY: {"reason": "unfamiliar", "language": "tr"}}, "tr"),
        ({CASCADE_KEY: {"reason": "unfamiliar", "language": "de"}}, None),
        ({CASCADE_KEY: {"reason": "unfamiliar", "language": "xx"}}, None),
        ({CASCADE_KEY: {"reason": "unfamiliar", "language": None}}, None),
        ({CASCADE_KEY: "garbage"}, None),
        ({}, None),
    ],
)
def test_reply_line_language(parse, expected):
    assert reply_line_language(parse) == expected
