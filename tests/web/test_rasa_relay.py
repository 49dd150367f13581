"""The relay to several Rasa replicas: affinity, failover with idempotent retries, order.

Replicas are faked with ``httpx.MockTransport``; the real servers are in tests/production/.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from bot.web.rasa_relay import DOWN_FOR_S, RasaRejected, RasaRelay, RasaUnavailable

A, B = "http://rasa-a:5005", "http://rasa-b:5005"


class Replicas:
    """Records each request; ``fail[url]`` is an exception or status code to answer with."""

    def __init__(self):
        self.calls: list[tuple[str, dict]] = []
        self.fail: dict[str, object] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = f"{request.url.scheme}://{request.url.host}:{request.url.port}"
        body = json.loads(request.content)
        self.calls.append((url, body))
        failure = self.fail.get(url)
        if isinstance(failure, Exception):
            raise failure
        if isinstance(failure, int):
            return httpx.Response(failure, json={"error": "x"})
        return httpx.Response(200, json=[{"text": f"{url} says hi", "metadata": {"faq_id": "x"}}])


def relay_for(replicas: Replicas, urls=(A, B), clock=None) -> RasaRelay:
    client = httpx.AsyncClient(transport=httpx.MockTransport(replicas))
    return RasaRelay(list(urls), client=client, **({"clock": clock} if clock else {}))


async def test_conversations_spread_over_the_replicas_and_each_stays_on_one():
    replicas = Replicas()
    relay = relay_for(replicas)
    for i in range(40):
        for _ in range(2):
            await relay.send(f"conversation-{i}", "Hallo", message_id=f"c{i}")
    per_conversation: dict[str, set[str]] = {}
    for url, body in replicas.calls:
        per_conversation.setdefault(body["sender"], set()).add(url)
    assert all(len(urls) == 1 for urls in per_conversation.values())
    used = [url for url, _ in replicas.calls]
    assert 20 <= used.count(A) <= 60 and 20 <= used.count(B) <= 60


@pytest.mark.parametrize("failure", [
    httpx.ConnectError("refused"),
    httpx.RemoteProtocolError("Server disconnected without sending a response."),
    httpx.ReadError("connection reset"),
    # What anyio raised under httpcore when a replica died during the connect (a 500 before).
    AttributeError("'NoneType' object has no attribute 'getpeername'"),
    503,
])
async def test_a_failed_replica_hands_the_turn_to_the_next_with_the_same_message_id(failure):
    replicas = Replicas()
    relay = relay_for(replicas)
    first = relay.order("kunde")[0].url
    replicas.fail[first] = failure
    [answer] = await relay.send("kunde", "Hallo", {"page": "x"}, message_id="kunde:1")
    other = B if first == A else A
    assert answer.text == f"{other} says hi"
    (url1, body1), (url2, body2) = replicas.calls
    assert (url1, url2) == (first, other)
    assert body1["message_id"] == body2["message_id"] == "kunde:1"
    assert "retry" not in body1["metadata"] and body2["metadata"] == {"page": "x", "retry": True}


async def test_a_failed_replica_stays_out_of_the_rotation_for_a_while():
    now = [1000.0]
    replicas = Replicas()
    relay = relay_for(replicas, clock=lambda: now[0])
    first = relay.order("kunde")[0].url
    replicas.fail[first] = httpx.ConnectError("refused")
    await relay.send("kunde", "eins", message_id="k:1")
    replicas.calls.clear()
    await relay.send("kunde", "zwei", message_id="k:2")
    assert [url for url, _ in replicas.calls] == [B if first == A else A]  # not tried first
    now[0] += DOWN_FOR_S + 0.1
    del replicas.fail[first]
    replicas.calls.clear()
    await relay.send("kunde", "drei", message_id="k:3")
    assert [url for url, _ in replicas.calls] == [first]  # back home


async def test_without_message_id_a_turn_is_never_sent_twice():
    replicas = Replicas()
    relay = relay_for(replicas)
    replicas.fail[relay.order("kunde")[0].url] = httpx.ReadError("reset")
    with pytest.raises(RasaUnavailable):
        await relay.send("kunde", "Hallo")
    assert len(replicas.calls) == 1


async def test_a_timeout_is_not_retried_elsewhere():
    replicas = Replicas()
    relay = relay_for(replicas)
    replicas.fail[relay.order("kunde")[0].url] = httpx.ReadTimeout("slow")
    with pytest.raises(RasaUnavailable):
        await relay.send("kunde", "Hallo", message_id="k:1")
    assert len(replicas.calls) == 1


async def test_all_replicas_down_is_unavailable_and_4xx_is_rejected():
    replicas = Replicas()
    relay = relay_for(replicas)
    replicas.fail = {A: httpx.ConnectError("refused"), B: httpx.ConnectError("refused")}
    with pytest.raises(RasaUnavailable, match="no Rasa replica"):
        await relay.send("kunde", "Hallo", message_id="k:1")
    replicas.fail = {A: 400, B: 400}
    with pytest.raises(RasaRejected):
        await relay.send("kunde", "Hallo", message_id="k:2")


async def test_one_server_gets_a_second_try_for_its_restart():
    replicas = Replicas()
    relay = relay_for(replicas, urls=(A,))
    calls = 0

    def flaky(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("restarting")
        return replicas(request)

    relay._client = httpx.AsyncClient(transport=httpx.MockTransport(flaky))
    [answer] = await relay.send("kunde", "Hallo", message_id="k:1")
    assert answer.text == f"{A} says hi" and calls == 2


async def test_turns_of_one_conversation_go_out_one_after_another():
    in_flight: dict[str, int] = {}
    overlaps = []
    order = []

    async def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sender = body["sender"]
        in_flight[sender] = in_flight.get(sender, 0) + 1
        if in_flight[sender] > 1:
            overlaps.append(sender)
        order.append((sender, body["message"]))
        await asyncio.sleep(0.01)
        in_flight[sender] -= 1
        return httpx.Response(200, json=[{"text": "ok"}])

    relay = RasaRelay([A, B], client=httpx.AsyncClient(transport=httpx.MockTransport(handler)))
    await asyncio.gather(*(
        relay.send(f"k{c}", str(i), message_id=f"k{c}:{i}") for i in range(5) for c in range(3)
    ))
    assert overlaps == []
    for c in range(3):
        assert [text for sender, text in order if sender == f"k{c}"] == ["0", "1", "2", "3", "4"]
    assert relay._locks == {} and relay._waiting == {}  # nothing kept per finished conversation


def test_no_replica_is_an_error():
    with pytest.raises(ValueError):
        RasaRelay(" , ")


async def test_the_relay_sends_rasas_token():
    seen = []

    def rasa(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        return httpx.Response(200, json=[])

    relay = RasaRelay([A], client=httpx.AsyncClient(transport=httpx.MockTransport(rasa)),
                      token="geheim")
    await relay.send("kunde", "Hallo", message_id="kunde:1")
    assert seen == ["Bearer geheim"]
