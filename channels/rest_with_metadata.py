"""REST channel that returns each bot message with its metadata (``faq_id``, ``content_version``).

Rasa's stock REST channel drops message metadata and splits texts at blank lines, so a client
cannot tell which FAQ answer it got. This channel keeps one entry per bot message:

    POST /webhooks/rest_meta/webhook  {"sender": "...", "message": "...", "metadata": {...}}
    200 [{"recipient_id": "...", "text": "...", "buttons": [...], "metadata": {"faq_id": ...}}]

Bad requests get ``400`` with a reason; a failure while handling the message ``503``.
Customer texts are masked on arrival (``channels/privacy.py``: IBAN, e-mail, telephone numbers
and the like never reach the tracker store), whichever channel of this server receives them.
An optional ``message_id`` (the web app sends conversation id and sequence number) becomes the
user event's id: a retry of the turn on another replica is then answered once
(``channels/replicas.py``).

Operations routes of the same blueprint (production profile, docs/design/production.md):

    GET    /webhooks/rest_meta/ready                  200 when model, tracker and lock store work
    GET    /webhooks/rest_meta/metrics                turns, failures, durations (Prometheus)
    DELETE /webhooks/rest_meta/conversations/{id}     delete the conversation's tracker
    POST   /webhooks/rest_meta/retention {"before": unix time}   delete older trackers

When ``RASA_TOKEN`` is set (always with ``make run`` and in production) the webhook and the two
deleting routes require it, as ``Authorization: Bearer <token>`` or ``?token=`` (the same token
Rasa's own HTTP API then requires): only the web app may put words into a conversation. The
readiness and metrics routes stay open for the probes.

Observability (docs/design/production.md): a turn runs with the web app's ``X-Request-ID`` (in
every log line of the turn, in the calls to the action server, back in the answer's header).
With ``LOG_FORMAT=json`` this channel turns Rasa's logging into JSON lines: ``rasa run
--logging-config-file`` cannot, because Rasa installs coloredlogs' text handler after applying
that file, and Sanic adds text handlers of its own when the app is built.
"""

from __future__ import annotations

import logging
import math
import os
import secrets
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.observability.logs import (
    REQUEST_ID_HEADER,
    configure_logging,
    request_id_from,
    reset_request_id,
    set_request_id,
)
from bot.observability.metrics import RasaMetrics, exposition
from bot.settings import get_settings
from channels import privacy, replicas, server_patches
from channels.trackers import (
    UnsupportedStore,
    check_tracker_store,
    delete_tracker,
    delete_trackers_before,
)

logger = logging.getLogger(__name__)

# Longest customer message accepted (characters); the web app enforces the same limit (contract).
MAX_MESSAGE_CHARS = 1000
MAX_MESSAGE_ID_CHARS = 200
READINESS_SENDER = "__readiness__"  # looked up, never written
_CONTENT_KEYS = ("text", "buttons", "image", "attachment", "custom", "quick_replies", "elements")
_DROPPED_KEYS = frozenset({"timestamp", "recipient_id"})


class MetadataCollectingOutputChannel(CollectingOutputChannel):
    """Collects bot messages whole, with their metadata."""

    @classmethod
    def name(cls) -> str:
        """Name of the channel."""
        return "rest_meta"

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Store one entry per bot message (no splitting at blank lines)."""
        entry: dict[str, Any] = {"recipient_id": recipient_id}
        for key in _CONTENT_KEYS:
            if message.get(key) is not None:
                entry[key] = message[key]
        entry["metadata"] = {
            k: v
            for k, v in message.items()
            if k not in _CONTENT_KEYS and k not in _DROPPED_KEYS and v is not None
        }
        await self._persist_message(entry)


class RestWithMetadataInput(InputChannel):
    """``POST /webhooks/rest_meta/webhook``: a message in, the bot's messages with metadata out."""

    @classmethod
    def name(cls) -> str:
        """Name of the channel (the URL prefix ``/webhooks/rest_meta``)."""
        return "rest_meta"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Create the channel when the server starts; installs the server's fixes."""
        json_logs()
        metrics = RasaMetrics()
        server_patches.install()
        replicas.install(metrics)
        privacy.install()
        return cls(token=os.environ.get("RASA_TOKEN") or None, metrics=metrics)

    def __init__(self, token: str | None = None, metrics: RasaMetrics | None = None) -> None:
        self.token = token
        self.metrics = metrics or RasaMetrics()

    def _authorised(self, request: Request) -> bool:
        if self.token is None:
            return True
        header = request.headers.get("Authorization") or ""
        given = header[len("Bearer "):] if header.startswith("Bearer ") else ""
        given = given or request.args.get("token") or ""
        return secrets.compare_digest(given.encode("utf-8", "replace"), self.token.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The channel's routes."""
        hook = Blueprint("rest_meta_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def logs_again(*_: Any) -> None:
            # Before the start: Sanic gave its loggers text handlers of their own meanwhile.
            # After it: loading the model imported numpy.distutils, which sets the root
            # logger's level to WARNING (and so silenced every INFO line of ours).
            json_logs()

        hook.listener("before_server_start")(logs_again)
        hook.listener("after_server_start")(logs_again)
        hook.listener("before_server_stop")(replicas.close_session)

        @hook.route("/metrics", methods=["GET"])
        async def metrics(_: Request) -> HTTPResponse:
            body, content_type = exposition(self.metrics.registry)
            return response.raw(body, content_type=content_type)

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            # The turn's id from the web app (or a new one) for the turn's log lines and its
            # action server calls (channels/replicas.py); answered in the header.
            current = request_id_from(request.headers.get(REQUEST_ID_HEADER))
            token = set_request_id(current)
            try:
                answer = await handle(request)
            finally:
                reset_request_id(token)
            answer.headers[REQUEST_ID_HEADER] = current
            return answer

        async def handle(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "token missing or wrong"}, status=401)
            try:
                body = request.json
            except Exception:  # sanic raises InvalidUsage on malformed JSON
                return response.json({"error": "body is not valid JSON"}, status=400)
            if not isinstance(body, dict):
                return response.json({"error": "body must be a JSON object"}, status=400)
            sender = body.get("sender")
            text = body.get("message")
            metadata = body.get("metadata") or {}
            if not isinstance(sender, str) or not sender.strip():
                return response.json({"error": "'sender' must be a non-empty string"}, status=400)
            if not isinstance(text, str) or not text.strip():
                return response.json({"error": "'message' must be a non-empty string"}, status=400)
            if len(text) > MAX_MESSAGE_CHARS:
                return response.json(
                    {"error": f"'message' is longer than {MAX_MESSAGE_CHARS} characters"},
                    status=400,
                )
            if not isinstance(metadata, dict):
                return response.json({"error": "'metadata' must be an object"}, status=400)
            message_id = body.get("message_id")
            if message_id is not None and (
                not isinstance(message_id, str)
                or not message_id.strip()
                or len(message_id) > MAX_MESSAGE_ID_CHARS
            ):
                return response.json(
                    {"error": f"'message_id' must be a string of 1 to {MAX_MESSAGE_ID_CHARS} "
                              "characters"},
                    status=400,
                )
            collector = MetadataCollectingOutputChannel()
            self.metrics.turns.inc()
            started = perf_counter()
            waiting = replicas.turn_started.set(started)
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata=metadata,
                        message_id=message_id,
                    )
                )
            except Exception:
                self.metrics.failed_turns.inc()
                logger.exception("rest_meta: handling a message failed (sender %s)", sender)
                return response.json(
                    {"error": "the message could not be processed", "messages": collector.messages},
                    status=503,
                )
            finally:
                replicas.turn_started.reset(waiting)
                seconds = perf_counter() - started
                self.metrics.turn_duration.observe(seconds)
            logger.info("rest_meta: turn answered with %d messages in %.0f ms",
                        len(collector.messages), seconds * 1000)
            return response.json(collector.messages)

        @hook.route("/ready", methods=["GET"])
        async def ready(request: Request) -> HTTPResponse:
            problems = []
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                problems.append("no model loaded")
            else:
                try:
                    await check_tracker_store(agent.tracker_store)
                except Exception as exc:
                    problems.append(f"tracker store: {type(exc).__name__}")
                try:
                    agent.lock_store.get_lock(READINESS_SENDER)
                except Exception as exc:
                    problems.append(f"lock store: {type(exc).__name__}")
            if problems:
                return response.json({"status": "unavailable", "problems": problems}, status=503)
            return response.json({"status": "ok"})

        @hook.route("/conversations/<sender_id:str>", methods=["DELETE"])
        async def delete(request: Request, sender_id: str) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "token missing or wrong"}, status=401)
            try:
                count = await delete_tracker(request.app.ctx.agent.tracker_store, sender_id)
            except UnsupportedStore as exc:
                return response.json({"error": f"cannot delete from {exc}"}, status=501)
            return response.json({"deleted_events": count})

        @hook.route("/retention", methods=["POST"])
        async def retention(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "token missing or wrong"}, status=401)
            try:
                before = (request.json or {}).get("before")
            except Exception:
                before = None
            if (
                not isinstance(before, int | float)
                or isinstance(before, bool)
                or not math.isfinite(before)
            ):
                return response.json(
                    {"error": "'before' must be a Unix time in seconds"}, status=400
                )
            try:
                count = await delete_trackers_before(request.app.ctx.agent.tracker_store, before)
            except UnsupportedStore as exc:
                return response.json({"error": f"cannot delete from {exc}"}, status=501)
            return response.json({"deleted_conversations": count})

        return hook


def json_logs() -> None:
    """With ``LOG_FORMAT=json``, log this server's records as JSON lines (else leave Rasa's)."""
    if get_settings().log_format == "json":
        configure_logging("rasa", log_format="json")
