"""German lemmas that survive lower case and missing umlauts.

spaCy's German lookup table (package ``spacy-lookups-data``) is keyed by the exact surface form:
"Abschläge" → "Abschlag", but "abschläge" and "Abschlaege" are not found. Customers type both,
so we fold the table's keys and values (lower case, ä→ae, ö→oe, ü→ue, ß→ss) once and look the
folded token up there; when nothing is found we keep spaCy's own lemma, folded.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from importlib import resources

from bot.nlu.normalize import fold, fold_token


@lru_cache(maxsize=1)
def folded_lemma_table() -> dict[str, str]:
    """Return the folded German lemma lookup table (built once per process, ~0.5 s)."""
    data_file = resources.files("spacy_lookups_data").joinpath("data/de_lemma_lookup.json.gz")
    with data_file.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
        table: dict[str, str] = json.load(handle)
    folded: dict[str, str] = {}
    # Lower-case keys first so that "wurde" wins over a capitalised homograph.
    for key in sorted(table, key=lambda k: (not k.islower(), k)):
        folded.setdefault(fold(key), fold(table[key]))
    return folded


def german_lemma(text: str, spacy_lemma: str | None) -> str:
    """The folded lemma of a token: table look-up of the folded text, else spaCy's lemma."""
    key = fold_token(text)
    found = folded_lemma_table().get(key)
    if found is not None:
        return fold_token(found)
    return fold_token(spacy_lemma or text)
