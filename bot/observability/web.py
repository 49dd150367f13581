"""The web app's metrics: request ids, HTTP metrics, ``GET /metrics``, database figures.

:func:`instrument_web_app` is the call the app factory makes with the app's own
:class:`~bot.observability.metrics.WebMetrics` (a registry per app: tests build many); the
chat API counts the turns in the same object (``WebMetrics.observe_turn``). The queue, the share
of conversations solved without a person and the training state are read from the database
when Prometheus scrapes (:func:`read_snapshot`, ``bot.chat.kpis``).
"""

from __future__ import annotations

from fastapi import FastAPI

from bot.chat import kpis
from bot.observability.asgi import instrument
from bot.observability.metrics import Snapshot, SnapshotCollector, WebMetrics
from bot.web.context import WebContext


def read_snapshot(ctx: WebContext) -> Snapshot:
    """The figures of right now, from the database (``bot.chat.kpis.current``)."""
    with ctx.session() as session:
        now = kpis.current(session, now=ctx.clock())
    return Snapshot(
        queue_length=now.queue_length,
        longest_wait_s=now.longest_wait_s,
        average_wait_s=now.average_wait_s,
        solved_without_person=now.solved_share,
        training_state=now.training_state,
    )


def instrument_web_app(app: FastAPI, ctx: WebContext, metrics: WebMetrics) -> None:
    """Request ids, HTTP metrics, database figures and ``GET /metrics`` for one web app."""
    metrics.registry.register(SnapshotCollector(lambda: read_snapshot(ctx)))
    instrument(app, metrics.http, metrics.registry)  # outermost: sees every request
    app.state.metrics = metrics

