"""Replayed retries and action-server failover (``channels/replicas.py``)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiohttp import web
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from channels import replicas
from channels.rest_with_metadata import MetadataCollectingOutputChannel

EVENTS = [
    ActionExecuted("action_listen"),
    UserUttered("Hallo", message_id="k:1"),
    BotUttered("Guten Tag!", metadata={"utter_action": "utter_greet"}),
    ActionExecuted("action_listen"),
    UserUttered("Gaspreisbremse?", message_id="k:2"),
    BotUttered("Die Gaspreisbremse …", data={"buttons": [{"title": "Mehr", "payload": "/x"}]},
               metadata={"faq_id": "gaspreisbremse", "content_version": 3}),
    BotUttered("War das hilfreich?"),
    ActionExecuted("action_listen"),
]


def test_answered_before_finds_the_bot_messages_of_a_turn():
    assert [b.text for b in replicas.answered_before(EVENTS, "k:1")] == ["Guten Tag!"]
    assert [b.text for b in replicas.answered_before(EVENTS, "k:2")] == [
        "Die Gaspreisbremse …", "War das hilfreich?"]
    assert replicas.answered_before(EVENTS, "k:3") is None


@pytest.fixture
def processor(monkeypatch):
    store = InMemoryTrackerStore(Domain.empty())
    asyncio.run(store.save(DialogueStateTracker.from_events("k", EVENTS)))
    handled = []

    async def rasa_handles(self, message):
        handled.append(message.text)
        await message.output_channel.send_response(message.sender_id, {"text": "neu"})
        return message.output_channel.messages

    monkeypatch.setattr(replicas, "_rasa_handle_message", rasa_handles)
    return SimpleNamespace(tracker_store=store, handled=handled)


def message(text, message_id, retry):
    return UserMessage(text, MetadataCollectingOutputChannel(), "k", message_id=message_id,
                       metadata={"retry": True} if retry else {})


async def test_a_retry_of_a_handled_turn_replays_its_answers(processor):
    out = await replicas._handle_message(processor, message("Gaspreisbremse?", "k:2", True))
    assert [m["text"] for m in out] == ["Die Gaspreisbremse …", "War das hilfreich?"]
    assert out[0]["buttons"] == [{"title": "Mehr", "payload": "/x"}]
    # with their metadata, as the channel returns them the first time
    assert out[0]["metadata"] == {"faq_id": "gaspreisbremse", "content_version": 3}
    assert processor.handled == []


async def test_a_retry_of_an_unhandled_turn_is_handled(processor):
    out = await replicas._handle_message(processor, message("Und Strom?", "k:3", True))
    assert [m["text"] for m in out] == ["neu"] and processor.handled == ["Und Strom?"]


async def test_a_first_attempt_is_handled_without_looking_at_the_tracker(processor):
    processor.tracker_store = None  # would fail if it were used
    out = await replicas._handle_message(processor, message("Gaspreisbremse?", "k:2", False))
    assert [m["text"] for m in out] == ["neu"]


async def _server(handler):
    app = web.Application()
    app.router.add_post("/webhook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/webhook"


async def test_calls_alternate_between_action_servers_and_skip_a_dead_one():
    replicas.install()
    hits = {"one": 0, "two": 0}

    def answering(name):
        async def handler(request):
            hits[name] += 1
            return web.json_response({"events": [], "responses": [], "server": name})
        return handler

    one, url_one = await _server(answering("one"))
    two, url_two = await _server(answering("two"))
    try:
        both = EndpointConfig(url=f"{url_one},{url_two}")
        servers = [(await both.request(json={}, method="post"))["server"] for _ in range(4)]
        assert sorted(servers) == ["one", "one", "two", "two"]
        await one.cleanup()  # action server one is gone: every call ends on two
        for _ in range(4):
            assert (await both.request(json={}, method="post"))["server"] == "two"
        dead = EndpointConfig(url=f"{url_one},http://127.0.0.1:1/webhook")
        with pytest.raises(Exception, match="Cannot connect|Connect call failed"):
            await dead.request(json={}, method="post")
    finally:
        await replicas.close_session()
        await two.cleanup()
    assert hits["two"] == 6


def test_endpoint_urls():
    assert replicas.endpoint_urls(" http://a/webhook , http://b/webhook,") == [
        "http://a/webhook", "http://b/webhook"]
    assert replicas.endpoint_urls(None) == []


async def test_one_action_server_restarting_costs_no_failed_call():
    replicas.install()

    async def handler(request):
        return web.json_response({"events": []})

    runner, url = await _server(handler)
    port = int(url.split(":")[2].split("/")[0])
    try:
        config = EndpointConfig(url=url)
        assert await config.request(json={}, method="post") == {"events": []}
        await runner.cleanup()  # the kept-alive connection dies with the server …
        app = web.Application()
        app.router.add_post("/webhook", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()  # … which is back at once
        assert await config.request(json={}, method="post") == {"events": []}
    finally:
        await replicas.close_session()
        await runner.cleanup()


async def test_action_calls_arrive_as_the_same_json_values():
    """Bodies written with ujson read back as what json.dumps would have sent."""
    import json

    replicas.install()
    received = []

    async def echo(request):
        received.append((request.headers.get("Content-Type"), await request.read()))
        return web.json_response({"events": []})

    runner, url = await _server(echo)
    tracker = DialogueStateTracker.from_events("k", EVENTS).current_state()
    body = {
        "next_action": "action_answer_question",
        "tracker": tracker,
        "values": [0.1 + 0.2, 1e-300, 5e-324, -0.0, 2**62, 2**70, 0.9967618336678145],
        "text": 'Größe/Preis: 12 ct/kWh – „Deckel“ \u2028 \U0001f600 \\ "',
        "empty": {},
        "none": None,
        "flag": True,
    }
    try:
        assert await EndpointConfig(url=url).request(json=body, method="post") == {"events": []}
    finally:
        await replicas.close_session()
        await runner.cleanup()
    ((content_type, raw),) = received
    assert content_type == "application/json"
    decoded = json.loads(raw)
    assert decoded == json.loads(json.dumps(body))
    assert [v.hex() if isinstance(v, float) else v for v in decoded["values"]] == [
        v.hex() if isinstance(v, float) else v for v in body["values"]
    ]


def test_a_body_ujson_cannot_write_is_left_to_aiohttp():
    assert replicas._encoded({"x": object()}) is None
    assert replicas._encoded({"x": [1, 2.5, "ä"]}) == b'{"x":[1,2.5,"\\u00e4"]}'
