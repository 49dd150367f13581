"""Custom Rasa NLU components (loaded by ``config.yml`` as ``bot.nlu.components.…``).

This is the only module of ``bot/`` that imports Rasa; the language logic it applies lives in
plain modules (:mod:`bot.nlu.lemmas`, :mod:`bot.nlu.normalize`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message
from sklearn.linear_model import LogisticRegression

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


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TunableLogisticRegressionClassifier(LogisticRegressionClassifier):
    """Rasa's logistic-regression intent classifier with ``C`` and ``class_weight`` configurable.

    Rasa fixes ``class_weight="balanced"``, which down-weights the large ``out_of_scope`` class
    (~200 examples against ~30 per FAQ topic) and so lets off-topic questions drift into FAQ
    topics; on the development set unweighted classes reject more out-of-scope questions at
    the same in-scope accuracy (docs/benchmarks/nlu-classifier-choice.md).
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Rasa's defaults plus ``C`` (inverse regularisation) and ``class_weight``."""
        return {
            **LogisticRegressionClassifier.get_default_config(),
            "C": 1.0,
            "class_weight": None,
        }

    def __init__(
        self,
        config: dict[str, Any],
        name: str,
        model_storage: ModelStorage,
        resource: Resource,
    ) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf = LogisticRegression(
            C=self.config["C"],
            class_weight=self.config["class_weight"],
            solver=self.config["solver"],
            max_iter=self.config["max_iter"],
            tol=self.config["tol"],
            random_state=self.config["random_state"],
        )

    def process(self, messages: list[Message]) -> list[Message]:
        """Rasa's prediction, with the weights laid out for it (same results, ~3 ms less).

        scikit-learn computes ``X @ coef_.T``; with ``coef_`` in C order that right-hand side is
        not contiguous and scipy copied all of it (classes x features, ~20 MB here) for every
        message: 3.3 ms of the Rasa server's ~20 ms per turn. In Fortran order the transpose
        is contiguous and the product takes microseconds.
        """
        coef = getattr(self.clf, "coef_", None)
        if coef is not None and not coef.flags.f_contiguous:
            self.clf.coef_ = np.asfortranarray(coef)
        result: list[Message] = super().process(messages)
        return result
