"""Long messages (issue 16, item 3): do length-aware decisions beat the current one?

``.venv/bin/python -m bench.long_messages [--model PATH] [FILE ...]`` (Rasa environment;
default files: the development sets ``tests/nlu/dev_realistic.tsv``, ``heldout.tsv``,
``dev.tsv``; never the blind sets).

Every message is parsed once with the trained model; then the decision is replayed under
variants that only act on messages of at least ``words`` words whose whole-text answer is
unsure:

* ``clarify``: an answer below confidence ``t`` becomes "Meinten Sie …?" with the answered
  topic, the other candidates of the ranking and of the message's parts (at most three);
* ``part``: a part of the message (``segments``) that names another topic more surely than the
  whole text (by ``margin``) is answered instead, the whole reading offered beside it.

Strict and lenient accuracy and out-of-scope rejection as ``python -m bot eval`` scores them
(``bot.evaluation.scoring``), plus the share of in-scope messages answered with a wrong topic
(what a customer suffers most from). Writes nothing; the numbers go into
``docs/benchmarks/nlu-classifier-choice.md`` by hand, with the date.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.common import machine
from bot.dialogue import decision as dec
from bot.evaluation.evaluate import rasa_parser
from bot.evaluation.scoring import Prediction, Question, read_questions
from bot.settings import REPO_ROOT

Decide = Callable[[Mapping[str, Any]], dec.Decision]
DEV_SETS = ("dev_realistic.tsv", "heldout.tsv", "dev.tsv")


def clarify_long(words: int, t: float) -> Decide:
    """Unsure answers to long messages become a clarification (module docstring)."""

    def decide(parse: Mapping[str, Any]) -> dec.Decision:
        d = dec.decide(parse)
        text = str(parse.get("text") or "")
        if d.kind != "answer" or d.followup or len(text.split()) < words or d.confidence >= t:
            return d
        floor = dec.DEFAULT_POLICY.min_confidence
        ranked = [dec.label_of(n) for n, c in dec._ranking(parse) if c >= floor]
        parts = [dec.label_of(n) for n, c in dec._segment_tops(parse)
                 if dec.is_faq_intent(n) and c >= floor]  # fmt: skip
        options = list(dict.fromkeys([d.label, *ranked, *parts, *d.also]))
        if len(options) < 2:
            return d
        return dec.Decision("clarify", tuple(options[:3]), d.confidence, complaint=d.complaint)

    return decide


def part_over_whole(words: int, margin: float) -> Decide:
    """A surer part of a long message wins over the whole reading (module docstring)."""

    def decide(parse: Mapping[str, Any]) -> dec.Decision:
        d = dec.decide(parse)
        text = str(parse.get("text") or "")
        if d.kind != "answer" or d.followup or d.label == dec.UPSET or len(text.split()) < words:
            return d
        parts = [(dec.label_of(n), c) for n, c in dec._segment_tops(parse) if dec.is_faq_intent(n)]
        if not parts:
            return d
        label, confidence = max(parts, key=lambda item: item[1])
        if label == d.label or confidence < d.confidence + margin:
            return d
        also = tuple(x for x in dict.fromkeys([d.label, *d.also]) if x != label)
        return dec.Decision("answer", (label,), confidence, also=also[:3], complaint=d.complaint)

    return decide


def scores(predictions: Sequence[Prediction]) -> str:
    """``strict / lenient / OOS rejection / wrong answers`` of one file."""
    inside = [p for p in predictions if not p.question.out_of_scope]
    outside = [p for p in predictions if p.question.out_of_scope]
    strict = sum(p.correct for p in predictions) / len(predictions)
    lenient = sum(p.correct_lenient for p in predictions) / len(predictions)
    rejected = sum(p.correct for p in outside) / max(1, len(outside))
    wrong = sum(p.decision.kind == "answer" and not p.correct for p in inside) / len(inside)
    return f"{strict:.3f} / {lenient:.3f} / {rejected:.3f} / {wrong:.3f}"


def main() -> None:
    """Parse the files once, replay every variant, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=REPO_ROOT / "models" / "assistant.tar.gz")
    parser.add_argument("files", nargs="*", type=Path,
                        default=[REPO_ROOT / "tests" / "nlu" / name for name in DEV_SETS])
    args = parser.parse_args()
    if any("blind" in path.name for path in args.files):
        raise SystemExit("the blind sets are never used for tuning")
    parse = rasa_parser(args.model)
    parsed: dict[str, list[tuple[Question, dict[str, Any]]]] = {
        path.name: [(q, parse(q.text)) for q in read_questions(path)] for path in args.files
    }
    variants: list[tuple[str, Decide]] = [("current decision", dec.decide)]
    variants += [(f"clarify, >= {w} words, below {t}", clarify_long(w, t))
                 for w in (25, 40) for t in (0.7, 0.8, 0.9)]  # fmt: skip
    variants += [(f"part over whole, >= {w} words, margin {m}", part_over_whole(w, m))
                 for w in (10, 25, 40) for m in (0.0, 0.1, 0.2)]  # fmt: skip
    print(f"Machine: {machine()}. Model: {args.model}.\n")
    print("strict / lenient / OOS rejection / wrong answers (in scope)\n")
    print("| variant | " + " | ".join(parsed) + " |")
    print("|---|" + "---|" * len(parsed))
    for name, decide in variants:
        cells = [scores([Prediction(q, decide(p)) for q, p in rows]) for rows in parsed.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
