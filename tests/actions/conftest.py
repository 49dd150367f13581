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
    from rasa.shared.core.domain import Domain

    return Domain.load(str(repo_root / "domain.yml")).as_dict()


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
