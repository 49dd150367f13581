"""Run questions through a trained Rasa model and the assistant's decision logic.

The model is loaded in-process (no server). Every question is parsed as the first message of a
fresh conversation and passed to :func:`bot.dialogue.decision.decide`, the function the live
``action_answer_question`` calls.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.dialogue.consumption import for_large_customers
from bot.dialogue.decision import decide
from bot.evaluation.scoring import Prediction, Question
from bot.knowledge.model import KnowledgeBase

Parser = Callable[[str], dict[str, Any]]


def quiet_rasa() -> None:
    """Keep TensorFlow's and Rasa's start-up chatter out of the output (the JSON is last)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    for name in ("rasa", "tensorflow", "absl", "sanic", "py.warnings"):
        logging.getLogger(name).setLevel(logging.ERROR)
    import structlog  # Rasa logs parse results through structlog, to stdout by default

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


def rasa_parser(model_path: Path) -> Parser:
    """Load a trained Rasa model and return a text → parse-data function."""
    quiet_rasa()
    from rasa.core.agent import Agent  # heavy import, only when a model is evaluated

    agent = Agent.load(str(model_path))
    loop = asyncio.new_event_loop()

    def parse(text: str) -> dict[str, Any]:
        result: dict[str, Any] = loop.run_until_complete(agent.parse_message(text))
        return result

    return parse


def predict(
    questions: Sequence[Question], parse: Parser, kb: KnowledgeBase | None = None
) -> list[Prediction]:
    """Decide on every question with the assistant's decision logic.

    With ``kb``, a brake answer to a message with a consumption above the household limit
    becomes the large customers' topic, as in ``action_answer_question``
    (:mod:`bot.dialogue.consumption`).
    """
    predictions = []
    for q in questions:
        decision = decide(parse(q.text))
        if kb is not None:
            decision = for_large_customers(decision, q.text, kb)
        predictions.append(Prediction(question=q, decision=decision))
    return predictions
