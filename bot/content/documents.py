"""Topic documents: the mapping form of a topic shared by files, database and editor API.

A document has exactly the keys of ``knowledge/topics/<id>.yml`` in the file order below, with
dates as ISO strings and texts stripped. ``normalize`` turns a loaded YAML mapping into that
form; ``dump_topic`` writes it back as YAML in one fixed style (stable key order, answer as a
literal block, quotes only where YAML needs them), so ``export`` after ``import`` reproduces
the files byte for byte and an editor's change shows as a minimal git diff.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.errors import KnowledgeError, Problem
from bot.knowledge.loader import TOPIC_FIELDS, _topic, check_topics, load_facts
from bot.knowledge.model import Fact, KnowledgeBase, Topic

# File order of a topic's keys; ``offers_calculation`` is optional and sits before the list
# of questions, which is the longest part of the file.
KEY_ORDER = (
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
    "offers_calculation",
    "facets",
    "questions",
)


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def normalize(data: dict[str, Any]) -> dict[str, Any]:
    """The canonical document of a topic mapping (unknown keys are dropped)."""
    doc: dict[str, Any] = {}
    for key in KEY_ORDER:
        if key not in data:
            continue
        value = data[key]
        if key in ("valid_from", "valid_to", "stand"):
            value = _iso(value)
        elif key in ("title", "answer", "measure", "id"):
            value = _strip(value)
        elif key == "sources" and isinstance(value, list):
            value = [
                {"title": _strip(s.get("title")), "url": _strip(s.get("url"))}
                if isinstance(s, dict)
                else s
                for s in value
            ]
        elif key == "questions" and isinstance(value, list):
            value = [_strip(q) for q in value]
        elif key == "related" and value is None:
            value = []
        elif key == "offers_calculation" and value is False:
            continue  # the default: not written
        elif key == "facets":
            if not value:
                continue  # no facets: not written
            if isinstance(value, dict):
                value = {
                    k: sorted(v) if isinstance(v, list) else v
                    for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
                }
        doc[key] = value
    return doc


def _scalar(value: Any) -> str:
    """One YAML scalar: plain when it reads back identically, else JSON-quoted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text and "\n" not in text and text == text.strip():
        try:
            if yaml.safe_load(f"k: {text}") == {"k": text}:
                return text
        except yaml.YAMLError:
            pass
    return json.dumps(text, ensure_ascii=False)


def _date_scalar(value: Any) -> str:
    if value is None:
        return "null"
    return str(value)  # ISO date, read back by YAML as a date


def dump_topic(doc: dict[str, Any]) -> str:
    """The YAML text of a topic document, in the one style of ``knowledge/topics``."""
    lines: list[str] = []
    for key in KEY_ORDER:
        if key not in doc:
            continue
        value = doc[key]
        if key in ("valid_from", "valid_to", "stand"):
            lines.append(f"{key}: {_date_scalar(value)}")
        elif key == "answer":
            text = str(value)
            if text and all(line == line.rstrip() for line in text.split("\n")):
                lines.append("answer: |")
                lines.extend(f"  {line}" if line else "" for line in text.split("\n"))
            else:
                lines.append(f"answer: {_scalar(text)}")
        elif key == "sources":
            lines.append("sources:")
            for source in value or []:
                lines.append(f"  - title: {_scalar(source.get('title'))}")
                lines.append(f"    url: {_scalar(source.get('url'))}")
        elif key == "related":
            lines.append(f"related: [{', '.join(_scalar(r) for r in value or [])}]")
        elif key == "facets":
            lines.append("facets:")
            for name, values in dict(value).items():
                items = values if isinstance(values, list) else [values]
                lines.append(f"  {name}: [{', '.join(_scalar(v) for v in items)}]")
        elif key == "questions":
            lines.append("questions:")
            lines.extend(f"  - {_scalar(q)}" for q in value or [])
        else:
            lines.append(f"{key}: {_scalar(value)}")
    return "\n".join(lines) + "\n"


def read_topic_file(path: Path) -> dict[str, Any]:
    """The normalized document of one topic file.

    Raises:
        KnowledgeError: the file is not a YAML mapping.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        fields = ", ".join(TOPIC_FIELDS)
        raise KnowledgeError([Problem("topic_not_mapping", str(path), params={"fields": fields})])
    return normalize(data)


def read_topic_files(directory: Path) -> dict[str, dict[str, Any]]:
    """Every ``topics/*.yml`` of a knowledge directory as normalized documents, by id."""
    docs = {}
    for path in sorted((directory / "topics").glob("*.yml")):
        doc = read_topic_file(path)
        docs[str(doc.get("id", path.stem))] = doc
    return docs


def load_facts_and_utility(directory: Path) -> tuple[dict[str, Fact], dict[str, Any]]:
    """``facts/*.yml`` and ``utility.yml`` of a knowledge directory (they stay files).

    Raises:
        KnowledgeError: a fact file or the utility profile is invalid.
    """
    problems: list[Problem] = []
    facts = load_facts((directory / "facts").glob("*.yml"), problems)
    utility_path = directory / "utility.yml"
    utility = (
        yaml.safe_load(utility_path.read_text(encoding="utf-8")) if utility_path.exists() else None
    )
    if not isinstance(utility, dict):
        problems.append(Problem("utility_missing", str(utility_path)))
        utility = {}
    if problems:
        raise KnowledgeError(problems)
    return facts, utility


def to_topic(doc: dict[str, Any], problems: list[Problem]) -> Topic | None:
    """Validate one document (field problems appended to ``problems``, named by field)."""
    topic_id = str(doc.get("id") or "neu")
    return _topic(Path(f"topics/{topic_id}.yml"), doc, problems)


def build_knowledge(
    docs: dict[str, dict[str, Any]], facts: dict[str, Fact], utility: dict[str, Any]
) -> KnowledgeBase:
    """A validated ``KnowledgeBase`` of topic documents plus facts and utility profile.

    Raises:
        KnowledgeError: every problem, each naming the topic file and field.
    """
    problems: list[Problem] = []
    topics: dict[str, Topic] = {}
    for doc in docs.values():
        topic = to_topic(doc, problems)
        if topic is not None:
            topics[topic.id] = topic
    problems.extend(check_topics(topics, facts, utility))
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(topics=topics, facts=facts, utility=utility)


def topic_document(topic: Topic) -> dict[str, Any]:
    """The document of a loaded ``Topic``."""
    return normalize(
        {
            "id": topic.id,
            "version": topic.version,
            "title": topic.title,
            "measure": topic.measure,
            "valid_from": topic.valid_from,
            "valid_to": topic.valid_to,
            "stand": topic.stand,
            "answer": topic.answer,
            "sources": [{"title": s.title, "url": s.url} for s in topic.sources],
            "related": list(topic.related),
            "offers_calculation": topic.offers_calculation,
            "facets": {name: list(values) for name, values in topic.facets},
            "questions": list(topic.questions),
        }
    )


__all__ = [
    "KEY_ORDER",
    "TOPIC_FIELDS",
    "build_knowledge",
    "dump_topic",
    "load_facts_and_utility",
    "normalize",
    "read_topic_file",
    "read_topic_files",
    "to_topic",
    "topic_document",
]
