"""What editors see before publishing: the answer as a customer would get it, and the placeholders.

The preview runs the assistant's own renderer (``bot.knowledge.store.render_answer``) on a
knowledge base of just the edited answer, so the text is exactly what a customer would get
today, dated note included. Figures must come from ``knowledge/facts`` as placeholders (one
place per number, checked against the domain sources); the preview names every figure written
as digits and every unknown placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Final

from bot.content.markdown import markdown_problems
from bot.knowledge.model import KnowledgeBase, Topic
from bot.knowledge.render import digits_outside_placeholders, format_fact, unknown_placeholders
from bot.knowledge.store import render_answer

_PREVIEW_ID: Final = "vorschau"
# Fields a topic needs before it can be published, with what the editor is asked for. The
# loader stops at the first missing field; checking them all first lists them at once.
REQUIRED_TEXTS: Final = {
    "title": "Bitte einen Titel angeben.",
    "measure": "Bitte einen Bereich aus der Liste wählen.",
    "stand": "Bitte das Datum angeben, an dem die Antwort zuletzt geprüft wurde.",
    "answer": "Bitte eine Antwort schreiben.",
    "sources": "Bitte mindestens eine Quelle mit Titel und Adresse angeben.",
    "questions": "Bitte mindestens {minimum} Fragevarianten angeben, eine pro Zeile.",
}


@dataclass(frozen=True)
class Preview:
    """The rendered answer and what is wrong with it (German, for the editor)."""

    text: str
    problems: list[str] = field(default_factory=list)


def answer_problems(answer: str, kb: KnowledgeBase) -> list[str]:
    """Unsafe Markdown, unknown placeholders and figures written as digits in ``answer``."""
    problems = list(markdown_problems(answer))
    for bad in unknown_placeholders(answer, kb.facts, kb.utility):
        problems.append(
            f"Den Platzhalter {bad} gibt es nicht. Bitte einen Platzhalter aus der Liste einfügen."
        )
    for figure in digits_outside_placeholders(answer):
        problems.append(
            f"Die Zahl „{figure}“ muss als Platzhalter eingefügt werden (Liste „Platzhalter“), "
            "damit jede Zahl an einer Stelle gepflegt und geprüft wird."
        )
    return problems


def preview_answer(
    kb: KnowledgeBase,
    answer: str,
    *,
    today: date,
    stand: date | None,
    valid_from: date | None = None,
    valid_to: date | None = None,
    offers_calculation: bool = False,
) -> Preview:
    """``answer`` as the assistant would send it today (see the module docstring)."""
    problems = answer_problems(answer, kb)
    template = answer
    for bad in unknown_placeholders(template, kb.facts, kb.utility):
        # Shown as text (and listed above): the preview still renders the rest.
        template = template.replace(bad, f"«unbekannter Platzhalter {bad[2:-2].strip()}»")
    if stand is None:
        problems.append("Der Stand fehlt; die Vorschau zeigt das heutige Datum.")
    topic = Topic(
        id=_PREVIEW_ID,
        version=1,
        title="",
        measure="service",
        valid_from=valid_from,
        valid_to=valid_to,
        stand=stand or today,
        answer=template,
        sources=(),
        related=(),
        questions=(),
        offers_calculation=offers_calculation,
    )
    single = replace(kb, topics={_PREVIEW_ID: topic})
    try:
        text = render_answer(single, _PREVIEW_ID, today).text
    except (KeyError, ValueError, TypeError) as exc:
        problems.append(f"Die Antwort lässt sich nicht darstellen: {exc}")
        text = ""
    return Preview(text, problems)


def placeholders(kb: KnowledgeBase) -> dict[str, list[dict[str, Any]]]:
    """Every fact and utility key an answer may use, with its placeholder and current value."""
    facts = []
    for name in sorted(kb.facts):
        fact = kb.facts[name]
        styles = ["long", "month", "year"] if isinstance(fact.value, date) else ["num"]
        facts.append(
            {
                "name": name,
                "placeholder": f"{{{{{name}}}}}",
                "value": format_fact(fact),
                "unit": fact.unit,
                "formats": [
                    {"placeholder": f"{{{{{name}:{style}}}}}", "value": format_fact(fact, style)}
                    for style in styles
                ],
            }
        )
    utility = [
        {"key": key, "placeholder": f"{{{{utility.{key}}}}}", "value": str(value)}
        for key, value in sorted(kb.utility.items())
        if isinstance(value, (str, int, float)) and not isinstance(value, bool)
    ]
    return {"facts": facts, "utility": utility}


def missing_fields(doc: dict[str, Any], *, min_questions: int) -> dict[str, str]:
    """Field → German request for every required field of ``doc`` that is empty."""
    return {
        name: text.format(minimum=min_questions)
        for name, text in REQUIRED_TEXTS.items()
        if not doc.get(name)
    }
