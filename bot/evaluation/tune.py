"""Tune the confidence thresholds on the development set (``python -m bot tune``).

Parses the dev questions once, then replays Rasa's ``FallbackClassifier`` rule (confidence
below ``threshold`` or top-two gap below ``ambiguity_threshold`` → ``nlu_fallback``) and the
clarification policy for every combination on a grid. Only ``tests/nlu/dev.tsv`` is used: the
held-out set stays unseen. Prints the best settings; they are then written by hand into
``config.yml`` and ``bot/dialogue/decision.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from bot.dialogue.decision import FALLBACK_INTENT, ClarifyPolicy, decide
from bot.evaluation.scoring import Prediction, Question, score


def raw_ranking(parse: dict[str, Any]) -> list[dict[str, Any]]:
    """The classifier's ranking without the fallback entry the FallbackClassifier inserted."""
    return [r for r in parse.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT]


def simulate_fallback(
    ranking: list[dict[str, Any]], threshold: float, ambiguity: float
) -> dict[str, Any]:
    """Parse data as the FallbackClassifier with these thresholds would produce it."""
    if not ranking:
        return {"intent": {"name": FALLBACK_INTENT, "confidence": threshold}, "intent_ranking": []}
    top = ranking[0]
    gap = top["confidence"] - ranking[1]["confidence"] if len(ranking) > 1 else 1.0
    if top["confidence"] < threshold or gap < ambiguity:
        fallback = {"name": FALLBACK_INTENT, "confidence": threshold}
        return {"intent": fallback, "intent_ranking": [fallback, *ranking]}
    return {"intent": top, "intent_ranking": ranking}


def grid_search(
    questions: Sequence[Question], rankings: Sequence[list[dict[str, Any]]]
) -> list[tuple[dict[str, float], dict[str, Any]]]:
    """Score every combination; best first (accuracy, then OOS rejection, then lenient)."""
    results = []
    for threshold, ambiguity, min_conf, relative in itertools.product(
        (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7),
        (0.0, 0.05, 0.1, 0.15, 0.2),
        (0.1, 0.15, 0.2, 0.25, 0.3, 0.4),
        (0.2, 0.35, 0.5),
    ):
        policy = ClarifyPolicy(min_confidence=min_conf, relative=relative)
        predictions = [
            Prediction(q, decide(simulate_fallback(r, threshold, ambiguity), policy))
            for q, r in zip(questions, rankings, strict=False)
        ]
        summary = score(predictions)
        params = {
            "threshold": threshold,
            "ambiguity_threshold": ambiguity,
            "clarify_min_confidence": min_conf,
            "clarify_relative": relative,
        }
        results.append((params, summary))
    results.sort(
        key=lambda item: (
            item[1]["accuracy"],
            item[1]["oos_rejection"],
            item[1]["accuracy_lenient"],
        ),
        reverse=True,
    )
    return results
