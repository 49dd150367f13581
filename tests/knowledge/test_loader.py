"""The knowledge loader reports each problem with its file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge import KnowledgeError, load_knowledge
from tests.conftest import topic_yaml


def _problems(directory: Path) -> list[str]:
    """The English messages of every problem (``python -m bot check`` prints them)."""
    with pytest.raises(KnowledgeError) as info:
        load_knowledge(directory)
    return [str(problem) for problem in info.value.problems]


def test_valid_directory_loads(knowledge_dir: Path) -> None:
    kb = load_knowledge(knowledge_dir)
    assert list(kb.topics) == ["alpha"]
    assert kb.topics["alpha"].version == 1
    assert kb.facts["ref"].unit == "ct/kWh"


def test_malformed_yaml_names_file_and_line(knowledge_dir: Path) -> None:
    bad = knowledge_dir / "topics" / "beta.yml"
    bad.write_text("id: beta\nanswer: [unclosed\n", encoding="utf-8")
    problems = _problems(knowledge_dir)
    assert len(problems) == 1
    assert "beta.yml" in problems[0] and "malformed YAML" in problems[0] and "line" in problems[0]


def test_missing_answer_names_field(knowledge_dir: Path) -> None:
    (knowledge_dir / "topics" / "beta.yml").write_text(topic_yaml("beta", answer=None))
    problems = _problems(knowledge_dir)
    assert problems == [f"{knowledge_dir / 'topics' / 'beta.yml'}: field 'answer' is missing"]


def test_id_must_match_file_name(knowledge_dir: Path) -> None:
    # Two files claiming the same id: the second one's id does not match its file name.
    (knowledge_dir / "topics" / "beta.yml").write_text(topic_yaml("alpha"))
    problems = _problems(knowledge_dir)
    assert any("beta.yml" in p and "field 'id'" in p for p in problems)


def test_question_in_two_topics_names_both(knowledge_dir: Path) -> None:
    questions = [f"Eine ganz andere Frage {i}?" for i in range(11)] + [
        "Frage Nummer eins zum Thema alpha?"
    ]
    (knowledge_dir / "topics" / "beta.yml").write_text(topic_yaml("beta", questions=questions))
    problems = _problems(knowledge_dir)
    assert len(problems) == 1
    assert "beta.yml" in problems[0] and "'alpha'" in problems[0] and "questions" in problems[0]


def test_duplicate_question_across_spellings(knowledge_dir: Path) -> None:
    # "Grundpreis Änderung" and "grundpreis aenderung!" are the same question.
    q = [f"Noch eine Frage {i}?" for i in range(11)]
    (knowledge_dir / "topics" / "beta.yml").write_text(
        topic_yaml("beta", questions=[*q, "Grundpreis Änderung"])
    )
    (knowledge_dir / "topics" / "gamma.yml").write_text(
        topic_yaml(
            "gamma", questions=[f"Gamma {i}?" for i in range(11)] + ["grundpreis aenderung!"]
        )
    )
    problems = _problems(knowledge_dir)
    assert any("gamma.yml" in p and "'beta'" in p for p in problems)


def test_too_few_questions(knowledge_dir: Path) -> None:
    (knowledge_dir / "topics" / "beta.yml").write_text(
        topic_yaml("beta", questions=["Nur eine Frage?"])
    )
    problems = _problems(knowledge_dir)
    assert any("beta.yml" in p and "1 variants, at least 12" in p for p in problems)


def test_unknown_placeholder_and_literal_digits(knowledge_dir: Path) -> None:
    (knowledge_dir / "topics" / "beta.yml").write_text(
        topic_yaml("beta", answer="Es gab {{gibtsnicht}} und 40 ct pro kWh.")
    )
    problems = _problems(knowledge_dir)
    assert any("unknown placeholder {{gibtsnicht}}" in p for p in problems)
    assert any("figure '40'" in p for p in problems)


def test_digits_in_link_targets_are_allowed(knowledge_dir: Path) -> None:
    (knowledge_dir / "topics" / "beta.yml").write_text(
        topic_yaml("beta", answer="Siehe [Gesetz](https://example.org/par4) und {{end:long}}.")
    )
    kb = load_knowledge(knowledge_dir)
    assert "beta" in kb.topics


def test_unknown_related_topic(knowledge_dir: Path) -> None:
    (knowledge_dir / "topics" / "beta.yml").write_text(topic_yaml("beta", related=["nope"]))
    problems = _problems(knowledge_dir)
    assert any("beta.yml" in p and "field 'related'" in p and "'nope'" in p for p in problems)


def test_bad_dates_and_version(knowledge_dir: Path) -> None:
    (knowledge_dir / "topics" / "beta.yml").write_text(
        topic_yaml("beta", valid_to="31.12.2023", version=0)
    )
    problems = _problems(knowledge_dir)
    assert any("field 'valid_to'" in p and "YYYY-MM-DD" in p for p in problems)
    assert any("field 'version'" in p for p in problems)


def test_fact_defined_twice_names_both_files(knowledge_dir: Path) -> None:
    (knowledge_dir / "facts" / "more.yml").write_text(
        "ref:\n  value: 41\n  unit: ct/kWh\n  check: x\n  source: https://example.org\n"
    )
    problems = _problems(knowledge_dir)
    assert any("more.yml" in p and "'ref'" in p and "core.yml" in p for p in problems)


def test_empty_topic_file(knowledge_dir: Path) -> None:
    (knowledge_dir / "topics" / "beta.yml").write_text("")
    problems = _problems(knowledge_dir)
    assert problems == [f"{knowledge_dir / 'topics' / 'beta.yml'}: file is empty"]


# ---- facets (issue 16) -----------------------------------------------------------------------


def _reword(text: str, topic_id: str) -> str:
    return text.replace("zum Thema alpha", f"zum Thema {topic_id}")


def test_facets_load_sorted(knowledge_dir: Path) -> None:
    path = knowledge_dir / "topics" / "alpha.yml"
    path.write_text(topic_yaml("alpha", facets={"energy": ["strom", "gas"]}), encoding="utf-8")
    topic = load_knowledge(knowledge_dir).topics["alpha"]
    assert topic.facet("energy") == ("gas", "strom")
    assert topic.facet("measure") == ("preisbremsen",)
    assert topic.facet("audience") == ()


@pytest.mark.parametrize(
    ("facets", "needle"),
    [
        ({"colour": ["rot"]}, "unknown facet 'colour'"),
        ({"energy": ["kohle"]}, "facet 'energy' takes values from"),
        ("strom", "must map facet names"),
    ],
)
def test_bad_facets_are_named(knowledge_dir: Path, facets, needle) -> None:
    path = knowledge_dir / "topics" / "alpha.yml"
    path.write_text(topic_yaml("alpha", facets=facets), encoding="utf-8")
    problems = _problems(knowledge_dir)
    assert any("alpha.yml" in p and needle in p for p in problems), problems


def test_identical_facets_in_one_measure_are_refused(knowledge_dir: Path) -> None:
    facets = {"audience": ["mieter"]}
    (knowledge_dir / "topics" / "alpha.yml").write_text(
        topic_yaml("alpha", facets=facets), encoding="utf-8"
    )
    (knowledge_dir / "topics" / "beta.yml").write_text(
        topic_yaml("beta", facets=facets), encoding="utf-8"
    )
    problems = _problems(knowledge_dir)
    assert any("beta.yml" in p and "'alpha'" in p and "could not tell" in p for p in problems)
