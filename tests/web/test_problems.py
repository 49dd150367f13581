"""The content's problems in German for editors (bot.web.problems): every code has its text."""

from __future__ import annotations

import pytest

from bot.knowledge.errors import CODES, Problem
from bot.web.problems import GERMAN, content_problems, german
from tests.knowledge.test_problems import EXAMPLES

TITLES = {"alpha": "Gaspreisbremse", "beta": "Strompreisbremse"}


def test_every_code_has_a_german_text() -> None:
    # A new code without a German text fails here (and the editor would see a KeyError).
    assert set(GERMAN) == set(CODES)
    for problem in EXAMPLES.values():
        text = german(problem, TITLES)  # a placeholder without its param: KeyError
        assert text and "field '" not in text, text


@pytest.mark.parametrize(
    ("problem", "field", "path", "message"),
    [
        (Problem("missing", None, "stand"), "stand", "stand", "Diese Angabe fehlt."),
        (
            Problem("source_incomplete", None, "sources", 1),
            "sources",
            "sources.1",
            "Quelle 2 braucht einen Titel und eine Adresse.",
        ),
        (
            Problem("unknown_measure", None, "measure", params={"choices": "a, b"}),
            "measure",
            "measure",
            "Bitte einen Bereich aus der Liste wählen.",
        ),
        (
            Problem("too_few_questions", None, "questions", params={"count": "1", "minimum": "12"}),
            "questions",
            "questions",
            "Das Thema hat 1 Fragevariante, nötig sind mindestens 12. Bitte ergänzen Sie "
            "Formulierungen, wie Kunden sie schreiben würden.",
        ),
        (
            Problem("too_few_questions", None, "questions", params={"count": "5", "minimum": "12"}),
            "questions",
            "questions",
            "Das Thema hat 5 Fragevarianten, nötig sind mindestens 12. Bitte ergänzen Sie "
            "Formulierungen, wie Kunden sie schreiben würden.",
        ),
        (
            Problem("unknown_placeholder", None, "answer", params={"placeholder": "{{x}}"}),
            "answer",
            "answer",
            "Den Platzhalter {{x}} gibt es nicht. Bitte einen Platzhalter aus der Liste "
            "einfügen.",
        ),
        (
            Problem("unknown_related", None, "related", params={"topic": "nope"}),
            "related",
            "related",
            "Das verwandte Thema „nope“ gibt es nicht (mehr).",
        ),
        (
            Problem.text("answer", "Roh-HTML ist nicht erlaubt."),
            "answer",
            "answer",
            "Roh-HTML ist nicht erlaubt.",
        ),
    ],
)
def test_topic_problems_are_named_by_field(problem, field, path, message) -> None:
    assert content_problems([problem], TITLES) == [
        {"field": field, "path": path, "message": message}
    ]


def test_a_question_of_another_topic_names_the_topic_it_belongs_to() -> None:
    # The edited topic (beta) has a question of alpha: reported without a file.
    ours = Problem("question_taken", None, "questions", params={"question": "Q?", "other": "alpha"})
    # alpha (read after beta) has a question of the edited topic: reported in alpha's file.
    theirs = Problem(
        "question_taken",
        "topics/alpha.yml",
        "questions",
        params={"question": "Q?", "other": "beta"},
    )
    expected = (
        "Die Frage „Q?“ gehört schon zum Thema „Gaspreisbremse“. Jede Frage darf nur zu einem "
        "Thema gehören, sonst kann der Assistent sie nicht zuordnen."
    )
    assert german(ours, TITLES) == german(theirs, TITLES) == expected
    same = Problem(
        "same_facets", "topics/alpha.yml", "facets", params={"other": "beta", "measure": "x"}
    )
    assert german(same, TITLES).startswith("Das Thema „Gaspreisbremse“ hat genau dieselben")
    unknown = Problem("question_taken", None, "questions", params={"question": "Q", "other": "z"})
    assert "zum Thema „z“" in german(unknown)  # no title known: the id


def test_problems_of_files_and_facts_are_reported_under_content() -> None:
    fact = Problem("bad_date", "/srv/knowledge/facts/core.yml", "value", params={"fact": "end"})
    broken = Problem("bad_yaml", "/srv/knowledge/topics/a.yml", params={"line": "3", "detail": "x"})
    setting = EXAMPLES["setting"]
    assert content_problems([fact, broken, setting]) == [
        {
            "field": "content",
            "path": "content",
            "message": "Fakt „end“ (facts/core.yml): Bitte ein gültiges Datum angeben.",
        },
        {
            "field": "content",
            "path": "content",
            "message": "Die Datei topics/a.yml ist kein gültiges YAML (Zeile 3).",
        },
        {
            "field": "content",
            "path": "content",
            "message": "Die Einstellung „opening_hours.timezone“ in knowledge/utility.yml ist "
            "ungültig: unknown",
        },
    ]
