"""Shared fixtures: paths, the real knowledge base, trackers for action tests."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("SHARED_DIR", REPO_ROOT.parent / "shared"))
MODEL_PATH = REPO_ROOT / "models" / "assistant.tar.gz"


def pytest_ignore_collect(collection_path: Path) -> bool | None:
    """Collect only the tests of the environment pytest runs in (bot/environments.py).

    ``make test`` runs pytest once in each environment; the two runs together cover tests/.
    """
    from bot.environments import current, environments_of_test

    tests = Path(__file__).resolve().parent
    if collection_path == tests or tests not in collection_path.parents:
        return None
    relative = collection_path.relative_to(tests).as_posix()
    if collection_path.is_dir() and any(
        prefix.startswith(relative + "/") for prefix in _test_prefixes()
    ):
        return None  # a directory holding tests of both environments
    return True if current() not in environments_of_test(relative) else None


def _test_prefixes() -> list[str]:
    from bot.environments import TEST_PATHS

    return [prefix for prefix in TEST_PATHS if prefix]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    assert SHARED_DIR.is_dir(), (
        f"the steering repo's shared/ must be beside the clone ({SHARED_DIR}); "
        "set SHARED_DIR to point elsewhere"
    )
    return SHARED_DIR


@pytest.fixture(scope="session")
def kb():
    from bot.knowledge import load_knowledge

    return load_knowledge(REPO_ROOT / "knowledge")


@pytest.fixture(scope="session")
def model_path() -> Path:
    assert MODEL_PATH.exists(), "train the model first (make train)"
    return MODEL_PATH


def topic_yaml(topic_id: str, **overrides: Any) -> str:
    """A valid topic file, with fields overridden (value None removes the field)."""
    questions = [
        f"Frage Nummer {word} zum Thema {topic_id}?"
        for word in (
            "eins",
            "zwei",
            "drei",
            "vier",
            "fuenf",
            "sechs",
            "sieben",
            "acht",
            "neun",
            "zehn",
            "elf",
            "zwoelf",
        )
    ]
    fields: dict[str, Any] = {
        "id": topic_id,
        "version": 1,
        "title": f"Titel {topic_id}",
        "measure": "preisbremsen",
        "valid_from": "2023-01-01",
        "valid_to": "2023-12-31",
        "stand": "2026-11-21",
        "answer": "Der Referenzpreis lag bei {{ref}}. Siehe [Kontakt]({{utility.contact_url}}).",
        "sources": [{"title": "Quelle", "url": "https://example.org/quelle"}],
        "related": [],
        "questions": questions,
    }
    fields.update(overrides)
    import yaml

    return yaml.safe_dump({k: v for k, v in fields.items() if v is not None}, allow_unicode=True)


@pytest.fixture
def knowledge_dir(tmp_path: Path) -> Path:
    """A minimal valid knowledge directory with one topic ``alpha``; tests add files."""
    (tmp_path / "facts").mkdir()
    (tmp_path / "topics").mkdir()
    (tmp_path / "facts" / "core.yml").write_text(
        textwrap.dedent(
            """\
            ref:
              value: 40
              unit: ct/kWh
              check: "reference price **40 ct/kWh"
              source: https://example.org/ref
            end:
              value: 2023-12-31
              unit: date
              check: "31.12.2023"
              source: https://example.org/end
            """
        ),
        encoding="utf-8",
    )
    (tmp_path / "utility.yml").write_text(
        "name: Stadtwerke Test\nphone: 0800 000\ncontact_url: /kontakt\n", encoding="utf-8"
    )
    (tmp_path / "topics" / "alpha.yml").write_text(topic_yaml("alpha"), encoding="utf-8")
    return tmp_path
