"""An editor's published answer reaches customers through the real processes within 5 s.

The test publishes through the content store of the database the running web app and action
server share (the editor UI's own path is covered by the browser test); the customer side is
the real chat API → Rasa → action server → ``DatabaseKnowledgeStore``. No retraining happens.
"""

from __future__ import annotations

import time

import pytest

from bot.chat.db import make_engine, make_sessionmaker
from bot.content import repository as repo
from tests.e2e.test_web import say, start

pytestmark = pytest.mark.slow
TOPIC = "zaehlerstand_melden"
QUESTION = "Wie kann ich meinen Zählerstand melden?"
LIVE_WITHIN_S = 5.0


@pytest.fixture
def content(database_url, knowledge_copy):
    engine = make_engine(database_url)
    sessions = make_sessionmaker(engine)
    editor = repo.Actor(None, "E2E-Redaktion")
    yield sessions, editor, knowledge_copy
    engine.dispose()


def _publish(sessions, editor, knowledge_dir, **changes):
    with sessions.begin() as session:
        doc = {**repo.published(session, TOPIC).data, **changes}
        rev = repo.save_draft(session, topic_id=TOPIC, data=doc, actor=editor)
        rev = repo.submit(session, revision_id=rev.id, actor=editor, knowledge_dir=knowledge_dir)
        return rev.version


def _answer(web_url):
    body = say(web_url, start(web_url), QUESTION)
    return body["messages"][0]


def _wait_for(web_url, predicate):
    started = time.monotonic()
    while True:
        message = _answer(web_url)
        if predicate(message):
            return message, time.monotonic() - started
        if time.monotonic() - started > 3 * LIVE_WITHIN_S:
            return message, time.monotonic() - started
        time.sleep(0.2)


def test_published_answer_is_live_within_5_s_and_rollback_restores_it(web_url, content):
    sessions, editor, knowledge_dir = content
    before = _answer(web_url)
    assert before["faq_id"] == TOPIC
    with sessions() as session:
        old_version = repo.published(session, TOPIC).version
        old_answer = repo.published(session, TOPIC).data["answer"]
    marker = "Neu seit heute: Zählerstände nehmen wir auch im Chat entgegen."
    try:
        published_at = time.monotonic()
        version = _publish(sessions, editor, knowledge_dir, answer=f"{marker}\n{old_answer}")
        message, _ = _wait_for(web_url, lambda m: marker in m["text"])
        took = time.monotonic() - published_at
        assert marker in message["text"], "the published answer never reached the customer"
        assert took <= LIVE_WITHIN_S, f"live after {took:.1f} s"
        assert message["content_version"] == version == old_version + 1
    finally:
        with sessions.begin() as session:
            repo.rollback(session, topic_id=TOPIC, to_version=old_version, actor=editor,
                          knowledge_dir=knowledge_dir)
    message, _ = _wait_for(web_url, lambda m: marker not in m["text"])
    assert marker not in message["text"] and message["faq_id"] == TOPIC
    with sessions() as session:  # an answer change never queues a retraining
        assert repo.training_runs(session) == []
