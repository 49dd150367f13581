"""The file store serves edited answers without retraining, checking files at most once a second."""

from __future__ import annotations

from datetime import date

from bot.knowledge.store import FileKnowledgeStore
from tests.conftest import topic_yaml


class Clock:
    now = 0.0

    def __call__(self):
        return self.now


def test_edited_answer_is_live_after_the_check_interval(knowledge_dir):
    clock = Clock()
    store = FileKnowledgeStore(knowledge_dir, check_interval_s=1.0, clock=clock)
    assert store.answer("alpha", date(2026, 11, 21)).content_version == 1
    (knowledge_dir / "topics" / "alpha.yml").write_text(
        topic_yaml("alpha", version=2, answer="Neu: {{ref}}."), encoding="utf-8"
    )
    clock.now = 0.5  # within the interval: still the cached content
    assert store.answer("alpha", date(2026, 11, 21)).content_version == 1
    clock.now = 1.5
    answer = store.answer("alpha", date(2026, 11, 21))
    assert answer.content_version == 2 and answer.text.startswith("Neu: 40 ct/kWh.")


def test_invalid_edit_keeps_serving_the_last_valid_content(knowledge_dir):
    clock = Clock()
    store = FileKnowledgeStore(knowledge_dir, clock=clock)
    store.knowledge()
    (knowledge_dir / "topics" / "alpha.yml").write_text("answer: [broken", encoding="utf-8")
    clock.now = 5
    assert store.knowledge().topics["alpha"].version == 1
