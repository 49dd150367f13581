"""Build the German spaCy pipeline Rasa's ``SpacyNLP`` loads (``build/spacy-de``).

Pretrained models cannot be downloaded here (no hub access), so the pipeline is ``spacy.blank
("de")`` — German tokenizer rules — plus the lookup lemmatizer whose table ships in the
``spacy-lookups-data`` package. It has no word vectors, so the config uses no SpacyFeaturizer.
"""

from __future__ import annotations

from pathlib import Path

import spacy


def build_pipeline(target: Path) -> Path:
    """Create the pipeline and save it to ``target``; returns the path."""
    nlp = spacy.blank("de")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()  # loads the lookup table from spacy-lookups-data
    nlp.meta["name"] = "de_stadtwerk_lookup"
    nlp.meta["description"] = "spacy.blank('de') + lookup lemmatizer (spacy-lookups-data)"
    target.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(target)
    return target
