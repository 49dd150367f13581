"""``python -m actions``: the action server (rasa-sdk) with the operations routes of this project.

rasa-sdk's own server plus (docs/design/production.md):

* ``GET /ready``: ready once the FAQ content is loaded (from the database, or the files while
  the database is away: the store keeps serving what it has). A calculator that does not
  answer is reported as ``degraded`` but keeps the server ready, since FAQ answers do not need
  it and the instalment dialogue tells the customer itself.
* ``GET /metrics``: action runs by action name and outcome, and their durations (Prometheus).
* Every request runs with the ``X-Request-ID`` Rasa sent (the customer turn's id): it is in each
  log line of the request, goes on to the calculator (``bot.tariff.client``) and comes back in
  the answer's header. Each action run is logged with its name, status and duration.

Only Rasa may run actions: ``POST /webhook`` and ``GET /actions`` need
``Authorization: Bearer <ACTION_SERVER_TOKEN>`` (Rasa sends it, ``endpoints.yml``), else ``401``;
the server does not start without the token. The probes and ``/metrics`` stay open.

Binds ``BIND_HOST`` (default loopback) and ``ACTION_SERVER_PORT``; logs as ``LOG_FORMAT`` says.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import sys
import warnings
import zlib
from time import perf_counter
from typing import Any, Final

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import BaseHTTPResponse, HTTPResponse

from actions.dependencies import knowledge_store, tariff_client
from bot.observability.logs import (
    REQUEST_ID_HEADER,
    configure_logging,
    current_request_id,
    request_id_from,
    reset_request_id,
    set_request_id,
)
from bot.observability.metrics import ActionMetrics, exposition
from bot.settings import get_settings

logger = logging.getLogger("actions.server")

WEBHOOK_PATH: Final = "/webhook"
# Routes that run or list actions: Rasa's only (the probes and /metrics are open).
PROTECTED_PATHS: Final = frozenset({WEBHOOK_PATH, "/actions"})
UNKNOWN_ACTION: Final = "unknown"
# Action names as the domain writes them; anything else is counted as "unknown", so a caller
# cannot create label values at will.
_ACTION_NAME: Final = re.compile(r"[A-Za-z0-9_]{1,100}")


def action_name(request: Request, status: int) -> str:
    """The action a webhook call asked for (``next_action``), or ``unknown``."""
    if status == 404:  # rasa-sdk has no such action
        return UNKNOWN_ACTION
    try:
        if request.headers.get("Content-Encoding") == "deflate":
            call: Any = json.loads(zlib.decompress(request.body))
        else:
            call = request.json  # parsed once by Sanic, shared with rasa-sdk's handler
        name = call.get("next_action")
    except (ValueError, zlib.error, AttributeError):
        return UNKNOWN_ACTION
    return name if isinstance(name, str) and _ACTION_NAME.fullmatch(name) else UNKNOWN_ACTION


def require_token(app: Sanic[Any, Any], token: str) -> None:
    """Answer ``401`` to calls of :data:`PROTECTED_PATHS` without ``Bearer <token>``."""
    expected = f"Bearer {token}".encode()

    async def check(request: Request) -> HTTPResponse | None:
        if request.path not in PROTECTED_PATHS:
            return None
        given = (request.headers.get("Authorization") or "").encode("utf-8", "replace")
        if secrets.compare_digest(given, expected):
            return None
        return response.json({"error": "the action server only takes calls from Rasa"},
                             status=401)

    app.register_middleware(check, "request")


def observe(app: Sanic[Any, Any], metrics: ActionMetrics) -> None:
    """Request ids, action metrics and one log line per action run for ``app``."""

    async def begin(request: Request) -> None:
        current = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.ctx.request_id_token = set_request_id(current)
        request.ctx.started = perf_counter()

    async def end(request: Request, answer: BaseHTTPResponse) -> None:
        current = current_request_id()
        if current:
            answer.headers[REQUEST_ID_HEADER] = current
        started = getattr(request.ctx, "started", None)
        if request.path == WEBHOOK_PATH and started is not None:
            seconds = perf_counter() - started
            action = action_name(request, answer.status)
            metrics.observe(action, answer.status, seconds)
            logger.info("action %s: HTTP %d in %.0f ms", action, answer.status, seconds * 1000)
        token = getattr(request.ctx, "request_id_token", None)
        if token is not None:
            request.ctx.request_id_token = None
            reset_request_id(token)

    app.register_middleware(begin, "request")
    app.register_middleware(end, "response")

    @app.get("/metrics")
    async def prometheus(_: Request) -> HTTPResponse:
        body, content_type = exposition(metrics.registry)
        return response.raw(body, content_type=content_type)


def main() -> int:
    """Serve the actions of this package until interrupted."""
    settings = get_settings()
    configure_logging("actions", log_format=settings.log_format)
    if not settings.action_token:
        logger.error("ACTION_SERVER_TOKEN is not set: without it anyone who reaches the port "
                     "could run actions (make run and the deployment set it)")
        return 2
    # Imported once logging is set up: importing it warns (sanic_cors), and that warning should
    # be a log line like every other.
    from rasa_sdk.endpoint import create_app
    from rasa_sdk.executor import ActionExecutor

    # rasa-sdk warns on the first call that Rasa 3.6 and rasa-sdk 3.21 differ in their minor
    # version. Measured (issue 17): the webhook protocol is the same, the whole test suite and
    # tests/channels/test_action_exchange.py pass with this pair; the warning would only be noise.
    warnings.filterwarnings(
        "ignore", message="Your versions of rasa and rasa_sdk might not be compatible"
    )
    executor = ActionExecutor()
    executor.register_package("actions")
    app = create_app(executor, cors_origins=None)
    require_token(app, settings.action_token)
    observe(app, ActionMetrics())

    @app.get("/ready")
    async def ready(_: Request) -> HTTPResponse:
        try:
            topics = len((await asyncio.to_thread(knowledge_store().knowledge)).topics)
        except Exception as exc:  # no content at all: not ready, with the reason
            return response.json(
                {"status": "unavailable", "problems": [f"content: {type(exc).__name__}"]},
                status=503,
            )
        body: dict[str, object] = {"status": "ok", "topics": topics}
        if not await asyncio.to_thread(tariff_client().health):
            body["degraded"] = ["calculator"]
        return response.json(body)

    # One process, no worker manager: the manager of Sanic >= 22.9 restarts and kills workers
    # through their process group, which is the launcher's (bot/devserver.py) here.
    app.run(settings.bind_host, settings.action_server_port, single_process=True,
            access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
