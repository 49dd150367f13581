"""A fake of Meta's Graph API and webhook sender, over real HTTP, for the tests.

:class:`FakeGraph` serves, under ``/{version}`` like the real API:

* ``POST /{phone-number-id}/messages`` (WhatsApp) and ``POST /me/messages`` (Messenger):
  checks the bearer token (``190`` otherwise), validates the body against Meta's limits
  (``100``/``131009`` otherwise), enforces the messaging windows with an injectable clock
  (WhatsApp ``131047`` after 24 hours; Messenger ``10``/``2018278`` after 24 hours without
  ``HUMAN_AGENT``, after 7 days with it), records every accepted send and answers with a
  message id as Meta does;
* ``POST /me/personas`` (a Messenger persona: ``name`` of 1 to 50 characters, an optional
  https ``profile_picture_url``; answers ``{"id": …}``) and ``DELETE /{persona-id}``
  (``{"success": true}``; ``100``/``33`` for an unknown id): the bearer token checked, every
  accepted creation recorded in :attr:`FakeGraph.persona_requests`, the live ones in
  :attr:`FakeGraph.personas`; a Messenger send with a ``persona_id`` that is not live is
  refused as an invalid parameter (``400``, code ``100``, no subcode), as Meta refuses a
  persona it does not know; :meth:`FakeGraph.delete_persona_in_metas_tools` deletes one
  behind the app's back, as a page admin can in Meta Business Suite;
* ``GET /{media-id}``: the media's metadata with a download URL that expires after
  :attr:`FakeGraph.media_url_ttl` (five minutes, as Meta's do); ``GET /media/{token}``
  serves the bytes to a bearer of the token until then;
* failure injection: :meth:`FakeGraph.fail_next` (a status and Graph error code for the next
  requests), :attr:`FakeGraph.delay_s` (slow answers for timeouts), unreachable recipients.

:meth:`FakeGraph.deliver` plays Meta's webhook sender: it signs a body with the app secret
(HMAC-SHA256 computed here, independently of ``bot.social.signature``), POSTs it to a target
URL and delivers it again after a non-``200`` answer or a timeout, like Meta does (with
shorter pauses). The customer's messages it delivers open the messaging window.

:func:`serve` runs any ASGI app (the fake, or a test's webhook target) with uvicorn in a
thread on a free loopback port.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


class FakeClock:
    """An injectable clock: ``clock()`` is the current time, tests move it."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 12, 23, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Served:
    """A running server: its base URL; stopped when the ``serve`` block ends."""

    url: str
    server: uvicorn.Server


@contextmanager
def serve(app: Any, *, lifespan: str = "off") -> Iterator[Served]:
    """Run ``app`` with uvicorn in a thread on a free loopback port (``lifespan="on"``: the
    app's startup and shutdown run, e.g. the web app's background workers)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield Served(f"http://127.0.0.1:{port}", server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def graph_error(status: int, code: int, message: str, subcode: int | None = None) -> JSONResponse:
    """An error answer shaped like the Graph API's."""
    error: dict[str, Any] = {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "A" + secrets.token_hex(8),
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return JSONResponse({"error": error}, status_code=status)


@dataclass
class Attempt:
    """One delivery attempt of a webhook: the answer's status, or what went wrong."""

    status: int | None
    error: str | None = None


@dataclass
class Sent:
    """A send the fake accepted."""

    channel: str
    recipient: str
    payload: dict[str, Any]
    message_id: str
    at: datetime


@dataclass
class _Media:
    content: bytes
    mime_type: str
    declared_size: int | None


@dataclass
class _Failure:
    status: int
    code: int
    message: str
    subcode: int | None = None


@dataclass
class FakeGraph:
    """The fake's state; :meth:`app` is its ASGI app (run it with :func:`serve`)."""

    access_token: str = "test-access-token"
    app_secret: str = "test-app-secret"
    phone_number_id: str = "106540352242922"
    page_id: str = "1234567890123"
    version: str = "v24.0"
    clock: FakeClock = field(default_factory=FakeClock)
    media_url_ttl: timedelta = timedelta(minutes=5)
    delay_s: float = 0.0
    sent: list[Sent] = field(default_factory=list)
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    # Messenger personas: every accepted creation's body, and the live ones by id.
    persona_requests: list[dict[str, Any]] = field(default_factory=list)
    personas: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_customer_message: dict[tuple[str, str], datetime] = field(default_factory=dict)
    unreachable: set[str] = field(default_factory=set)
    base_url: str = ""
    _failures: list[_Failure] = field(default_factory=list)
    _media: dict[str, _Media] = field(default_factory=dict)
    _media_urls: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- test controls ------------------------------------------------------------------------

    def fail_next(self, status: int, code: int, message: str = "error", *,
                  subcode: int | None = None, times: int = 1) -> None:  # fmt: skip
        """Answer the next ``times`` requests with this Graph error."""
        with self._lock:
            self._failures.extend([_Failure(status, code, message, subcode)] * times)

    def delete_persona_in_metas_tools(self, persona_id: str) -> None:
        """Delete a persona as a page admin would in Meta's own tools (the app is not told)."""
        with self._lock:
            del self.personas[persona_id]

    def customer_wrote(self, channel: str, contact_id: str, at: datetime | None = None) -> None:
        """Open the window as if the customer had written at ``at`` (default: now)."""
        self.last_customer_message[(channel, contact_id)] = at or self.clock()

    def add_media(self, content: bytes, mime_type: str, *, declared_size: int | None = None) -> str:
        """Store a media file; returns its id. ``declared_size`` overrides ``file_size``."""
        media_id = str(900_000_000_000 + next(self._ids))
        self._media[media_id] = _Media(content, mime_type, declared_size)
        return media_id

    @property
    def api_url(self) -> str:
        """``GRAPH_API_URL`` for the client: the fake's base with the version."""
        return f"{self.base_url}/{self.version}"

    # --- HTTP -------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/{version}/me/messages", self._messenger, methods=["POST"]),
                Route("/{version}/me/personas", self._create_persona, methods=["POST"]),
                Route("/{version}/{node}/messages", self._whatsapp, methods=["POST"]),
                Route("/media/{token}", self._download, methods=["GET"]),
                Route("/{version}/{media_id}", self._media_info, methods=["GET"]),
                Route("/{version}/{persona_id}", self._delete_persona, methods=["DELETE"]),
            ]
        )

    async def _common(self, request: Request) -> Response | None:
        """Injected failures and the token: an error answer, or None to go on."""
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            return graph_error(failure.status, failure.code, failure.message, failure.subcode)
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")
        if request.path_params.get("version", self.version) != self.version:
            return graph_error(400, 2635, f"Unknown API version {request.path_params['version']}")
        return None

    async def _record(self, request: Request, response: Response) -> Response:
        """Record the request, then answer (after ``delay_s``: the work is done already)."""
        with self._lock:
            self.requests.append((request.method, request.url.path, response.status_code))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return response

    async def _json(self, request: Request) -> dict[str, Any] | None:
        try:
            body = json.loads(await request.body())
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def _whatsapp(self, request: Request) -> Response:
        return await self._record(request, await self._whatsapp_answer(request))

    async def _whatsapp_answer(self, request: Request) -> Response:
        failed = await self._common(request)
        if failed is not None:
            return failed
        if request.path_params["node"] != self.phone_number_id:
            return graph_error(400, 100, "Unsupported post request. Object does not exist", 33)
        body = await self._json(request)
        if body is None or body.get("messaging_product") != "whatsapp":
            return graph_error(400, 100, "(#100) The parameter messaging_product is required.")
        if body.get("status") == "read":
            return JSONResponse({"success": True})
        to = body.get("to")
        if not isinstance(to, str) or not to.isdigit():
            return graph_error(400, 100, "(#100) Invalid parameter: to")
        problem = _whatsapp_problem(body)
        if problem:
            return graph_error(400, 131009, f"(#131009) Parameter value is not valid: {problem}")
        if to in self.unreachable:
            return graph_error(400, 131026, "(#131026) Message undeliverable")
        last = self.last_customer_message.get(("whatsapp", to))
        if body.get("type") != "template" and (
            last is None or self.clock() - last >= timedelta(hours=24)
        ):
            return graph_error(
                400, 131047, "(#131047) Re-engagement message: more than 24 hours have passed "
                "since the recipient last replied to the sender number.",
            )  # fmt: skip
        message_id = f"wamid.FAKE{next(self._ids):010d}"
        with self._lock:
            self.sent.append(Sent("whatsapp", to, body, message_id, self.clock()))
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": to}],
                "messages": [{"id": message_id}],
            }
        )

    async def _messenger(self, request: Request) -> Response:
        return await self._record(request, await self._messenger_answer(request))

    async def _messenger_answer(self, request: Request) -> Response:
        failed = await self._common(request)
        if failed is not None:
            return failed
        body = await self._json(request)
        recipient = (body or {}).get("recipient")
        psid = recipient.get("id") if isinstance(recipient, dict) else None
        if body is None or not isinstance(psid, str):
            return graph_error(400, 100, "(#100) param recipient must be non-empty.")
        problem = _messenger_problem(body)
        if problem:
            return graph_error(400, 100, f"(#100) {problem}")
        if psid in self.unreachable:
            return graph_error(400, 551, "(#551) This person isn't available right now.", 1545041)
        persona_id = body.get("persona_id")
        if persona_id is not None and persona_id not in self.personas:
            return graph_error(400, 100, "(#100) Invalid persona_id")
        last = self.last_customer_message.get(("messenger", psid))
        age = self.clock() - last if last else None
        tagged = body.get("messaging_type") == "MESSAGE_TAG" and body.get("tag") == "HUMAN_AGENT"
        limit = timedelta(days=7) if tagged else timedelta(hours=24)
        if age is None or age >= limit:
            return graph_error(
                400, 10, "(#10) This message is sent outside of allowed window.", 2018278
            )
        message_id = f"m_FAKE{next(self._ids):010d}"
        with self._lock:
            self.sent.append(Sent("messenger", psid, body, message_id, self.clock()))
        return JSONResponse({"recipient_id": psid, "message_id": message_id})

    async def _create_persona(self, request: Request) -> Response:
        return await self._record(request, await self._create_persona_answer(request))

    async def _create_persona_answer(self, request: Request) -> Response:
        failed = await self._common(request)
        if failed is not None:
            return failed
        body = await self._json(request)
        name = (body or {}).get("name")
        if body is None or not isinstance(name, str) or not 1 <= len(name.strip()) <= 50:
            return graph_error(400, 100, "(#100) param name must be 1 to 50 characters")
        picture = body.get("profile_picture_url")
        if picture is not None and (
            not isinstance(picture, str) or not picture.startswith("https://")
        ):
            return graph_error(400, 100, "(#100) profile_picture_url must be a public https URL")
        persona_id = str(700_000_000_000 + next(self._ids))
        with self._lock:
            self.persona_requests.append(body)
            self.personas[persona_id] = {"name": name, "profile_picture_url": picture}
        return JSONResponse({"id": persona_id})

    async def _delete_persona(self, request: Request) -> Response:
        failed = await self._common(request)
        if failed is not None:
            return await self._record(request, failed)
        with self._lock:
            found = self.personas.pop(request.path_params["persona_id"], None)
        if found is None:
            return await self._record(
                request, graph_error(400, 100, "Unsupported delete request. Object does not "
                                     "exist", 33))  # fmt: skip
        return await self._record(request, JSONResponse({"success": True}))

    async def _media_info(self, request: Request) -> Response:
        failed = await self._common(request)
        if failed is not None:
            return await self._record(request, failed)
        media = self._media.get(request.path_params["media_id"])
        if media is None:
            return await self._record(
                request, graph_error(400, 100, "Unsupported get request. Object does not exist", 33)
            )
        token = secrets.token_urlsafe(16)
        self._media_urls[token] = (
            request.path_params["media_id"],
            self.clock() + self.media_url_ttl,
        )
        size = media.declared_size if media.declared_size is not None else len(media.content)
        return await self._record(
            request,
            JSONResponse(
                {
                    "messaging_product": "whatsapp",
                    "url": f"{self.base_url}/media/{token}",
                    "mime_type": media.mime_type,
                    "sha256": hashlib.sha256(media.content).hexdigest(),
                    "file_size": size,
                    "id": request.path_params["media_id"],
                }
            ),
        )

    async def _download(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return await self._record(request, graph_error(401, 190, "Invalid OAuth access token"))
        found = self._media_urls.get(request.path_params["token"])
        if found is None or self.clock() >= found[1]:
            return await self._record(request, graph_error(404, 100, "URL expired or unknown"))
        media = self._media[found[0]]

        async def chunks() -> Any:
            for start in range(0, len(media.content), 64 * 1024):
                yield media.content[start : start + 64 * 1024]

        # Streamed without Content-Length: the client must count the bytes itself.
        response = StreamingResponse(chunks(), media_type=media.mime_type)
        return await self._record(request, response)

    # --- the webhook sender -------------------------------------------------------------------

    def signature(self, raw: bytes) -> str:
        return "sha256=" + hmac.new(self.app_secret.encode(), raw, hashlib.sha256).hexdigest()

    async def deliver(
        self,
        url: str,
        body: dict[str, Any] | bytes,
        *,
        signature: str | None | Callable[[bytes], str | None] = "sign",
        timeout_s: float = 2.0,
        attempts: int = 4,
        pause_s: float = 0.05,
    ) -> list[Attempt]:
        """POST a webhook body to ``url`` like Meta: signed, again after non-200 or timeout.

        Args:
            url: the webhook route.
            body: a dict (serialised as Meta does: compact, non-ASCII escaped) or raw bytes.
            signature: "sign" for the right signature, None for no header, or a fixed value.
            timeout_s: how long an answer may take before the delivery counts as failed.
            attempts: deliveries at most (Meta keeps trying for up to days).
            pause_s: pause before a redelivery (doubling; Meta's are minutes to hours).

        Returns:
            Every attempt, the last one ``200`` when the delivery succeeded.
        """
        raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        if not isinstance(body, bytes):
            self._note_customer_messages(body)
        headers = {"Content-Type": "application/json"}
        if signature == "sign":
            headers["X-Hub-Signature-256"] = self.signature(raw)
        elif isinstance(signature, str):
            headers["X-Hub-Signature-256"] = signature
        done: list[Attempt] = []
        async with httpx.AsyncClient() as client:
            for attempt in range(attempts):
                if attempt:
                    await asyncio.sleep(pause_s * 2 ** (attempt - 1))
                try:
                    response = await client.post(
                        url, content=raw, headers=headers, timeout=timeout_s
                    )
                except httpx.TimeoutException:
                    done.append(Attempt(None, "timeout"))
                    continue
                except httpx.TransportError as error:
                    done.append(Attempt(None, type(error).__name__))
                    continue
                done.append(Attempt(response.status_code))
                if response.status_code == 200:
                    break
        return done

    def _note_customer_messages(self, body: dict[str, Any]) -> None:
        """The customer's messages in a body open the window (from their timestamps)."""
        for entry in body.get("entry", []):
            for change in entry.get("changes", []):
                for message in change.get("value", {}).get("messages", []):
                    at = datetime.fromtimestamp(int(message["timestamp"]), timezone.utc)
                    self.customer_wrote("whatsapp", message["from"], at)
            for event in entry.get("messaging", []):
                message = event.get("message", {})
                if ("message" in event and not message.get("is_echo")) or "postback" in event:
                    at = datetime.fromtimestamp(event["timestamp"] / 1000, timezone.utc)
                    self.customer_wrote("messenger", event["sender"]["id"], at)


def _whatsapp_problem(body: dict[str, Any]) -> str | None:
    """What Meta would refuse in a WhatsApp send body (its documented limits)."""
    kind = body.get("type")
    if kind == "text":
        text = body.get("text", {}).get("body")
        if not isinstance(text, str) or not text or len(text) > 4096:
            return "text.body must have 1 to 4096 characters"
        return None
    if kind == "template":
        return None if body.get("template", {}).get("name") else "template.name"
    if kind != "interactive":
        return f"unsupported type {kind!r}"
    interactive = body.get("interactive", {})
    text = interactive.get("body", {}).get("text", "")
    if not text or len(text) > 1024:
        return "interactive.body.text must have 1 to 1024 characters"
    action = interactive.get("action", {})
    if interactive.get("type") == "button":
        buttons = action.get("buttons", [])
        titles = [b.get("reply", {}).get("title", "") for b in buttons]
        if not 1 <= len(buttons) <= 3:
            return "buttons: 1 to 3"
        if any(not t or len(t) > 20 for t in titles) or len(set(titles)) != len(titles):
            return "button titles: unique, 1 to 20 characters"
        if any(len(b.get("reply", {}).get("id", "")) > 256 for b in buttons):
            return "button ids: at most 256 characters"
        return None
    if interactive.get("type") == "list":
        if not 1 <= len(action.get("button", "")) <= 20:
            return "list button: 1 to 20 characters"
        rows = [r for s in action.get("sections", []) for r in s.get("rows", [])]
        if not 1 <= len(rows) <= 10:
            return "rows: 1 to 10"
        if any(not r.get("title") or len(r["title"]) > 24 for r in rows):
            return "row titles: 1 to 24 characters"
        if any(len(r.get("description", "")) > 72 for r in rows):
            return "row descriptions: at most 72 characters"
        if len({r["title"] for r in rows}) != len(rows):
            return "row titles must be unique"
        return None
    return f"unsupported interactive type {interactive.get('type')!r}"


def _messenger_problem(body: dict[str, Any]) -> str | None:
    """What Meta would refuse in a Messenger send body."""
    kind = body.get("messaging_type")
    if kind not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
        return "messaging_type must be RESPONSE, UPDATE or MESSAGE_TAG"
    if kind == "MESSAGE_TAG" and body.get("tag") not in (
        "HUMAN_AGENT",
        "ACCOUNT_UPDATE",
        "CONFIRMED_EVENT_UPDATE",
        "POST_PURCHASE_UPDATE",
    ):
        return "tag is not valid"  # fmt: skip
    message = body.get("message", {})
    text = message.get("text")
    if not isinstance(text, str) or not text or len(text) > 2000:
        return "message.text must have 1 to 2000 characters"
    replies = message.get("quick_replies")
    if replies is not None:
        if not 1 <= len(replies) <= 13:
            return "quick_replies: 1 to 13"
        if any(not r.get("title") or len(r["title"]) > 20 for r in replies):
            return "quick reply titles: 1 to 20 characters"
        if any(len(r.get("payload", "")) > 1000 for r in replies):
            return "quick reply payloads: at most 1000 characters"
    return None
