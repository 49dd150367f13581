"""German folding and lemmas: umlaut spellings, case and hyphens do not matter."""

from __future__ import annotations

import pytest

from bot.nlu.lemmas import german_lemma
from bot.nlu.normalize import fold, fold_token, question_key


def test_fold():
    assert fold("Größe Übergänge ÄRGER") == "groesse uebergaenge aerger"


def test_fold_token_drops_inner_hyphens_only():
    assert fold_token("Gas-Preisbremse") == "gaspreisbremse"
    assert fold_token("-") == "-"


@pytest.mark.parametrize("spelling", ["Abschläge", "abschläge", "Abschlaege", "abschlaege"])
def test_lemma_of_inflected_forms_with_and_without_umlauts(spelling):
    assert german_lemma(spelling, None) == "abschlag"


def test_unknown_word_keeps_folded_spacy_lemma():
    assert german_lemma("Wärmepreisbremsen", "Wärmepreisbremsen") == "waermepreisbremsen"


def test_question_key_ignores_punctuation_case_and_umlauts():
    assert question_key("Gilt die Bremse für Mieter?") == question_key(
        "gilt die bremse fuer mieter"
    )
