"""What the assistant does with one parsed message: answer, ask back, or fall back.

This is the single place of the decision. The live assistant (``actions/faq.py``) and the
evaluation (``python -m bot eval``) both call :func:`decide` on Rasa's parse result, so the
evaluation measures exactly what customers get.

Inputs are Rasa's parse data: ``intent`` and ``intent_ranking``. Low confidence is detected by
Rasa's ``FallbackClassifier`` (``config.yml``: ``threshold`` and ``ambiguity_threshold``), which
turns the intent into ``nlu_fallback`` and keeps the original ranking behind it. Rasa's
ResponseSelector has no threshold of its own (Rasa issues 9751, 9723); FAQ topics are therefore
plain intents ``faq_<topic id>`` of the one intent classifier, whose confidence the fallback
classifier sees, and a clarification button can trigger a topic directly with ``/faq_<id>``
(the problem of Rasa issue 5576 does not arise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

FAQ_INTENT_PREFIX = "faq_"
FALLBACK_INTENT = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"

# Intents that start a dialogue of their own and can be offered as a clarification option.
ACTIONABLE_INTENTS = frozenset({"instalment_calculation", "human_handoff"})


@dataclass(frozen=True)
class ClarifyPolicy:
    """When a low-confidence message is worth a "Meinten Sie ...?" instead of a fallback.

    Attributes:
        min_confidence: below this confidence a candidate is not offered.
        relative: further candidates are offered only at this share of the first one's.
        max_options: at most this many topic buttons.
    """

    min_confidence: float = 0.15
    relative: float = 0.35
    max_options: int = 3


# Tuned on tests/nlu/dev.tsv with `python -m bot tune`, never on the held-out set
# (docs/benchmarks/nlu.md).
DEFAULT_POLICY = ClarifyPolicy()

Kind = Literal["answer", "clarify", "fallback"]


@dataclass(frozen=True)
class Decision:
    """The outcome for one message.

    Attributes:
        kind: ``answer`` (answer a topic / start the intent's dialogue), ``clarify`` (ask which
            of ``labels`` is meant) or ``fallback`` (say it cannot answer, offer a person).
        labels: topic ids or intent names; one for ``answer``, the options for ``clarify``,
            ``("out_of_scope",)`` for ``fallback``.
        confidence: the classifier's confidence in the first label.
    """

    kind: Kind
    labels: tuple[str, ...]
    confidence: float

    @property
    def label(self) -> str:
        """The first label (the one acted on for ``answer``)."""
        return self.labels[0]


def label_of(intent: str) -> str:
    """Map an intent name to its evaluation label (``faq_gaspreisbremse`` → ``gaspreisbremse``)."""
    return intent.removeprefix(FAQ_INTENT_PREFIX) if is_faq_intent(intent) else intent


def intent_of(label: str, faq_ids: Sequence[str] | frozenset[str]) -> str:
    """Inverse of :func:`label_of` for the given FAQ topic ids."""
    return FAQ_INTENT_PREFIX + label if label in faq_ids else label


def is_faq_intent(intent: str) -> bool:
    """True for the intents that answer a FAQ topic."""
    return intent.startswith(FAQ_INTENT_PREFIX)


def _clarifiable(intent: str) -> bool:
    return is_faq_intent(intent) or intent in ACTIONABLE_INTENTS


def _ranking(parse: Mapping[str, Any]) -> list[tuple[str, float]]:
    ranking = parse.get("intent_ranking") or []
    return [
        (str(r.get("name")), float(r.get("confidence") or 0.0))
        for r in ranking
        if r.get("name") and r.get("name") != FALLBACK_INTENT
    ]


def decide(parse: Mapping[str, Any], policy: ClarifyPolicy = DEFAULT_POLICY) -> Decision:
    """Decide what to do with a parsed message (see module docstring).

    Args:
        parse: Rasa parse data (``tracker.latest_message`` or ``Agent.parse_message``).
        policy: the clarification thresholds (the default is what the assistant uses).

    Returns:
        The decision; never raises on incomplete parse data (it falls back).
    """
    intent = parse.get("intent") or {}
    name = str(intent.get("name") or FALLBACK_INTENT)
    confidence = float(intent.get("confidence") or 0.0)

    if name == OUT_OF_SCOPE:
        return Decision("fallback", (OUT_OF_SCOPE,), confidence)
    if name != FALLBACK_INTENT:
        return Decision("answer", (label_of(name),), confidence)

    ranking = _ranking(parse)
    if not ranking:
        return Decision("fallback", (OUT_OF_SCOPE,), 0.0)
    top_name, top_conf = ranking[0]
    if top_name == OUT_OF_SCOPE or top_conf < policy.min_confidence:
        return Decision("fallback", (OUT_OF_SCOPE,), top_conf)
    options = [
        label_of(n)
        for n, c in ranking
        if _clarifiable(n) and c >= policy.min_confidence and c >= top_conf * policy.relative
    ][: policy.max_options]
    if not options:
        return Decision("fallback", (OUT_OF_SCOPE,), top_conf)
    return Decision("clarify", tuple(options), top_conf)
