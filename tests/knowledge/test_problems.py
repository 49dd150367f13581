"""Each check of the knowledge loader reports a structured problem: code, file, field, params."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.knowledge import KnowledgeError, load_knowledge
from bot.knowledge.errors import CODES, ENGLISH, Problem
from bot.knowledge.model import UNITS
from tests.conftest import topic_yaml

# One problem of every code with the params its checks give it (tests/web/test_problems.py
# words each one in German).
EXAMPLES: dict[str, Problem] = {
    "bad_yaml": Problem("bad_yaml", "k/topics/a.yml", params={"detail": "x", "line": "2"}),
    "unreadable": Problem("unreadable", "k/topics/a.yml", params={"detail": "Is a directory"}),
    "empty_file": Problem("empty_file", "k/topics/a.yml"),
    "topic_not_mapping": Problem("topic_not_mapping", "k/topics/a.yml", params={"fields": "id"}),
    "facts_not_mapping": Problem("facts_not_mapping", "k/facts/a.yml"),
    "utility_missing": Problem("utility_missing", "k/utility.yml"),
    "no_topics": Problem("no_topics", "k/topics"),
    "fact_defined_twice": Problem(
        "fact_defined_twice", "k/facts/b.yml", params={"fact": "ref", "other_file": "k/facts/a.yml"}
    ),
    "fact_not_mapping": Problem("fact_not_mapping", "k/facts/a.yml", params={"fact": "ref"}),
    "unknown_unit": Problem(
        "unknown_unit", "k/facts/a.yml", "unit", params={"fact": "ref", "choices": "ct/kWh, %"}
    ),
    "not_a_number": Problem("not_a_number", "k/facts/a.yml", "value", params={"fact": "ref"}),
    "no_check": Problem("no_check", "k/facts/a.yml", "check", params={"fact": "ref"}),
    "not_url": Problem("not_url", "k/facts/a.yml", "source", params={"fact": "ref"}),
    "missing": Problem("missing", None, "answer"),
    "id_mismatch": Problem("id_mismatch", None, "id", params={"value": "b"}),
    "not_positive_int": Problem("not_positive_int", None, "version"),
    "unknown_measure": Problem("unknown_measure", None, "measure", params={"choices": "a, b"}),
    "no_sources": Problem("no_sources", None, "sources"),
    "source_incomplete": Problem("source_incomplete", None, "sources", 1),
    "related_not_list": Problem("related_not_list", None, "related"),
    "questions_not_texts": Problem("questions_not_texts", None, "questions"),
    "bad_date": Problem("bad_date", None, "stand", params={"got": "'31.12.2023'"}),
    "valid_to_before_from": Problem("valid_to_before_from", None, "valid_to"),
    "not_bool": Problem("not_bool", None, "offers_calculation"),
    "empty_text": Problem("empty_text", None, "title"),
    "facets_not_mapping": Problem("facets_not_mapping", None, "facets", params={"choices": "a"}),
    "unknown_facet": Problem(
        "unknown_facet", None, "facets", params={"facet": "colour", "choices": "energy"}
    ),
    "facet_value": Problem(
        "facet_value", None, "facets", params={"facet": "energy", "choices": "gas, strom"}
    ),
    "same_facets": Problem(
        "same_facets", None, "facets", params={"other": "alpha", "measure": "preisbremsen"}
    ),
    "too_few_questions": Problem(
        "too_few_questions", None, "questions", params={"count": "1", "minimum": "12"}
    ),
    "duplicate_question": Problem(
        "duplicate_question", None, "questions", params={"question": "Q"}
    ),
    "question_taken": Problem(
        "question_taken", None, "questions", params={"question": "Q", "other": "alpha"}
    ),
    "unknown_placeholder": Problem(
        "unknown_placeholder", None, "answer", params={"placeholder": "{{x}}"}
    ),
    "figure_not_placeholder": Problem(
        "figure_not_placeholder", None, "answer", params={"figure": "40"}
    ),
    "unknown_related": Problem("unknown_related", None, "related", params={"topic": "nope"}),
    "setting": Problem(
        "setting", "knowledge/utility.yml", "opening_hours.timezone", params={"detail": "unknown"}
    ),
    "message": Problem.text("questions", "Die Frage ist leer."),
}


def _problems(directory: Path) -> list[Problem]:
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(directory)
    return info.value.problems


def _write(directory: Path, name: str, text: str) -> str:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_every_code_has_an_english_message_and_an_example() -> None:
    assert set(ENGLISH) == set(CODES)
    assert set(EXAMPLES) == set(CODES)
    for code, problem in EXAMPLES.items():
        assert problem.code == code
        assert str(problem)  # every placeholder of the message is given


def test_english_messages_name_file_field_and_index() -> None:
    assert str(Problem("missing", "topics/a.yml", "answer")) == (
        "topics/a.yml: field 'answer' is missing"
    )
    assert str(Problem("source_incomplete", "topics/a.yml", "sources", 1)) == (
        "topics/a.yml: field 'sources[1]' needs 'title' and 'url'"
    )
    assert str(EXAMPLES["unknown_unit"]) == (
        "k/facts/a.yml: fact 'ref': field 'unit' must be one of ct/kWh, %"
    )
    assert str(EXAMPLES["question_taken"]) == (
        "field 'questions': 'Q' is also a question of topic 'alpha' (knowledge/topics/alpha.yml)"
    )
    assert str(EXAMPLES["message"]) == "Feld 'questions': Die Frage ist leer."
    assert str(Problem("bad_yaml", "a.yml", params={"detail": "oops"})) == (
        "a.yml: malformed YAML: oops"
    )


def test_problems_are_values() -> None:
    one = Problem("missing", "a.yml", "answer", params={"x": "1"})
    assert one == Problem("missing", "a.yml", "answer", params={"x": "1"})
    assert len({one, Problem("missing", "a.yml", "answer", params={"x": "1"})}) == 1


# ---- each check of a topic -------------------------------------------------------------------

SOURCE = {"title": "Quelle", "url": "https://example.org"}


@pytest.mark.parametrize(
    ("overrides", "code", "field", "index", "params"),
    [
        ({"answer": None}, "missing", "answer", None, {}),
        ({"id": "gamma"}, "id_mismatch", "id", None, {"value": "gamma"}),
        ({"version": 0}, "not_positive_int", "version", None, {}),
        ({"measure": "wetter"}, "unknown_measure", "measure", None, {}),
        ({"sources": []}, "no_sources", "sources", None, {}),
        ({"sources": [SOURCE, {"title": "x"}]}, "source_incomplete", "sources", 1, {}),
        ({"related": "nope"}, "related_not_list", "related", None, {}),
        ({"questions": ["", "x"]}, "questions_not_texts", "questions", None, {}),
        ({"valid_to": "31.12.2023"}, "bad_date", "valid_to", None, {"got": "'31.12.2023'"}),
        ({"stand": None}, "missing", "stand", None, {}),
        ({"valid_from": "2024-01-01"}, "valid_to_before_from", "valid_to", None, {}),
        ({"offers_calculation": "ja"}, "not_bool", "offers_calculation", None, {}),
        ({"title": "  "}, "empty_text", "title", None, {}),
        ({"answer": " "}, "empty_text", "answer", None, {}),
        ({"facets": "strom"}, "facets_not_mapping", "facets", None, {}),
        ({"facets": {"colour": ["rot"]}}, "unknown_facet", "facets", None, {"facet": "colour"}),
        ({"facets": {"energy": ["kohle"]}}, "facet_value", "facets", None, {"facet": "energy"}),
        (
            {"questions": ["Nur eine?"]},
            "too_few_questions",
            "questions",
            None,
            {"count": "1", "minimum": "12"},
        ),
        (
            {"answer": "Es gab {{gibtsnicht}}."},
            "unknown_placeholder",
            "answer",
            None,
            {"placeholder": "{{gibtsnicht}}"},
        ),
        (
            {"answer": "Es kostet 40 ct pro kWh."},
            "figure_not_placeholder",
            "answer",
            None,
            {"figure": "40"},
        ),
        ({"related": ["nope"]}, "unknown_related", "related", None, {"topic": "nope"}),
    ],
)
def test_each_topic_check_has_its_code(
    knowledge_dir: Path,
    overrides: dict[str, Any],
    code: str,
    field: str,
    index: int | None,
    params: dict[str, str],
) -> None:
    file = _write(knowledge_dir / "topics", "beta.yml", topic_yaml("beta", **overrides))
    found = [p for p in _problems(knowledge_dir) if p.code == code]
    assert len(found) == 1, _problems(knowledge_dir)
    problem = found[0]
    assert (problem.file, problem.field, problem.index) == (file, field, index)
    assert params.items() <= problem.params.items()


def test_choices_are_listed(knowledge_dir: Path) -> None:
    _write(knowledge_dir / "topics", "beta.yml", topic_yaml("beta", measure="wetter"))
    (problem,) = _problems(knowledge_dir)
    assert "preisbremsen" in problem.params["choices"].split(", ")


def test_questions_twice_and_in_two_topics(knowledge_dir: Path) -> None:
    own = [f"Noch eine Frage {i}?" for i in range(12)]
    taken = "Frage Nummer eins zum Thema alpha?"
    file = _write(
        knowledge_dir / "topics", "beta.yml", topic_yaml("beta", questions=[*own, own[0], taken])
    )
    assert _problems(knowledge_dir) == [
        Problem("duplicate_question", file, "questions", params={"question": own[0]}),
        Problem("question_taken", file, "questions", params={"question": taken, "other": "alpha"}),
    ]


def test_identical_facets_name_the_other_topic(knowledge_dir: Path) -> None:
    facets = {"audience": ["mieter"]}
    _write(knowledge_dir / "topics", "alpha.yml", topic_yaml("alpha", facets=facets))
    file = _write(knowledge_dir / "topics", "beta.yml", topic_yaml("beta", facets=facets))
    assert _problems(knowledge_dir) == [
        Problem("same_facets", file, "facets", params={"other": "alpha", "measure": "preisbremsen"})
    ]


# ---- files, facts, the utility profile --------------------------------------------------------


def test_file_problems(knowledge_dir: Path) -> None:
    topics = knowledge_dir / "topics"
    broken = _write(topics, "beta.yml", "id: beta\nanswer: [unclosed\n")
    empty = _write(topics, "gamma.yml", "")
    listed = _write(topics, "delta.yml", "- a\n- b\n")
    (topics / "folder.yml").mkdir()
    found = {p.code: p for p in _problems(knowledge_dir)}
    assert found["bad_yaml"].file == broken and found["bad_yaml"].params["line"] == "3"
    assert found["empty_file"] == Problem("empty_file", empty)
    assert found["topic_not_mapping"].file == listed
    assert found["topic_not_mapping"].params["fields"].startswith("id, version, title")
    assert found["unreadable"].file == str(topics / "folder.yml")


def test_no_utility_and_no_topics(knowledge_dir: Path) -> None:
    (knowledge_dir / "utility.yml").unlink()
    (knowledge_dir / "topics" / "alpha.yml").unlink()
    assert _problems(knowledge_dir) == [
        Problem("utility_missing", str(knowledge_dir / "utility.yml"))
    ]
    _write(knowledge_dir, "utility.yml", "name: Stadtwerke Test\n")
    assert _problems(knowledge_dir) == [Problem("no_topics", str(knowledge_dir / "topics"))]


def test_fact_problems(knowledge_dir: Path) -> None:
    facts = knowledge_dir / "facts"
    listed = _write(facts, "list.yml", "- ref\n")
    more = _write(
        facts,
        "more.yml",
        "ref:\n  value: 41\n  unit: ct/kWh\n  check: x\n  source: https://example.org\n"
        "plain: 5\n"
        "odd:\n  value: 1\n  unit: furlongs\n"
        "day:\n  value: 31.12.2023\n  unit: date\n  check: x\n  source: https://example.org\n"
        "word:\n  value: viel\n  unit: ct/kWh\n  source: ftp://example.org\n",
    )
    found = [p for p in _problems(knowledge_dir) if p.file in (listed, more)]
    core = str(facts / "core.yml")
    assert found == [
        Problem("facts_not_mapping", listed),
        Problem("fact_defined_twice", more, params={"fact": "ref", "other_file": core}),
        Problem("fact_not_mapping", more, params={"fact": "plain"}),
        Problem("unknown_unit", more, "unit", params={"fact": "odd", "choices": ", ".join(UNITS)}),
        Problem("bad_date", more, "value", params={"fact": "day", "got": "'31.12.2023'"}),
        Problem("not_a_number", more, "value", params={"fact": "word"}),
        Problem("no_check", more, "check", params={"fact": "word"}),
        Problem("not_url", more, "source", params={"fact": "word"}),
    ]
    assert str(found[4]) == (
        f"{more}: fact 'day': field 'value': expected a date YYYY-MM-DD, got '31.12.2023'"
    )
