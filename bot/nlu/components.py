"""Custom Rasa NLU component (loaded by ``config.yml`` as ``bot.nlu.components.…``).

This is the only module of ``bot/`` that imports Rasa; the language logic it applies lives in
plain modules (:mod:`bot.nlu.lemmas`, :mod:`bot.nlu.normalize`).
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.lemmas import german_lemma


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class GermanSpacyTokenizer(SpacyTokenizer):
    """spaCy tokens with German lemmas that ignore case, umlaut spelling and inner hyphens.

    The token text and offsets stay as typed (entity positions remain valid); only ``lemma``
    changes, which ``CountVectorsFeaturizer`` (``use_lemma: true``) turns into features.
    """

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Tokenize with spaCy, then replace each lemma by its folded German lemma."""
        tokens: list[Token] = super().tokenize(message, attribute)
        for token in tokens:
            token.lemma = german_lemma(token.text, token.lemma)
        return tokens
