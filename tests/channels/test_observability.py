"""Request ids and metrics of the Rasa server (``channels/rest_with_metadata.py``, ``replicas``)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from aiohttp import web
from prometheus_client import generate_latest
from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.observability.logs import bound_request_id, current_request_id
from bot.observability.metrics import RasaMetrics
from channels import replicas
from channels.rest_with_metadata import MetadataCollectingOutputChannel, RestWithMetadataInput
from tests.channels.test_replicas import EVENTS
from tests.observability.conftest import value


def routes(channel, on_new_message):
    hook = channel.blueprint(on_new_message)
    return {route.uri: route.handler for route in hook._future_routes}


def post(body, request_id=None):
    headers = {"X-Request-ID": request_id} if request_id else {}
    return SimpleNamespace(json=body, headers=headers, args={})


async def test_a_turn_runs_with_the_web_apps_request_id_and_is_counted():
    seen = []

    async def on_new_message(message):
        seen.append((current_request_id(), replicas.turn_started.get() is not None))
        await message.output_channel.send_response(message.sender_id, {"text": "Hallo!"})

    channel = RestWithMetadataInput(metrics=RasaMetrics())
    handlers = routes(channel, on_new_message)
    answer = await handlers["/webhook"](post({"sender": "k", "message": "Hallo"}, "turn-5"))
    assert answer.status == 200 and answer.headers["X-Request-ID"] == "turn-5"
    assert seen == [("turn-5", True)]
    assert current_request_id() is None and replicas.turn_started.get() is None
    bad = await handlers["/webhook"](post({"sender": "k"}, "turn-6"))
    assert bad.status == 400 and bad.headers["X-Request-ID"] == "turn-6"
    scraped = (await handlers["/metrics"](None)).body.decode()
    assert value(scraped, "rasa_turns_total") == 1  # the invalid request is no turn
    assert value(scraped, "rasa_failed_turns_total") == 0
    assert value(scraped, "rasa_turn_duration_seconds_count") == 1


async def test_a_failed_turn_is_counted():
    async def on_new_message(message):
        raise RuntimeError("tracker store away")

    channel = RestWithMetadataInput(metrics=RasaMetrics())
    handlers = routes(channel, on_new_message)
    answer = await handlers["/webhook"](post({"sender": "k", "message": "Hallo"}))
    assert answer.status == 503 and len(answer.headers["X-Request-ID"]) == 32
    scraped = (await handlers["/metrics"](None)).body.decode()
    assert value(scraped, "rasa_failed_turns_total") == 1
    assert value(scraped, "rasa_turn_duration_seconds_count") == 1


@pytest.fixture
def metrics(monkeypatch):
    installed = RasaMetrics()
    monkeypatch.setattr(replicas, "_metrics", installed)
    return installed


@pytest.fixture
def processor(monkeypatch):
    store = InMemoryTrackerStore(Domain.empty())
    asyncio.run(store.save(DialogueStateTracker.from_events("k", EVENTS)))

    async def rasa_handles(self, message):
        return []

    monkeypatch.setattr(replicas, "_rasa_handle_message", rasa_handles)
    return SimpleNamespace(tracker_store=store)


def scrape(metrics):
    return generate_latest(metrics.registry).decode()


async def test_replays_and_the_wait_for_the_lock_are_counted(metrics, processor):
    token = replicas.turn_started.set(0.0)  # "arrived" long ago: a long wait
    try:
        retry = UserMessage("Gaspreisbremse?", MetadataCollectingOutputChannel(), "k",
                            message_id="k:2", metadata={"retry": True})
        await replicas._handle_message(processor, retry)
    finally:
        replicas.turn_started.reset(token)
    await replicas._handle_message(processor, UserMessage("Neu", MetadataCollectingOutputChannel(),
                                                          "k", message_id="k:9"))
    out = scrape(metrics)
    assert value(out, "rasa_replayed_turns_total") == 1
    assert value(out, "rasa_turn_wait_seconds_count") == 1  # only where the arrival is known


async def _server(handler):
    app = web.Application()
    app.router.add_post("/webhook", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    return runner, f"http://127.0.0.1:{port}/webhook"


async def test_action_server_calls_carry_the_request_id_and_failovers_are_counted(metrics):
    replicas.install()
    seen = []

    async def handler(request):
        seen.append(request.headers.get("X-Request-ID"))
        return web.json_response({"events": [], "responses": []})

    runner, url = await _server(handler)
    both = EndpointConfig(url=f"http://127.0.0.1:1/webhook,{url}")
    try:
        with bound_request_id("turn-3"):
            await EndpointConfig(url=url).request(json={}, method="post")
            # Two calls start at different servers: one of them meets the dead one first.
            for _ in range(2):
                await both.request(json={}, method="post")
        await EndpointConfig(url=url).request(json={}, method="post")
    finally:
        await replicas.close_session()
        await runner.cleanup()
    assert seen == ["turn-3", "turn-3", "turn-3", None]
    assert value(scrape(metrics), "rasa_action_endpoint_failovers_total") == 1
