"""Score predictions exactly as ``shared/contracts.md`` section 1 specifies."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.dialogue.decision import OUT_OF_SCOPE, Decision


@dataclass(frozen=True)
class Question:
    """One evaluation row: the text and its acceptable labels."""

    text: str
    expected: tuple[str, ...]
    also: tuple[str, ...] = ()

    @property
    def out_of_scope(self) -> bool:
        """True when the question must be rejected."""
        return OUT_OF_SCOPE in self.expected


@dataclass(frozen=True)
class Prediction:
    """What the assistant did with one question."""

    question: Question
    decision: Decision

    @property
    def predicted(self) -> str:
        """The label(s) acted on: one label, or the offered labels joined by ``|``."""
        return "|".join(self.decision.labels)

    @property
    def correct(self) -> bool:
        """Strict: answered with an expected label (or rejected, for out-of-scope)."""
        if self.question.out_of_scope:
            return self.decision.kind == "fallback"
        return self.decision.kind == "answer" and self.decision.label in self.question.expected

    @property
    def correct_lenient(self) -> bool:
        """Also counts a clarification that offers an expected label.

        For a message with several questions (``also``), an answer to another of them, or the
        expected one offered beside the answer, counts too.
        """
        if self.correct:
            return True
        if self.question.out_of_scope:
            return False
        offered = set(self.decision.labels if self.decision.kind == "clarify" else ())
        offered |= set(self.decision.also)
        if offered & set(self.question.expected):
            return True
        return self.decision.kind == "answer" and self.decision.label in self.question.also


class InvalidQuestionsFile(ValueError):
    """The TSV file lacks the ``text`` and ``expected`` columns or has an empty row."""


def read_questions(path: Path) -> list[Question]:
    """Read a TSV with the header ``text<TAB>expected`` and optionally ``also``.

    ``also`` lists further topics the same message asks about (comma-separated); further
    columns are ignored.
    """
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        fields = reader.fieldnames or []
        if "text" not in fields or "expected" not in fields:
            raise InvalidQuestionsFile(f"{path}: header must contain 'text' and 'expected'")
        questions = []
        for line_no, row in enumerate(reader, start=2):
            text = (row.get("text") or "").strip()
            expected = tuple(
                label.strip() for label in (row.get("expected") or "").split("|") if label.strip()
            )
            if not text or not expected:
                raise InvalidQuestionsFile(f"{path}:{line_no}: empty text or expected label")
            also = tuple(
                label.strip() for label in (row.get("also") or "").split(",") if label.strip()
            )
            questions.append(Question(text=text, expected=expected, also=also))
    return questions


def _gold(p: Prediction) -> str:
    if p.correct and p.decision.kind == "answer":
        return p.decision.label
    if p.question.out_of_scope:
        return OUT_OF_SCOPE
    return p.question.expected[0]


def _acted(p: Prediction) -> str | None:
    if p.decision.kind == "answer":
        return p.decision.label
    if p.decision.kind == "fallback":
        return OUT_OF_SCOPE
    return None  # a clarification is no claim for any single label


def score(predictions: Sequence[Prediction]) -> dict[str, Any]:
    """The contract's summary (fractions between 0 and 1).

    Keys: n, accuracy, accuracy_lenient, in_scope_accuracy, oos_rejection and per_label
    precision/recall/F1/support.
    """
    n = len(predictions)
    in_scope = [p for p in predictions if not p.question.out_of_scope]
    oos = [p for p in predictions if p.question.out_of_scope]
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    support: Counter[str] = Counter()
    for p in predictions:
        gold = _gold(p)
        support[gold] += 1
        acted = _acted(p)
        if p.correct:
            tp[gold] += 1
        else:
            fn[gold] += 1
            if acted is not None:
                fp[acted] += 1
    per_label: dict[str, dict[str, float | int]] = {}
    for label in sorted(set(support) | set(fp)):
        precision = tp[label] / (tp[label] + fp[label]) if tp[label] + fp[label] else 0.0
        recall = tp[label] / support[label] if support[label] else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support[label],
        }

    def _share(items: Iterable[bool], total: int) -> float:
        return round(sum(items) / total, 4) if total else 0.0

    return {
        "n": n,
        "accuracy": _share((p.correct for p in predictions), n),
        "accuracy_lenient": _share((p.correct_lenient for p in predictions), n),
        "in_scope_accuracy": _share((p.correct for p in in_scope), len(in_scope)),
        "oos_rejection": _share((p.correct for p in oos), len(oos)),
        "per_label": per_label,
    }


def write_predictions(path: Path, predictions: Sequence[Prediction]) -> None:
    """Write one row per question: text, expected, predicted, decision, confidence."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["text", "expected", "predicted", "decision", "confidence"])
        for p in predictions:
            writer.writerow(
                [
                    p.question.text,
                    "|".join(p.question.expected),
                    p.predicted,
                    p.decision.kind,
                    f"{p.decision.confidence:.4f}",
                ]
            )
