"""Hostile requests stopped before any route reads them: huge bodies, NUL in the address.

:class:`RequestLimits` is a plain ASGI middleware (no ``BaseHTTPMiddleware``) in front of every
route of the web app:

* **Body size.** A body longer than the limit of its path (:data:`BODY_LIMITS`) is refused with
  ``413`` and a German reason: at once when ``Content-Length`` says so, else as soon as the
  streamed body passes the limit. Nothing is parsed before; at most the limit is held in
  memory. The route gets the body as one message (every body of ours is small).
* **NUL in the path or query.** ``%00`` decodes to a NUL character, which PostgreSQL refuses in
  any text it compares (a path parameter looked up in the database): ``400``.

Lone surrogates cannot come through the URL (it is decoded as UTF-8 with replacement
characters); in JSON bodies they, NUL and deep nesting are refused by the route classes of
``bot.web.guard`` (``bot.web.validation``).
"""

from __future__ import annotations

import json
from typing import Final
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.web import texts

KB: Final = 1024
# The largest legitimate body is an editor's topic: a 6,000-character answer, 300 questions of
# up to 300 characters and 20 sources come to at most about 200 KB of JSON (umlauts take two
# bytes). Chat, agent and login bodies are a message of at most 1,000 (agents: 2,000)
# characters, which JSON escapes can make six bytes each.
MAX_BODY_BYTES: Final = 256 * KB
PUBLIC_BODY_BYTES: Final = 16 * KB
WEBHOOK_BODY_BYTES: Final = 1024 * KB
# Largest body per path prefix (bytes), the first match wins.
BODY_LIMITS: Final = (
    ("/api/editor/", MAX_BODY_BYTES),
    ("/api/admin/", MAX_BODY_BYTES),
    # Meta batches up to 1,000 updates in one signed webhook request (issue 18).
    ("/webhooks/meta", WEBHOOK_BODY_BYTES),
    ("/", PUBLIC_BODY_BYTES),
)


def body_limit(path: str) -> int:
    """The largest body accepted for ``path`` (bytes)."""
    return next(limit for prefix, limit in BODY_LIMITS if path.startswith(prefix))


class RequestLimits:
    """ASGI middleware: ``413`` for oversized bodies, ``400`` for NUL in path or query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check one request; pass it on with its body read, or answer it."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        query = scope.get("query_string", b"")
        if "\x00" in path or b"\x00" in unquote_to_bytes(query):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
                return
            await _answer(send, 400, texts.BAD_ADDRESS, path)
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        limit = body_limit(path)
        length = _content_length(scope)
        if length is not None and length > limit:
            await _answer(send, 413, texts.REQUEST_TOO_LARGE.format(kb=limit // KB), path)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message]), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _answer(send, 413, texts.REQUEST_TOO_LARGE.format(kb=limit // KB), path)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], after=receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            # Not a number, or absurdly long: treat as too large (no int() of a huge string).
            return int(text) if text.isdigit() and len(text) <= 12 else 10**12
    return None


def _replay(messages: list[Message], after: Receive | None = None) -> Receive:
    """A ``receive`` that hands out ``messages`` first, then waits on ``after`` (disconnect)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        if after is not None:
            return await after()
        return {"type": "http.disconnect"}

    return receive


async def _answer(send: Send, status: int, detail: str, path: str) -> None:
    """A German answer: JSON on the APIs, plain text elsewhere."""
    if path.startswith("/api/"):
        body = json.dumps({"detail": detail}, ensure_ascii=False).encode("utf-8")
        content_type = b"application/json"
    else:
        body = detail.encode("utf-8")
        content_type = b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type),
                        (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})
