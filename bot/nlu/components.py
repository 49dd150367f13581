"""Custom Rasa NLU components (loaded by ``config.yml`` as ``bot.nlu.components.…``).

This is the only module of ``bot/`` that imports Rasa; the language logic it applies lives in
plain modules (:mod:`bot.nlu.lemmas`, :mod:`bot.nlu.normalize`).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix, vstack
from sklearn.linear_model import LogisticRegression

from bot.dialogue import context as dialogue_context
from bot.dialogue.decision import (
    CONTEXT_KEY,
    CURRENT_TOPIC_SLOT,
    FALLBACK_INTENT,
    FAQ_INTENT_PREFIX,
    SEGMENTS_KEY,
    is_faq_intent,
    label_of,
)
from bot.dialogue.facets import read as read_mentions
from bot.nlu import segments as segmenter
from bot.nlu.lemmas import german_lemma

# Per part of a message, this many intents of its ranking are kept in the parse data.
SEGMENT_RANKING = 3


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
        if coef is not None:
            for message in result:
                self._score_segments(message)
        return result

    def _score_segments(self, message: Message) -> None:
        """Score each question of a message with several (``bot.nlu.segments``).

        A part's features are the sum of its tokens' sequence features: for bag-of-words and
        character n-grams within word boundaries that is what the featurizers would compute
        for the part alone, without running them again.
        """
        text = message.get(TEXT) or ""
        spans = segmenter.split(text)
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        sequence, _ = message.get_sparse_features(TEXT)
        if len(spans) < 2 or sequence is None or len(tokens) != sequence.features.shape[0]:
            return
        rows = csr_matrix(sequence.features)
        parts, matrices = [], []
        for start, end in spans:
            picked = [i for i, t in enumerate(tokens) if t.start >= start and t.end <= end]
            if not picked:
                continue
            parts.append(text[start:end].strip())
            matrices.append(csr_matrix(rows[picked].sum(axis=0)))
        if len(parts) < 2:
            return
        probabilities = self.clf.predict_proba(vstack(matrices))
        classes = self.clf.classes_
        segments = []
        for part, row in zip(parts, probabilities, strict=False):
            order = np.argsort(-row)[:SEGMENT_RANKING]
            segments.append(
                {
                    "text": part,
                    "intent_ranking": [
                        {"name": str(classes[i]), "confidence": float(row[i])} for i in order
                    ],
                }
            )
        message.set(SEGMENTS_KEY, segments, add_to_output=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class ConversationContext(GraphComponent):
    """Reads a message against the conversation's current topic (``bot.dialogue.context``).

    Runs last in the pipeline, after the fallback classifier. Rasa hands NLU components the
    tracker when their ``process`` takes a ``tracker`` argument; from it come the current topic
    (slot ``last_faq_id``) and whether the calculation form is running. A follow-up resolved to
    a sibling topic becomes that topic's intent (so the FAQ rules answer it); one that cannot be
    resolved becomes ``nlu_fallback`` with the options to offer. Either way the parse data
    carries ``context`` with what was done, for the decision, the logs and the evaluation.

    The facets of the topics come with the training data (intent metadata written by
    ``python -m bot generate``), so a model always resolves with the facets of the content it
    was trained on.
    """

    FILE = "facets.json"

    def __init__(
        self,
        model_storage: ModelStorage,
        resource: Resource,
        table: dict[str, dict[str, list[str]]] | None = None,
        topics: list[str] | None = None,
    ) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self.table = table or {}
        self.topics = frozenset(topics or ())

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ConversationContext:
        """A component without facets (they come with training)."""
        return cls(model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> ConversationContext:
        """The facets persisted by :meth:`train`."""
        try:
            with model_storage.read_from(resource) as directory:
                data = json.loads((directory / cls.FILE).read_text(encoding="utf-8"))
        except (ValueError, OSError):
            return cls(model_storage, resource)
        return cls(model_storage, resource, data.get("facets"), data.get("topics"))

    def train(self, training_data: TrainingData) -> Resource:
        """Collect the facets from the intents' metadata and persist them."""
        table: dict[str, dict[str, list[str]]] = {}
        topics: set[str] = set()
        for example in training_data.intent_examples:
            intent = str(example.get("intent") or "")
            if not is_faq_intent(intent):
                continue
            topics.add(label_of(intent))
            metadata = (example.get("metadata") or {}).get("intent") or {}
            facets = metadata.get("facets") if isinstance(metadata, dict) else None
            if facets:
                table[label_of(intent)] = {k: list(v) for k, v in facets.items()}
        self.table, self.topics = table, frozenset(topics)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / self.FILE).write_text(
                json.dumps({"facets": table, "topics": sorted(topics)}, ensure_ascii=False),
                encoding="utf-8",
            )
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to training examples."""
        return training_data

    def process(
        self, messages: list[Message], tracker: DialogueStateTracker | None = None
    ) -> list[Message]:
        """Resolve follow-ups against the tracker's current topic."""
        if tracker is None or not self.table:
            return messages
        current = tracker.get_slot(CURRENT_TOPIC_SLOT)
        in_form = tracker.active_loop_name is not None
        for message in messages:
            self._process_one(message, current, in_form)
        return messages

    def _process_one(self, message: Message, current: str | None, in_form: bool) -> None:
        text = message.get(TEXT) or ""
        if not text or text.startswith("/"):
            return  # a button payload names its intent itself
        mentions = read_mentions(text)
        ranking = [
            (label_of(str(r.get("name"))), float(r.get("confidence") or 0.0))
            for r in message.get("intent_ranking") or []
            if r.get("name") and r.get("name") != FALLBACK_INTENT
        ]
        if in_form:
            topic = dialogue_context.form_question(text, ranking, self.topics, mentions=mentions)
            if topic is not None:
                self._set(message, topic, dict(ranking).get(topic, 0.0), "form_question", current)
                return
            if not mentions.facets:
                return  # a figure, "weiß ich nicht" …: the form's business
        if not current:
            return
        result = dialogue_context.interpret(
            text, ranking, str(current), self.table, topics=self.topics, mentions=mentions
        )
        if result is None:
            return
        probability = dict(ranking).get(result.topics[0], 0.0)
        if result.kind == "followup":
            self._set(
                message, result.topics[0], probability, "followup", current, score=result.score
            )
            return
        message.set(
            "intent", {"name": FALLBACK_INTENT, "confidence": probability}, add_to_output=True
        )
        message.set(
            CONTEXT_KEY,
            {
                "kind": "clarify",
                "topics": list(result.topics),
                "current": current,
                "score": result.score,
            },
            add_to_output=True,
        )

    @staticmethod
    def _set(
        message: Message,
        topic: str,
        probability: float,
        kind: str,
        current: str | None,
        score: float = 0.0,
    ) -> None:
        """Make ``topic`` the message's intent (the FAQ rules answer it) and say why."""
        message.set(
            "intent",
            {"name": FAQ_INTENT_PREFIX + topic, "confidence": probability},
            add_to_output=True,
        )
        message.set(
            CONTEXT_KEY,
            {"kind": kind, "topics": [topic], "current": current, "score": score},
            add_to_output=True,
        )
