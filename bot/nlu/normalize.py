"""German text normalisation shared by the NLU pipeline, the content checks and the evaluation.

Customers write "Abschläge", "Abschlaege" and "abschlage" for the same word; folding umlauts and
ß to their ASCII spellings (ä→ae, ö→oe, ü→ue, ß→ss) makes these variants one feature.
"""

from __future__ import annotations

import re
import unicodedata

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "ss"})
_NON_WORD = re.compile(r"[^\w€%]+")


def fold(text: str) -> str:
    """Lower-case and fold German umlauts and ß (``Größe`` → ``groesse``)."""
    text = unicodedata.normalize("NFC", text).lower().translate(_FOLD)
    return text


def fold_token(token: str) -> str:
    """Fold one token and drop inner hyphens, so "Gas-Preisbremse" == "Gaspreisbremse"."""
    folded = fold(token)
    if len(folded) > 1 and "-" in folded.strip("-"):
        folded = folded.replace("-", "")
    return folded


def question_key(text: str) -> str:
    """A key under which two spellings of the same question compare equal (for duplicates)."""
    return " ".join(_NON_WORD.sub(" ", fold(text)).split())
