"""Load and validate ``knowledge/``: topics, facts and the utility profile.

Every problem is collected as a ``Problem`` (a code with the file and field it concerns, see
``bot.knowledge.errors``) and raised together as one ``KnowledgeError``: malformed YAML, missing
or mistyped fields, duplicate ids, a question in two topics, unknown placeholders, digits in an
answer outside placeholders.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.errors import Code, KnowledgeError, Problem
from bot.knowledge.model import (
    FACETS,
    MEASURES,
    MIN_QUESTIONS,
    UNITS,
    Fact,
    KnowledgeBase,
    Source,
    Topic,
)
from bot.knowledge.render import digits_outside_placeholders, unknown_placeholders
from bot.nlu.normalize import question_key

TOPIC_FIELDS = (
    "id",
    "version",
    "title",
    "measure",
    "valid_from",
    "valid_to",
    "stand",
    "answer",
    "sources",
    "related",
    "questions",
)


def _read_yaml(path: Path, problems: list[Problem]) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        params = {"detail": str(getattr(exc, "problem", exc))}
        if mark is not None:
            params["line"] = str(mark.line + 1)
        problems.append(Problem("bad_yaml", str(path), params=params))
    except OSError as exc:
        problems.append(Problem("unreadable", str(path), params={"detail": str(exc)}))
    return None


def _date(
    value: Any,
    problems: list[Problem],
    *,
    file: str,
    field: str,
    optional: bool,
    fact: str | None = None,
) -> date | None:
    if value is None and optional:
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    params = {"got": repr(value)} if fact is None else {"got": repr(value), "fact": fact}
    problems.append(Problem("bad_date", file, field, params=params))
    return None


def _text(value: Any, file: str, field: str, problems: list[Problem]) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.append(Problem("empty_text", file, field))
        return ""
    return value.strip()


def load_facts(paths: Iterable[Path], problems: list[Problem]) -> dict[str, Fact]:
    """Load ``facts/*.yml``; a name defined twice is an error naming both files."""
    facts: dict[str, Fact] = {}
    for path in sorted(paths):
        file = str(path)
        data = _read_yaml(path, problems)
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(Problem("facts_not_mapping", file))
            continue
        for name, spec in data.items():
            fact = {"fact": str(name)}
            if name in facts:
                problems.append(
                    Problem(
                        "fact_defined_twice",
                        file,
                        params={**fact, "other_file": str(facts[name].path)},
                    )
                )
                continue
            if not isinstance(spec, dict):
                problems.append(Problem("fact_not_mapping", file, params=fact))
                continue
            unit = spec.get("unit")
            if unit not in UNITS:
                problems.append(
                    Problem(
                        "unknown_unit", file, "unit", params={**fact, "choices": ", ".join(UNITS)}
                    )
                )
                continue
            raw = spec.get("value")
            value: Decimal | date | None
            if unit == "date":
                value = _date(
                    raw, problems, file=file, field="value", optional=False, fact=str(name)
                )
            elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
                try:
                    value = Decimal(str(raw))
                except InvalidOperation:  # pragma: no cover - str(float) is always valid
                    value = None
            else:
                problems.append(Problem("not_a_number", file, "value", params=fact))
                value = None
            check = spec.get("check")
            source = spec.get("source")
            if not isinstance(check, str) or not check.strip():
                problems.append(Problem("no_check", file, "check", params=fact))
            if not isinstance(source, str) or not source.startswith("http"):
                problems.append(Problem("not_url", file, "source", params=fact))
            if value is None:
                continue
            facts[name] = Fact(
                name=name,
                value=value,
                unit=unit,
                check=str(check or ""),
                source=str(source or ""),
                path=path,
            )
    return facts


def _topic(path: Path, data: Any, problems: list[Problem]) -> Topic | None:
    file = str(path)

    def add(code: Code, field: str, index: int | None = None, /, **params: str) -> None:
        problems.append(Problem(code, file, field, index, params))

    if not isinstance(data, dict):
        problems.append(
            Problem("topic_not_mapping", file, params={"fields": ", ".join(TOPIC_FIELDS)})
        )
        return None
    before = len(problems)
    for name in TOPIC_FIELDS:
        if name not in data:
            add("missing", name)
    if len(problems) > before:
        return None
    topic_id = data["id"]
    if topic_id != path.stem:
        add("id_mismatch", "id", value=str(topic_id))
    version = data["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        add("not_positive_int", "version")
    if data["measure"] not in MEASURES:
        add("unknown_measure", "measure", choices=", ".join(MEASURES))
    sources: list[Source] = []
    if not isinstance(data["sources"], list) or not data["sources"]:
        add("no_sources", "sources")
    else:
        for i, src in enumerate(data["sources"]):
            if not isinstance(src, dict) or not src.get("title") or not src.get("url"):
                add("source_incomplete", "sources", i)
            else:
                sources.append(Source(title=str(src["title"]), url=str(src["url"])))
    related = data["related"] or []
    if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
        add("related_not_list", "related")
        related = []
    questions = data["questions"]
    if not isinstance(questions, list) or not all(
        isinstance(q, str) and q.strip() for q in questions
    ):
        add("questions_not_texts", "questions")
        questions = []

    def when(field: str, *, optional: bool) -> date | None:
        return _date(data[field], problems, file=file, field=field, optional=optional)

    valid_from = when("valid_from", optional=True)
    valid_to = when("valid_to", optional=True)
    stand = when("stand", optional=False)
    if valid_from and valid_to and valid_from > valid_to:
        add("valid_to_before_from", "valid_to")
    offers = data.get("offers_calculation", False)
    if not isinstance(offers, bool):
        add("not_bool", "offers_calculation")
    facets = _facets(data.get("facets"), file, problems)
    if len(problems) > before or stand is None:
        return None
    return Topic(
        id=str(topic_id),
        version=int(version),
        title=_text(data["title"], file, "title", problems),
        measure=str(data["measure"]),
        valid_from=valid_from,
        valid_to=valid_to,
        stand=stand,
        answer=_text(data["answer"], file, "answer", problems),
        sources=tuple(sources),
        related=tuple(related),
        questions=tuple(q.strip() for q in questions),
        offers_calculation=bool(offers),
        facets=facets,
        path=path,
    )


def _facets(
    value: Any, file: str, problems: list[Problem]
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``facets: {energy: [gas], aspect: [zeitraum]}`` as sorted pairs; problems collected."""
    if value is None:
        return ()
    known = ", ".join(FACETS)
    if not isinstance(value, dict):
        problems.append(Problem("facets_not_mapping", file, "facets", params={"choices": known}))
        return ()
    pairs = []
    for name, values in value.items():
        if name not in FACETS:
            problems.append(
                Problem(
                    "unknown_facet", file, "facets", params={"facet": str(name), "choices": known}
                )
            )
            continue
        items = values if isinstance(values, list) else [values]
        unknown = [v for v in items if v not in FACETS[name]]
        if unknown or not items:
            problems.append(
                Problem(
                    "facet_value",
                    file,
                    "facets",
                    params={"facet": str(name), "choices": ", ".join(FACETS[name])},
                )
            )
            continue
        pairs.append((str(name), tuple(sorted(set(items)))))
    return tuple(sorted(pairs))


def facet_clashes(topics: dict[str, Topic]) -> list[Problem]:
    """Topics whose facets are identical within one measure.

    A follow-up could not tell them apart ("und für Mieter?" must lead to one topic); the
    problem names both topics.
    """
    seen: dict[tuple[str, Any], str] = {}
    problems = []
    for topic in sorted(topics.values(), key=lambda t: t.id):
        if not topic.facets:
            continue
        key = (topic.measure, topic.facets)
        if key in seen:
            problems.append(
                Problem(
                    "same_facets",
                    str(topic.path),
                    "facets",
                    params={"other": seen[key], "measure": topic.measure},
                )
            )
        else:
            seen[key] = topic.id
    return problems


def check_topics(
    topics: dict[str, Topic], facts: dict[str, Fact], utility: dict[str, Any]
) -> list[Problem]:
    """Cross-topic checks: question counts and duplicates, placeholders, digits, related ids."""
    problems: list[Problem] = facet_clashes(topics)
    owner: dict[str, str] = {}

    def add(topic: Topic, code: Code, field: str, /, **params: str) -> None:
        problems.append(Problem(code, str(topic.path), field, params=params))

    for topic in topics.values():
        if len(topic.questions) < MIN_QUESTIONS:
            count, minimum = str(len(topic.questions)), str(MIN_QUESTIONS)
            add(topic, "too_few_questions", "questions", count=count, minimum=minimum)
        for question in topic.questions:
            key = question_key(question)
            other = owner.get(key)
            if other == topic.id:
                add(topic, "duplicate_question", "questions", question=question)
            elif other is not None:
                add(topic, "question_taken", "questions", question=question, other=other)
            else:
                owner[key] = topic.id
        for bad in unknown_placeholders(topic.answer, facts, utility):
            add(topic, "unknown_placeholder", "answer", placeholder=bad)
        for fragment in digits_outside_placeholders(topic.answer):
            add(topic, "figure_not_placeholder", "answer", figure=fragment)
        for rel in topic.related:
            if rel not in topics:
                add(topic, "unknown_related", "related", topic=rel)
    return problems


def load_knowledge(directory: Path) -> KnowledgeBase:
    """Load and validate a knowledge directory.

    Raises:
        KnowledgeError: listing every problem, each with its file and field.
    """
    problems: list[Problem] = []
    facts = load_facts((directory / "facts").glob("*.yml"), problems)
    utility_path = directory / "utility.yml"
    utility = _read_yaml(utility_path, problems) if utility_path.exists() else None
    if not isinstance(utility, dict):
        problems.append(Problem("utility_missing", str(utility_path)))
        utility = {}
    topics: dict[str, Topic] = {}
    for path in sorted((directory / "topics").glob("*.yml")):
        before = len(problems)
        data = _read_yaml(path, problems)
        if len(problems) > before:
            continue
        if data is None:
            problems.append(Problem("empty_file", str(path)))
            continue
        topic = _topic(path, data, problems)
        if topic is not None:  # its id is its file name (checked), so ids are unique
            topics[topic.id] = topic
    if not topics and not problems:
        problems.append(Problem("no_topics", str(directory / "topics")))
    problems.extend(check_topics(topics, facts, utility))
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(topics=topics, facts=facts, utility=utility)
