"""Questions about meter readings that are not training data, for the retraining tests.

The tests need a question the live model of `make train` does not answer yet, so that an
editor's new variant visibly teaches it. As the training data grows the model learns some of
them without an editor (which is the point of the data, not of these tests), so a test takes
the first candidate the live model still misses.
"""

from __future__ import annotations

from collections.abc import Callable

TOPIC = "zaehlerstand_melden"
CANDIDATES = (
    "Kann ich die Ablesekarte auch online ausfüllen?",
    "Wohin mit den Zahlen von der Ablesekarte, geht das digital?",
    "Muss der Ableser ins Haus oder reicht ein Foto von der Uhr im Keller?",
    "Die Karte mit den Kästchen für die Ziffern, wo geb ich die ab?",
)


def first_missed(missed: Callable[[str], bool]) -> str:
    """The first candidate for which ``missed(question)`` is true (the live model misses it)."""
    for question in CANDIDATES:
        if missed(question):
            return question
    raise AssertionError(f"the live model already answers every candidate: {CANDIDATES}")
