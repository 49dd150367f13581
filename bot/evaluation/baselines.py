"""Baselines the assistant is compared with, trained on the same ``knowledge/``-derived data.

* ``TfidfRetriever``: TF-IDF nearest training question (scikit-learn), rejection below a
  similarity threshold tuned on the development set.
* Rasa's default pipeline (``config_rasa_default.yml``), trained NLU-only by
  :func:`rasa_default_model`.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.dialogue.decision import OUT_OF_SCOPE, Decision, label_of
from bot.evaluation.scoring import Prediction, Question, score

BASELINE_CONFIG = Path(__file__).with_name("config_rasa_default.yml")


def training_examples(nlu_dir: Path) -> list[tuple[str, str]]:
    """(text, label) pairs of every intent example in ``data/nlu/*.yml``."""
    pairs = []
    for path in sorted(nlu_dir.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if "intent" not in block:
                continue
            label = label_of(str(block["intent"]))
            for line in str(block.get("examples") or "").splitlines():
                text = line.strip().removeprefix("- ").strip()
                if text:
                    pairs.append((text, label))
    return pairs


@dataclass
class TfidfRetriever:
    """Nearest training question by cosine similarity of TF-IDF vectors (words + characters)."""

    threshold: float = 0.0

    def fit(self, examples: Sequence[tuple[str, str]]) -> TfidfRetriever:
        """Index the training questions."""
        self._labels = [label for _, label in examples]
        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), lowercase=True, sublinear_tf=True
        )
        self._matrix = self._vectorizer.fit_transform([text for text, _ in examples])
        return self

    def decide(self, text: str) -> Decision:
        """Answer with the nearest question's label, or reject below the threshold."""
        sims = (self._matrix @ self._vectorizer.transform([text]).T).toarray().ravel()
        best = int(np.argmax(sims))
        label, sim = self._labels[best], float(sims[best])
        if label == OUT_OF_SCOPE or sim < self.threshold:
            return Decision("fallback", (OUT_OF_SCOPE,), sim)
        return Decision("answer", (label,), sim)

    def predict(self, questions: Sequence[Question]) -> list[Prediction]:
        """Decide on every question."""
        return [Prediction(question=q, decision=self.decide(q.text)) for q in questions]

    def tune(self, dev: Sequence[Question]) -> float:
        """Pick the threshold with the best accuracy on the development set."""
        best_acc, best_thr = -1.0, 0.0
        for thr in np.arange(0.0, 0.8, 0.02):
            self.threshold = float(thr)
            acc = score(self.predict(dev))["accuracy"]
            if acc > best_acc:
                best_acc, best_thr = acc, float(thr)
        self.threshold = best_thr
        return best_thr


def _fingerprint(paths: Sequence[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def rasa_default_model(nlu_dir: Path, out_dir: Path) -> Path:
    """Train (if the data changed) the NLU-only Rasa default-pipeline baseline; return it."""
    inputs = sorted(nlu_dir.glob("*.yml")) + [BASELINE_CONFIG]
    stamp = out_dir / "rasa-default.fingerprint"
    model = out_dir / "rasa-default.tar.gz"
    fingerprint = _fingerprint(inputs)
    if model.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return model
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir / "rasa-default-train.log"
    with log.open("w") as handle:
        subprocess.run(
            [
                str(Path(sys.executable).parent / "rasa"),
                "train",
                "nlu",
                "--config",
                str(BASELINE_CONFIG),
                "--nlu",
                str(nlu_dir),
                "--out",
                str(out_dir),
                "--fixed-model-name",
                "rasa-default",
            ],
            check=True,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    stamp.write_text(fingerprint)
    return model
