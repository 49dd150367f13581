"""Rasa 3.6 (this environment) and the action server (rasa-sdk's current line, the application
environment) over the real webhook: the action server runs as its own process, Rasa's
``RemoteAction`` calls it with the token and turns its answer into bot messages.
"""

from __future__ import annotations

import uuid

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.devserver import action_server
from channels.rest_with_metadata import MetadataCollectingOutputChannel
from tests.slots import port

ACTION_PORT = port(15255)
TOKEN = f"exchange-{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def actions_url(repo_root, tmp_path_factory):
    log = tmp_path_factory.mktemp("actions") / "actions.log"
    service = action_server(ACTION_PORT, log_path=log, extra_env={
        "ACTION_SERVER_TOKEN": TOKEN, "DATABASE_URL": "sqlite://",
    }).start()
    try:
        service.wait_ready(60)
        yield f"http://127.0.0.1:{ACTION_PORT}/webhook"
    finally:
        service.stop()


@pytest.fixture(scope="module")
def domain(repo_root) -> Domain:
    return Domain.load(str(repo_root / "domain.yml"))


def tracker_after(domain: Domain, intent: str, confidence: float) -> DialogueStateTracker:
    tracker = DialogueStateTracker(f"exchange-{uuid.uuid4().hex[:8]}", domain.slots)
    tracker.update(UserUttered(
        "x", intent={"name": intent, "confidence": confidence},
        parse_data={"intent": {"name": intent, "confidence": confidence},
                    "intent_ranking": [{"name": intent, "confidence": confidence}],
                    "entities": [], "text": "x"},
    ))
    return tracker


async def run_action(url: str, domain: Domain, tracker: DialogueStateTracker, token: str):
    endpoint = EndpointConfig(url, headers={"Authorization": f"Bearer {token}"})
    channel = MetadataCollectingOutputChannel()
    events = await RemoteAction("action_answer_question", endpoint).run(
        channel, TemplatedNaturalLanguageGenerator(domain.responses), tracker, domain
    )
    for event in events:  # what Rasa's processor does with the action's BotUttered events
        message = getattr(event, "message", None)
        if callable(message):
            await channel.send_response(tracker.sender_id, message())
    return events, channel.messages


async def test_answer_and_fallback_markers_reach_the_channel(actions_url, domain):
    _, [fallback] = await run_action(
        actions_url, domain, tracker_after(domain, "out_of_scope", 0.97), TOKEN
    )
    assert fallback["text"] == domain.responses["utter_fallback"][0]["text"]
    assert fallback["metadata"]["decision"] == "fallback"
    assert "faq_id" not in fallback["metadata"]

    events, messages = await run_action(
        actions_url, domain, tracker_after(domain, "faq_mwst_ende", 0.9), TOKEN
    )
    answer = messages[0]
    assert answer["metadata"]["faq_id"] == "mwst_ende"
    assert "decision" not in answer["metadata"]
    assert answer["text"].strip()
    assert any(getattr(e, "key", None) == "last_faq_id" and e.value == "mwst_ende" for e in events)


async def test_the_action_server_refuses_rasa_without_its_token(actions_url, domain):
    from rasa.shared.exceptions import RasaException
    from rasa.utils.endpoints import ClientResponseError

    with pytest.raises(RasaException) as caught:
        await run_action(
            actions_url, domain, tracker_after(domain, "faq_mwst_ende", 0.9), "wrong-token"
        )
    cause = caught.value.__cause__
    assert isinstance(cause, ClientResponseError) and cause.status == 401
