"""Load and validate ``knowledge/``: topics, facts and the utility profile.

Every problem is collected with the file and field it concerns and raised together as one
``KnowledgeError``: malformed YAML, missing or mistyped fields, duplicate ids, a question in
two topics, unknown placeholders, digits in an answer outside placeholders.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.errors import KnowledgeError
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


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problems.append(f"{path}: malformed YAML{where}: {getattr(exc, 'problem', exc)}")
    except OSError as exc:
        problems.append(f"{path}: cannot be read: {exc}")
    return None


def _date(value: Any, where: str, problems: list[str], *, optional: bool) -> date | None:
    if value is None and optional:
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems.append(f"{where}: expected a date YYYY-MM-DD, got {value!r}")
    return None


def _text(value: Any, where: str, problems: list[str]) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: must be a non-empty text")
        return ""
    return value.strip()


def load_facts(paths: Iterable[Path], problems: list[str]) -> dict[str, Fact]:
    """Load ``facts/*.yml``; a name defined twice is an error naming both files."""
    facts: dict[str, Fact] = {}
    for path in sorted(paths):
        data = _read_yaml(path, problems)
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(f"{path}: expected a mapping of fact names")
            continue
        for name, spec in data.items():
            where = f"{path}: fact {name!r}"
            if name in facts:
                problems.append(f"{where}: already defined in {facts[name].path}")
                continue
            if not isinstance(spec, dict):
                problems.append(f"{where}: expected a mapping with value, unit, check, source")
                continue
            unit = spec.get("unit")
            if unit not in UNITS:
                problems.append(f"{where}: field 'unit' must be one of {', '.join(UNITS)}")
                continue
            raw = spec.get("value")
            value: Decimal | date | None
            if unit == "date":
                value = _date(raw, f"{where} field 'value'", problems, optional=False)
            elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
                try:
                    value = Decimal(str(raw))
                except InvalidOperation:  # pragma: no cover - str(float) is always valid
                    value = None
            else:
                problems.append(f"{where}: field 'value' must be a number")
                value = None
            check = spec.get("check")
            source = spec.get("source")
            if not isinstance(check, str) or not check.strip():
                problems.append(f"{where}: field 'check' (a snippet of the domain source) missing")
            if not isinstance(source, str) or not source.startswith("http"):
                problems.append(f"{where}: field 'source' must be a URL")
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


def _topic(path: Path, data: Any, problems: list[str]) -> Topic | None:
    if not isinstance(data, dict):
        problems.append(f"{path}: expected a mapping with the fields {', '.join(TOPIC_FIELDS)}")
        return None
    before = len(problems)
    for name in TOPIC_FIELDS:
        if name not in data:
            problems.append(f"{path}: field {name!r} is missing")
    if len(problems) > before:
        return None
    topic_id = data["id"]
    if topic_id != path.stem:
        problems.append(f"{path}: field 'id' is {topic_id!r} but must equal the file name")
    version = data["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        problems.append(f"{path}: field 'version' must be a positive integer")
    if data["measure"] not in MEASURES:
        problems.append(f"{path}: field 'measure' must be one of {', '.join(MEASURES)}")
    sources: list[Source] = []
    if not isinstance(data["sources"], list) or not data["sources"]:
        problems.append(f"{path}: field 'sources' must list at least one source")
    else:
        for i, src in enumerate(data["sources"]):
            if not isinstance(src, dict) or not src.get("title") or not src.get("url"):
                problems.append(f"{path}: field 'sources[{i}]' needs 'title' and 'url'")
            else:
                sources.append(Source(title=str(src["title"]), url=str(src["url"])))
    related = data["related"] or []
    if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
        problems.append(f"{path}: field 'related' must be a list of topic ids")
        related = []
    questions = data["questions"]
    if not isinstance(questions, list) or not all(
        isinstance(q, str) and q.strip() for q in questions
    ):
        problems.append(f"{path}: field 'questions' must be a list of non-empty texts")
        questions = []
    valid_from = _date(data["valid_from"], f"{path}: field 'valid_from'", problems, optional=True)
    valid_to = _date(data["valid_to"], f"{path}: field 'valid_to'", problems, optional=True)
    stand = _date(data["stand"], f"{path}: field 'stand'", problems, optional=False)
    if valid_from and valid_to and valid_from > valid_to:
        problems.append(f"{path}: field 'valid_to' is before 'valid_from'")
    offers = data.get("offers_calculation", False)
    if not isinstance(offers, bool):
        problems.append(f"{path}: field 'offers_calculation' must be true or false")
    facets = _facets(data.get("facets"), f"{path}: field 'facets'", problems)
    if len(problems) > before or stand is None:
        return None
    return Topic(
        id=str(topic_id),
        version=int(version),
        title=_text(data["title"], f"{path}: field 'title'", problems),
        measure=str(data["measure"]),
        valid_from=valid_from,
        valid_to=valid_to,
        stand=stand,
        answer=_text(data["answer"], f"{path}: field 'answer'", problems),
        sources=tuple(sources),
        related=tuple(related),
        questions=tuple(q.strip() for q in questions),
        offers_calculation=bool(offers),
        facets=facets,
        path=path,
    )


def _facets(value: Any, where: str, problems: list[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``facets: {energy: [gas], aspect: [zeitraum]}`` as sorted pairs; problems collected."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        problems.append(f"{where} must map facet names ({', '.join(FACETS)}) to lists of values")
        return ()
    pairs = []
    for name, values in value.items():
        if name not in FACETS:
            problems.append(f"{where}: unknown facet {name!r} (known: {', '.join(FACETS)})")
            continue
        items = values if isinstance(values, list) else [values]
        unknown = [v for v in items if v not in FACETS[name]]
        if unknown or not items:
            problems.append(f"{where}: facet {name!r} takes values from {', '.join(FACETS[name])}")
            continue
        pairs.append((str(name), tuple(sorted(set(items)))))
    return tuple(sorted(pairs))


def facet_clashes(topics: dict[str, Topic]) -> list[str]:
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
                f"{topic.path}: field 'facets' is the same as in topic {seen[key]!r} "
                f"(measure {topic.measure!r}); a follow-up could not tell them apart"
            )
        else:
            seen[key] = topic.id
    return problems


def check_topics(
    topics: dict[str, Topic], facts: dict[str, Fact], utility: dict[str, Any]
) -> list[str]:
    """Cross-topic checks: question counts and duplicates, placeholders, digits, related ids."""
    problems: list[str] = facet_clashes(topics)
    owner: dict[str, str] = {}
    for topic in topics.values():
        where = f"{topic.path}"
        if len(topic.questions) < MIN_QUESTIONS:
            problems.append(
                f"{where}: field 'questions' has {len(topic.questions)} variants, "
                f"at least {MIN_QUESTIONS} are required"
            )
        for question in topic.questions:
            key = question_key(question)
            other = owner.get(key)
            if other == topic.id:
                problems.append(f"{where}: field 'questions' lists {question!r} twice")
            elif other is not None:
                problems.append(
                    f"{where}: field 'questions': {question!r} is also a question of topic "
                    f"{other!r} (knowledge/topics/{other}.yml)"
                )
            else:
                owner[key] = topic.id
        for bad in unknown_placeholders(topic.answer, facts, utility):
            problems.append(f"{where}: field 'answer': unknown placeholder {bad}")
        for fragment in digits_outside_placeholders(topic.answer):
            problems.append(
                f"{where}: field 'answer': figure {fragment!r} must come from knowledge/facts "
                "as a placeholder"
            )
        for rel in topic.related:
            if rel not in topics:
                problems.append(f"{where}: field 'related': unknown topic {rel!r}")
    return problems


def load_knowledge(directory: Path) -> KnowledgeBase:
    """Load and validate a knowledge directory.

    Raises:
        KnowledgeError: listing every problem, each with its file and field.
    """
    problems: list[str] = []
    facts = load_facts((directory / "facts").glob("*.yml"), problems)
    utility_path = directory / "utility.yml"
    utility = _read_yaml(utility_path, problems) if utility_path.exists() else None
    if not isinstance(utility, dict):
        problems.append(f"{utility_path}: missing or not a mapping")
        utility = {}
    topics: dict[str, Topic] = {}
    for path in sorted((directory / "topics").glob("*.yml")):
        before = len(problems)
        data = _read_yaml(path, problems)
        if len(problems) > before:
            continue
        if data is None:
            problems.append(f"{path}: file is empty")
            continue
        topic = _topic(path, data, problems)
        if topic is None:
            continue
        if topic.id in topics:
            problems.append(f"{path}: field 'id': {topic.id!r} already defined")
            continue
        topics[topic.id] = topic
    if not topics and not problems:
        problems.append(f"{directory / 'topics'}: no topics found")
    problems.extend(check_topics(topics, facts, utility))
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(topics=topics, facts=facts, utility=utility)
