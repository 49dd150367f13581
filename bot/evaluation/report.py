"""``make eval``: the held-out evaluation of the assistant next to two baselines.

Writes ``docs/benchmarks/nlu.md`` and returns the assistant's contract summary. Thresholds of
the TF-IDF baseline are tuned on the development set (``tests/nlu/dev.tsv``); the held-out set
is only ever scored.
"""

from __future__ import annotations

import os
import platform
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bot.dialogue import decision as decision_module
from bot.evaluation.baselines import TfidfRetriever, rasa_default_model, training_examples
from bot.evaluation.evaluate import predict, rasa_parser
from bot.evaluation.scoring import Prediction, read_questions, score
from bot.knowledge import load_knowledge
from bot.settings import REPO_ROOT

TARGETS = {"accuracy": 0.95, "oos_rejection": 0.92}


def target_verdicts(ours: dict[str, Any], baselines: list[dict[str, Any]]) -> str:
    """One line saying, per target, whether the assistant's scores meet it (and by how much not).

    A report that lists targets must say plainly when one is missed; one held-out question is
    0.003 of accuracy, so the margin is given to three places.
    """
    parts = []
    for metric, target in TARGETS.items():
        value = ours[metric]
        if value >= target:
            parts.append(f"{metric} {value:.3f}: met")
        else:
            parts.append(f"{metric} {value:.3f}: **missed** by {target - value:.3f}")
    ahead = all(ours["accuracy"] > b["accuracy"] for b in baselines)
    parts.append("ahead of both baselines: " + ("met" if ahead else "**missed**"))
    return "Verdict: " + "; ".join(parts) + "."


def _row(name: str, s: dict[str, Any]) -> str:
    return (
        f"| {name} | {s['accuracy']:.3f} | {s['accuracy_lenient']:.3f} | "
        f"{s['in_scope_accuracy']:.3f} | {s['oos_rejection']:.3f} |"
    )


def _errors(predictions: list[Prediction], limit: int = 25) -> list[str]:
    wrong = [p for p in predictions if not p.correct]
    lines = []
    for p in wrong[:limit]:
        lines.append(
            f"| {p.question.text.replace('|', '/')} | {'/'.join(p.question.expected)} | "
            f"{p.decision.kind} | {'/'.join(p.decision.labels)} | {p.decision.confidence:.2f} |"
        )
    return lines


# The sets `make eval` scores (issue 16, tests/nlu/BLIND.md): blind ones are only ever scored
# (no error lists); development ones also list the assistant's errors.
SETS = (
    ("tests/nlu/blind.tsv", "blind"),
    ("tests/nlu/blind_multilingual.tsv", "blind"),
    ("tests/nlu/dev_realistic.tsv", "development"),
    ("tests/nlu/dev_realistic2.tsv", "development"),
    ("tests/nlu/dev_realistic3.tsv", "development"),
    ("tests/nlu/dev_realistic4.tsv", "development"),
    ("tests/nlu/dev_multilingual.tsv", "development"),
    ("tests/nlu/heldout.tsv", "development (reused)"),
)
DIALOGUE_SETS = (
    ("tests/dialogues/blind.yml", "blind"),
    ("tests/dialogues/dev.yml", "development"),
    ("tests/dialogues/dev2.yml", "development"),
    ("tests/dialogues/dev3.yml", "development"),
    ("tests/dialogues/dev4.yml", "development"),
    ("tests/dialogues/dev5.yml", "development"),
    ("tests/dialogues/dev6.yml", "development"),
)
LONG_WORDS = 40
DIALOGUE_TARGET = 0.90
OOS_TARGET = 0.92


def _words(text: str) -> int:
    return len(text.split())


def long_message_outcomes(predictions: list[Prediction]) -> dict[str, int]:
    """Long messages: answered right, offered, honestly not understood, or wrong."""
    outcome: Counter[str] = Counter()
    for p in predictions:
        if _words(p.question.text) < LONG_WORDS:
            continue
        if p.correct:
            outcome["answered right"] += 1
        elif p.correct_lenient:
            outcome["offered (asked back)"] += 1
        elif p.decision.kind != "answer":
            outcome["not understood, said so"] += 1
        else:
            outcome["wrong answer"] += 1
    return dict(outcome)


def calibration(predictions: list[Prediction]) -> list[str]:
    """Mean confidence of answers against their accuracy, by message length."""
    rows = []
    for low, high in ((0, 10), (10, 25), (25, 40), (40, 10_000)):
        answered = [
            p
            for p in predictions
            if p.decision.kind == "answer" and low <= _words(p.question.text) < high
        ]
        if not answered:
            continue
        confidence = sum(p.decision.confidence for p in answered) / len(answered)
        accuracy = sum(p.correct for p in answered) / len(answered)
        label = f"{low}-{high - 1}" if high < 10_000 else f"{low}+"
        rows.append(f"| {label} | {len(answered)} | {confidence:.3f} | {accuracy:.3f} |")
    return rows


def _dialogue_scores(model: Path) -> list[tuple[str, str, dict[str, Any]]]:
    from bot.evaluation import dialogues
    from bot.evaluation.servers import local_assistant

    results = []
    with local_assistant(model) as (url, token):
        client = dialogues.RasaClient(url, token)
        for name, kind in DIALOGUE_SETS:
            conversations = dialogues.load(REPO_ROOT / name)
            turns = dialogues.run(conversations, client)
            results.append((name, kind, dialogues.summary(turns, len(conversations))))
    return results


def write_report(model: Path, heldout: Path, dev: Path, target: Path) -> dict[str, Any]:
    """Evaluate every set, write the Markdown report, return the assistant's blind summary.

    ``heldout`` is the main blind set; ``dev`` the development set the TF-IDF threshold is
    tuned on.
    """
    heldout = heldout if heldout.is_absolute() else REPO_ROOT / heldout
    dev = dev if dev.is_absolute() else REPO_ROOT / dev
    started = time.perf_counter()
    parse = rasa_parser(model)
    dev_questions = read_questions(dev)
    examples = training_examples(REPO_ROOT / "data" / "nlu")
    tfidf = TfidfRetriever().fit(examples)
    threshold = tfidf.tune(dev_questions)
    baseline_model = rasa_default_model(
        REPO_ROOT / "data" / "nlu", REPO_ROOT / "build" / "baselines"
    )
    default_parse = rasa_parser(baseline_model)
    kb = load_knowledge(REPO_ROOT / "knowledge")

    sets = [(heldout, "blind")] + [
        (REPO_ROOT / name, kind) for name, kind in SETS if REPO_ROOT / name != heldout
    ]
    table: list[str] = []
    verdicts: list[str] = []
    errors: list[str] = []
    extra: list[str] = []
    main_summary: dict[str, Any] = {}
    for path, kind in sets:
        if not path.exists():
            continue
        questions = read_questions(path)
        ours = predict(questions, parse, kb)
        ours_score = score(ours)
        tfidf_score = score(tfidf.predict(questions))
        default_score = score(predict(questions, default_parse, kb))
        name = f"`{path.relative_to(REPO_ROOT)}` ({kind}, {len(questions)})"
        table += [
            _row(f"{name}: **this assistant**", ours_score),
            _row(f"{name}: TF-IDF (threshold {threshold:.2f})", tfidf_score),
            _row(f"{name}: Rasa default pipeline", default_score),
        ]
        if path == heldout:
            main_summary = ours_score
            verdicts.append(target_verdicts(ours_score, [tfidf_score, default_score]))
            outcomes = long_message_outcomes(ours)
            extra += [
                f"Long messages ({LONG_WORDS}+ words) of the blind set: {outcomes}.",
                "The TF-IDF baseline on the same: "
                f"{long_message_outcomes(tfidf.predict(questions))}.",
                "",
            ]
        if kind.startswith("development"):
            errors += [
                f"### {path.name}",
                "",
                "| question | expected | decision | predicted " "| confidence |",
                "|---|---|---|---|---|",
                *_errors(ours),
                "",
            ]
            if path.name == "dev_realistic.tsv":
                extra += [
                    "Calibration on the development set `dev_realistic.tsv` (answers only):",
                    "",
                    "| words | answers | mean confidence | accuracy |",
                    "|---|---|---|---|",
                    *calibration(ours),
                    "",
                ]
    dialogue_rows = []
    for name, kind, summary in _dialogue_scores(model):
        by_kind = ", ".join(
            f"{k} {v['strict']:.2f}/{v['lenient']:.2f} (n={v['n']})"
            for k, v in summary["by_kind"].items()
        )
        dialogue_rows.append(
            f"| `{name}` ({kind}) | {summary['conversations']} | {summary['turns']} | "
            f"{summary['strict']:.3f} | {summary['lenient']:.3f} | {by_kind} |"
        )
        if kind == "blind":
            met = "met" if summary["strict"] >= DIALOGUE_TARGET else "**missed**"
            verdicts.append(
                f"Dialogue turns (blind, strict) {summary['strict']:.3f}: {met} "
                f"(target {DIALOGUE_TARGET})."
            )
            main_summary = {**main_summary, "dialogue_strict": summary["strict"]}
    seconds = time.perf_counter() - started
    now = datetime.now(timezone.utc)
    lines = [
        "# NLU and dialogue evaluation",
        "",
        f"Generated by `make eval` (`python -m bot report`) on {now:%Y-%m-%d %H:%M} UTC,",
        f"{platform.machine()}, Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"{seconds:.0f} s.",
        "Blind sets were written before issue 16's changes by a separate author and are never",
        "used for training or tuning (`tests/nlu/BLIND.md`); their errors are not listed here.",
        f"Training data: {len(examples)} examples from `knowledge/` and `data/nlu/`.",
        "",
        "## Single messages",
        "",
        "| set: system | accuracy | accuracy (lenient) | in-scope accuracy | OOS rejection |",
        "|---|---|---|---|---|",
        *table,
        "",
        f"Targets: accuracy ≥ {TARGETS['accuracy']} and ahead of both baselines; OOS rejection "
        f"≥ {OOS_TARGET} (issue 16); dialogue turns ≥ {DIALOGUE_TARGET}.",
        "",
        *verdicts,
        "",
        *extra,
        "## Conversations (`python -m bot eval-dialogues`)",
        "",
        "Each turn through the real Rasa server and action server; strict/lenient as defined in",
        "`bot/evaluation/dialogues.py`.",
        "",
        "| set | conversations | turns | strict | lenient | by kind (strict/lenient) |",
        "|---|---|---|---|---|---|",
        *dialogue_rows,
        "",
        f"Thresholds: FallbackClassifier in `config.yml`; clarification "
        f"{decision_module.DEFAULT_POLICY} (`bot/dialogue/decision.py`).",
        "",
        "## Errors on the development sets (first 25 each)",
        "",
        *errors,
        "Reproduce: `make eval`; one set: `.venv/bin/python -m bot eval --questions FILE`; "
        "conversations: `.venv/bin/python -m bot eval-dialogues FILE`.",
        "",
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines), encoding="utf-8")
    return main_summary
