"""Request ids and HTTP metrics for our FastAPI apps (the web app and the tariff calculator).

:class:`RequestObservability` is a plain ASGI middleware (no ``BaseHTTPMiddleware``, which
would run the route in another task). For every HTTP request it

* takes a sane incoming ``X-Request-ID`` or makes one, keeps it in
  :data:`bot.observability.logs.request_id` while the request runs (so every log line of the
  request carries it, uvicorn's access line too) and answers with it in ``X-Request-ID``;
* counts the request by method, route template and status, and times it.

WebSocket connections get a request id for their lifetime, and no metrics.
"""

from __future__ import annotations

from time import perf_counter

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.observability.logs import (
    REQUEST_ID_HEADER,
    request_id_from,
    reset_request_id,
    set_request_id,
)
from bot.observability.metrics import HttpMetrics, exposition
from bot.web.proxy import proxied

METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"  # no route: 404s of arbitrary paths share one label value


def route_template(scope: Scope) -> str:
    """The route that handled a request (``/api/v1/conversations/{conversation_id}``).

    FastAPI puts the matched route into the scope. A mounted app (the static files) is named
    by its mount path plus ``/{path}``; a request no route matched by :data:`UNMATCHED`.
    """
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    root, app_root = scope.get("root_path", ""), scope.get("app_root_path", "")
    if root and root != app_root:
        return f"{root.removeprefix(app_root)}/{{path}}"
    return UNMATCHED


class RequestObservability:
    """ASGI middleware: request id in, out and in the logs; HTTP requests counted and timed."""

    def __init__(self, app: ASGIApp, *, http: HttpMetrics) -> None:
        self.app = app
        self.http = http

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request or connection."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        current = request_id_from(Headers(scope=scope).get(REQUEST_ID_HEADER))
        token = set_request_id(current)
        try:
            if scope["type"] == "websocket":
                await self.app(scope, receive, send)
                return
            await self._http(scope, receive, send, current)
        finally:
            reset_request_id(token)

    async def _http(self, scope: Scope, receive: Receive, send: Send, current: str) -> None:
        started = perf_counter()
        status = 500  # if the app fails before it answers

        async def answer(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, current)
            await send(message)

        try:
            await self.app(scope, receive, answer)
        finally:
            self.http.observe(
                scope["method"], route_template(scope), status, perf_counter() - started
            )


def add_metrics_route(app: FastAPI, registry: CollectorRegistry) -> None:
    """``GET /metrics``: ``registry`` in Prometheus's text format (not in the OpenAPI schema).

    Operations only. Prometheus scrapes each pod directly; a request that came through a
    proxy is answered 404 (``bot.web.proxy.proxied``: on a trusted proxy's connection, or with
    forwarding headers, which a client cannot remove from what the ingress appends), so the
    public never sees queue lengths and the like.
    """

    def metrics(request: Request) -> Response:
        if proxied(request):
            return Response(status_code=404)
        body, content_type = exposition(registry)
        return Response(body, media_type=content_type)

    app.get(METRICS_PATH, include_in_schema=False)(metrics)


def instrument(app: FastAPI, http: HttpMetrics, registry: CollectorRegistry) -> None:
    """Add :class:`RequestObservability` (outermost) and ``GET /metrics`` to ``app``."""
    app.add_middleware(RequestObservability, http=http)
    add_metrics_route(app, registry)
