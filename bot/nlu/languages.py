"""Which language a customer wrote in, for questions the German pipeline does not know.

The assistant answers in German only. A question in English, Turkish, Polish, … is still read
(``bot.nlu.embeddings``: the multilingual dense side alone for "unfamiliar" messages), and the
German answer then starts with one line in the customer's language saying that it is German
(``domain.yml``: ``utter_in_german_<code>``, sent by ``actions/faq.py``).

Identification: ``py3langid`` (langid.py's naive Bayes model inside the wheel, BSD-3-Clause,
about 0.1 ms per message), restricted to :data:`CANDIDATES`, the languages most spoken by
customers of a German utility besides German (Mikrozensus: Turkish, Russian, Polish, Arabic,
Ukrainian, and the large EU languages). Only a guess at least :data:`MIN_PROBABILITY` sure is
used; a German guess (a German message full of typos) gives no line.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Final

# ISO 639-1 codes the identifier chooses from. German is one of them, so a typo-ridden German
# message is recognised as German instead of being forced into another language.
CANDIDATES: Final = (
    "de", "en", "tr", "ru", "pl", "ar", "uk", "fr", "es", "it", "ro", "hr", "bg", "el", "fa",
)  # fmt: skip
# Below this (normalised) probability the guess is not used: no line rather than a wrong one.
# Short Russian questions score 0.75-0.85 (Bulgarian and Ukrainian share their letters).
MIN_PROBABILITY: Final = 0.7


class LanguageGuesser:
    """Guess a message's language among :data:`CANDIDATES` (model loaded by :meth:`load`)."""

    @cached_property
    def _identifier(self) -> Any:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        # The model ships inside the package (an lzma-compressed pickle of its own arrays).
        identifier = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
        identifier.set_languages(list(CANDIDATES))
        return identifier

    def load(self) -> None:
        """Load the model now (a server does so at start, not in a customer's turn)."""
        _ = self._identifier

    def guess(self, text: str) -> str | None:
        """The language code of ``text`` when the identifier is sure enough, else None."""
        if not text.strip():
            return None
        code, probability = self._identifier.classify(text)
        if code in _CYRILLIC:
            # langid's model confuses short Russian and Ukrainian questions (it called "Когда
            # закончился ценовой тормоз на газ?" Ukrainian, 0.92): the alphabets decide.
            return _cyrillic_language(text)
        return str(code) if float(probability) >= MIN_PROBABILITY else None


_CYRILLIC: Final = frozenset({"ru", "uk", "bg"})
# Letters only Ukrainian writes (і, ї, є, ґ), and the hard sign Bulgarian writes as a vowel
# while Russian has ы beside it.
_UKRAINIAN_LETTERS: Final = frozenset("іїєґІЇЄҐ")
_RUSSIAN_LETTERS: Final = frozenset("ыэёЫЭЁ")


def _cyrillic_language(text: str) -> str:
    letters = set(text)
    if letters & _UKRAINIAN_LETTERS:
        return "uk"
    if "ъ" in letters and not letters & _RUSSIAN_LETTERS:
        return "bg"
    return "ru"
