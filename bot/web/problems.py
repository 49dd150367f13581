"""The content's problems in German for editors, named by the field they concern.

The knowledge loader and the content store report a :class:`~bot.knowledge.errors.Problem`
each: a code with the file, field and values. Here every code has its German text
(:data:`GERMAN`); :func:`content_problems` turns problems into the editor API's
``{"field", "path", "message"}``.

Problems of a topic's field are reported under that field (``path`` adds the list index:
``sources.1``); problems of the knowledge files, facts and settings, which no editor form
shows, under ``content``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePath
from typing import Final

from bot.knowledge.errors import Code, Problem

CONTENT_FIELD: Final = "content"

# Placeholders besides the problem's params: {number} (the list index counted from 1),
# {variants} (singular or plural of "Fragevariante" for {count}), {other_topic} (the title of
# the other topic a problem names), {file} (the file, short), {line_note} (" (Zeile n)").
GERMAN: Final[dict[Code, str]] = {
    "bad_yaml": "Die Datei {file} ist kein gültiges YAML{line_note}.",
    "unreadable": "Die Datei {file} lässt sich nicht lesen.",
    "empty_file": "Die Datei {file} ist leer.",
    "topic_not_mapping": "Die Datei {file} muss die Felder eines Themas enthalten.",
    "facts_not_mapping": "Die Datei {file} muss Fakten mit ihrem Namen auflisten.",
    "utility_missing": "Das Betreiberprofil {file} fehlt oder ist ungültig.",
    "no_topics": "Im Ordner {file} gibt es keine Themen.",
    # Facts: the text follows "Fakt „name“ (file): ".
    "fact_defined_twice": "Er ist schon in {other_file} festgelegt.",
    "fact_not_mapping": (
        "Bitte Wert, Einheit, Beleg und Quelle angeben (value, unit, check, source)."
    ),
    "unknown_unit": "Bitte eine dieser Einheiten angeben: {choices}.",
    "not_a_number": "Der Wert muss eine Zahl sein.",
    "no_check": "Es fehlt der Beleg, ein Auszug aus der Quelle (check).",
    "not_url": "Die Quelle muss eine Adresse (URL) sein.",
    # Fields of a topic.
    "missing": "Diese Angabe fehlt.",
    "id_mismatch": "Die Kennung passt nicht zu diesem Thema.",
    "not_positive_int": "Bitte eine positive ganze Zahl angeben.",
    "unknown_measure": "Bitte einen Bereich aus der Liste wählen.",
    "no_sources": "Bitte mindestens eine Quelle mit Titel und Adresse angeben.",
    "source_incomplete": "Quelle {number} braucht einen Titel und eine Adresse.",
    "related_not_list": "Bitte nur Themen aus der Liste wählen.",
    "questions_not_texts": "Bitte nur ausgefüllte Fragen angeben (eine pro Zeile).",
    "bad_date": "Bitte ein gültiges Datum angeben.",
    "valid_to_before_from": "„Gültig bis“ liegt vor „Gültig ab“.",
    "not_bool": "Bitte ja oder nein wählen.",
    "empty_text": "Bitte ausfüllen.",
    "facets_not_mapping": "Bitte die Facetten als Auswahl aus der Liste angeben.",
    "unknown_facet": "Diese Facette gibt es nicht. Bitte nur Facetten aus der Liste wählen.",
    "facet_value": "Bitte nur Werte aus der Liste wählen.",
    # Across topics.
    "same_facets": (
        "Das Thema „{other_topic}“ hat genau dieselben Facetten. Eine Anschlussfrage wie „und "
        "für Mieter?“ könnte die beiden nicht unterscheiden: bitte eine Facette ändern."
    ),
    "too_few_questions": (
        "Das Thema hat {count} {variants}, nötig sind mindestens {minimum}. Bitte ergänzen Sie "
        "Formulierungen, wie Kunden sie schreiben würden."
    ),
    "duplicate_question": "Die Frage „{question}“ steht zweimal in der Liste.",
    "question_taken": (
        "Die Frage „{question}“ gehört schon zum Thema „{other_topic}“. Jede Frage darf nur zu "
        "einem Thema gehören, sonst kann der Assistent sie nicht zuordnen."
    ),
    "unknown_placeholder": (
        "Den Platzhalter {placeholder} gibt es nicht. Bitte einen Platzhalter aus der Liste "
        "einfügen."
    ),
    "figure_not_placeholder": (
        "Die Zahl „{figure}“ muss als Platzhalter eingefügt werden (Liste „Platzhalter“), damit "
        "jede Zahl an einer Stelle gepflegt und geprüft wird."
    ),
    "unknown_related": "Das verwandte Thema „{topic}“ gibt es nicht (mehr).",
    # Others.
    "setting": "Die Einstellung „{field}“ in {file} ist ungültig: {detail}",
    "message": "{message}",
}


def _short(file: str | None) -> str:
    """A file as its folder and name (``facts/core.yml``): no server paths in answers."""
    return "/".join(PurePath(file).parts[-2:]) if file else ""


def _field(problem: Problem) -> str:
    """The topic field the problem is reported under (see the module docstring)."""
    if problem.field is None or "fact" in problem.params or problem.code == "setting":
        return CONTENT_FIELD
    return problem.field


def _other_topic(problem: Problem, titles: Mapping[str, str]) -> str:
    """The title of the other topic a problem names, from the edited topic's point of view.

    The content store reports the edited topic's problems without a file; a problem found in
    another topic's file that names the edited one ("a question of topic x too") is about
    that other topic.
    """
    other = problem.params.get("other", "") if problem.file is None else PurePath(problem.file).stem
    return titles.get(other, other)


def german(problem: Problem, titles: Mapping[str, str] | None = None) -> str:
    """The German text of one problem; topics are named by their title from ``titles``."""
    params = problem.params
    line = params.get("line")
    values = {
        **params,
        "field": problem.field or "",
        "file": _short(problem.file),
        "number": str(problem.index + 1) if problem.index is not None else "",
        "variants": "Fragevariante" if params.get("count") == "1" else "Fragevarianten",
        "other_topic": _other_topic(problem, titles or {}),
        "line_note": f" (Zeile {line})" if line else "",
    }
    text = GERMAN[problem.code].format(**values)
    if "fact" in params:
        text = f"Fakt „{params['fact']}“ ({values['file']}): {text}"
    return text


def content_problems(
    problems: Sequence[Problem], titles: Mapping[str, str] | None = None
) -> list[dict[str, str]]:
    """The problems as the editor API reports them: ``{"field", "path", "message"}`` each.

    Topics are named by their title from ``titles`` (topic id → title) where known.
    """
    result = []
    for problem in problems:
        field = _field(problem)
        path = field
        if field != CONTENT_FIELD and problem.index is not None:
            path = f"{field}.{problem.index}"
        result.append({"field": field, "path": path, "message": german(problem, titles)})
    return result
