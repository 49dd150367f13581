"""The fake Graph API (real HTTP on a free loopback port) and a client pointed at it."""

from __future__ import annotations

import pytest

from bot.social.graph import GraphClient
from tests.social.fake_graph import FakeGraph, serve


@pytest.fixture
def fake():
    graph = FakeGraph()
    with serve(graph.app()) as served:
        graph.base_url = served.url
        yield graph


@pytest.fixture
async def client(fake):
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:  # records the backoff instead of waiting
        pauses.append(seconds)

    graph = GraphClient(
        fake.api_url,
        fake.access_token,
        whatsapp_phone_number_id=fake.phone_number_id,
        sleep=sleep,
    )
    graph.pauses = pauses
    yield graph
    await graph.aclose()
