"""Action-test fixtures: a real rasa-sdk Tracker, CollectingDispatcher and the project domain."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.dependencies import set_knowledge_store
from bot.knowledge.store import FileKnowledgeStore


@pytest.fixture(scope="session")
def domain(repo_root) -> dict[str, Any]:
    """domain.yml as Rasa sends it with each call (the actions read only its responses).

    The action server runs in the application environment, without rasa: the real exchange
    with the Rasa server is tested in tests/channels/test_action_exchange.py and tests/e2e.
    """
    import yaml

    return yaml.safe_load((repo_root / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(autouse=True)
def store(repo_root):
    store = FileKnowledgeStore(repo_root / "knowledge")
    set_knowledge_store(store)
    yield store
    set_knowledge_store(None)


def make_tracker(intent: str, confidence: float = 0.9, ranking=(), slots=None, text="x") -> Tracker:
    ranking = list(ranking) or [(intent, confidence)]
    return Tracker(
        sender_id="test",
        slots={"failed_attempts": 0.0, "last_faq_id": None, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
            "entities": [],
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )
