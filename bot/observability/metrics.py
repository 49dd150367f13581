"""The Prometheus metrics of each service (``prometheus_client``), defined in one place.

Each service builds its set once, at start (``WebMetrics()`` in the web app factory,
``RasaMetrics()`` in the Rasa channel, ``ActionMetrics()`` and ``CalculatorMetrics()`` in their
servers), each with a :class:`~prometheus_client.CollectorRegistry` of its own: tests create many
apps in one process without "Duplicated timeseries" errors, and nothing is defined at import
time. Every process serves its own registry on its metrics route (:func:`exposition`).

Every process of ours runs one worker, so each is its own scrape target and prometheus_client's
multiprocess mode (shared files, ``PROMETHEUS_MULTIPROC_DIR``) is not needed. A service that
ever runs several worker processes behind one port needs it.

Label values are bounded: routes are templates (``/api/v1/conversations/{conversation_id}``),
never concrete paths; action names are the registered ones; kinds and states are fixed lists.
The metric names are listed in docs/design/production.md ("Observability").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

# Request durations of our HTTP services (s): most answer in milliseconds; a chat turn with the
# calculator in it takes up to a few seconds (the relay's timeout is 15 s).
HTTP_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
# A customer turn (s): NLU and an action take ~0.1 s here, the calculator and retries more.
TURN_BUCKETS: Final = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)
# Waiting for the conversation's lock before Rasa's processor starts (s): normally nothing.
WAIT_BUCKETS: Final = (0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

CHANNELS: Final = ("text", "button")
BOT_MESSAGE_KINDS: Final = ("faq", "fallback", "other")
HANDOFF_KINDS: Final = ("queued", "offline")
TRAINING_STATES: Final = ("queued", "training", "evaluating", "live", "rejected", "failed")


def new_registry(*, process: bool = True) -> CollectorRegistry:
    """An empty registry, with the process's CPU, memory and file descriptors if ``process``."""
    registry = CollectorRegistry()
    if process:
        ProcessCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The registry's metrics in Prometheus's text format, and the content type to send."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


class HttpMetrics:
    """Requests of an HTTP service by method, route template and status; their durations."""

    def __init__(self, prefix: str, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            f"{prefix}_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ("method", "route", "status"),
            registry=registry,
        )
        self.duration = Histogram(
            f"{prefix}_http_request_duration_seconds",
            "Time from a request's arrival until its answer was sent (s).",
            ("method", "route"),
            buckets=HTTP_BUCKETS,
            registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route).observe(seconds)


class WebMetrics:
    """The web app's metrics (one set per app instance).

    The gauges read from the database at scrape time (queue, share solved without a person,
    training) come from a :class:`SnapshotCollector` registered by the app.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else new_registry()
        self.http = HttpMetrics("web", self.registry)
        self.conversations = Counter(
            "web_conversations_started",
            "Conversations the widget started.",
            registry=self.registry,
        )
        self.customer_messages = Counter(
            "web_customer_messages",
            "Customer messages received, by channel (text typed or button pressed) and the "
            "conversation's state when it arrived (bot: relayed to Rasa; queued, agent: for a "
            "person).",
            ("channel", "state"),
            registry=self.registry,
        )
        self.bot_messages = Counter(
            "web_bot_messages",
            "Bot messages received from Rasa, by kind: faq (an answer with a faq_id), "
            "fallback (metadata decision: fallback), other.",
            ("kind",),
            registry=self.registry,
        )
        self.handoffs = Counter(
            "web_handoffs",
            "Turns that ended in a handoff: queued (a person takes over) or offline (outside "
            "the opening hours: callback offered).",
            ("kind",),
            registry=self.registry,
        )
        self.unanswered_turns = Counter(
            "web_unanswered_turns",
            "Turns relayed to Rasa that got no answer (Rasa or its action server away): the "
            "customer saw the notice with the phone number.",
            registry=self.registry,
        )
        self.turn_duration = Histogram(
            "web_turn_duration_seconds",
            "Duration of a customer turn relayed to Rasa (s): part=rasa the relay to Rasa, "
            "part=request the whole request.",
            ("part",),
            buckets=TURN_BUCKETS,
            registry=self.registry,
        )
        for kind in HANDOFF_KINDS:
            self.handoffs.labels(kind)
        for kind in BOT_MESSAGE_KINDS:
            self.bot_messages.labels(kind)

    def observe_turn(
        self,
        *,
        channel: str,
        state: str,
        rasa_s: float | None,
        answers: Sequence[Mapping[str, Any]],
        handoffs: Collection[Any],
        request_s: float,
    ) -> None:
        """Count one accepted customer message and what its turn did.

        Args:
            channel: ``text`` (typed) or ``button``.
            state: the conversation's state when the message came (``bot``: relayed to Rasa).
            rasa_s: how long the relay to Rasa took; ``None`` when it was not relayed.
            answers: the metadata of the bot messages Rasa sent back.
            handoffs: the ``handoff`` values of the messages the customer got.
            request_s: the whole request.
        """
        self.customer_messages.labels(channel, state).inc()
        if rasa_s is not None:
            self.turn_duration.labels("rasa").observe(rasa_s)
            self.turn_duration.labels("request").observe(request_s)
            for metadata in answers:
                self.bot_messages.labels(bot_message_kind(metadata)).inc()
            if not answers:
                self.unanswered_turns.inc()
        for kind in HANDOFF_KINDS:
            if kind in handoffs:
                self.handoffs.labels(kind).inc()
                break


def bot_message_kind(metadata: Mapping[str, Any]) -> str:
    """``fallback``, ``faq`` (an answer of a topic) or ``other`` (greetings, questions, …)."""
    if metadata.get("decision") == "fallback":
        return "fallback"
    return "faq" if metadata.get("faq_id") else "other"


class RasaMetrics:
    """A Rasa server's metrics (``channels/rest_with_metadata.py``, ``channels/replicas.py``)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else new_registry()
        self.turns = Counter(
            "rasa_turns",
            "Turns received on the rest_meta channel (valid requests).",
            registry=self.registry,
        )
        self.failed_turns = Counter(
            "rasa_failed_turns",
            "Turns whose handling failed (answered 503).",
            registry=self.registry,
        )
        self.replayed_turns = Counter(
            "rasa_replayed_turns",
            "Retried turns another replica had handled: answered with the stored bot messages.",
            registry=self.registry,
        )
        self.turn_duration = Histogram(
            "rasa_turn_duration_seconds",
            "Duration of a turn on the rest_meta channel, action calls included (s).",
            buckets=TURN_BUCKETS,
            registry=self.registry,
        )
        self.turn_wait = Histogram(
            "rasa_turn_wait_seconds",
            "Time from a turn's arrival until the processor started on it (s): mostly waiting "
            "for the conversation's lock while another turn of it is handled.",
            buckets=WAIT_BUCKETS,
            registry=self.registry,
        )
        self.action_endpoint_failovers = Counter(
            "rasa_action_endpoint_failovers",
            "Action server calls that could not connect and went to the next action server.",
            registry=self.registry,
        )


class ActionMetrics:
    """The action server's metrics: action runs by action name and outcome, their durations."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else new_registry()
        self.runs = Counter(
            "actions_runs",
            "Action runs, by action name and outcome (ok, rejected: 4xx, error: 5xx).",
            ("action", "outcome"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "actions_run_duration_seconds",
            "Duration of an action run, calls to the calculator included (s).",
            ("action",),
            buckets=HTTP_BUCKETS,
            registry=self.registry,
        )

    def observe(self, action: str, status: int, seconds: float) -> None:
        """Count one run of ``action`` answered with HTTP ``status``."""
        outcome = "ok" if status < 400 else "rejected" if status < 500 else "error"
        self.runs.labels(action, outcome).inc()
        self.duration.labels(action).observe(seconds)


class CalculatorMetrics:
    """The tariff calculator's metrics: requests by route and status, their durations."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else new_registry()
        self.http = HttpMetrics("calculator", self.registry)


@dataclass(frozen=True)
class Snapshot:
    """What :class:`SnapshotCollector` reports (``None``: that gauge is left out)."""

    queue_length: int
    longest_wait_s: float
    average_wait_s: float
    solved_without_person: float | None
    training_state: str | None


class SnapshotCollector(Collector):
    """Gauges computed when Prometheus scrapes (from the web app's database).

    ``read`` returns the current :class:`Snapshot`; when it raises (the database is away) the
    other gauges are left out of that scrape and ``web_snapshot_ok`` is 0.
    """

    def __init__(self, read: Callable[[], Snapshot]) -> None:
        self._read = read

    def describe(self) -> Iterable[GaugeMetricFamily]:
        """The families without samples (lets the registry check the names)."""
        return _snapshot_families(None, ok=False)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        """Read the snapshot and report it."""
        try:
            snapshot = self._read()
        except Exception:  # the database is away: no figures rather than a failed scrape
            return _snapshot_families(None, ok=True)
        return _snapshot_families(snapshot, ok=True)


def _snapshot_families(snapshot: Snapshot | None, *, ok: bool) -> list[GaugeMetricFamily]:
    """The gauges of ``snapshot``; with ``ok``, ``web_snapshot_ok`` says whether there was one."""
    up = GaugeMetricFamily(
        "web_snapshot_ok", "1 when the figures below could be read from the database, else 0."
    )
    queue = GaugeMetricFamily(
        "web_queue_length", "Conversations waiting in the queue for a person."
    )
    longest = GaugeMetricFamily(
        "web_queue_longest_wait_seconds", "How long the longest-waiting conversation waits (s)."
    )
    average = GaugeMetricFamily(
        "web_queue_average_wait_seconds", "Average waiting time of the queued conversations (s)."
    )
    solved = GaugeMetricFamily(
        "web_solved_without_person_ratio",
        "Of the conversations started in the last 24 h with at least one customer message, "
        "the share that never asked for a person (0..1).",
    )
    training = GaugeMetricFamily(
        "web_training_state",
        "1 for the state of the newest retraining run, 0 for the others (all 0: no run yet).",
        labels=("state",),
    )
    if ok:
        up.add_metric([], 0.0 if snapshot is None else 1.0)
    if snapshot is not None:
        queue.add_metric([], float(snapshot.queue_length))
        longest.add_metric([], snapshot.longest_wait_s)
        average.add_metric([], snapshot.average_wait_s)
        if snapshot.solved_without_person is not None:
            solved.add_metric([], snapshot.solved_without_person)
        for state in TRAINING_STATES:
            training.add_metric([state], 1.0 if state == snapshot.training_state else 0.0)
    return [up, queue, longest, average, solved, training]
