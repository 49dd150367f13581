"""The one client of Meta's Graph API: WhatsApp and Messenger sends, media, Messenger personas.

Asynchronous (``httpx.AsyncClient``) like the web app that uses it; one client per process,
closed on shutdown (``async with GraphClient(...)`` or :meth:`GraphClient.aclose`). Every call
has a timeout and the bearer token ``META_ACCESS_TOKEN``; the base URL carries the pinned
API version (``GRAPH_API_URL``, e.g. ``https://graph.facebook.com/v24.0``).

Retries: a refused or dropped connection and a ``5xx`` answer are retried with exponential
backoff (:data:`RETRY_ATTEMPTS`, :data:`RETRY_BACKOFF_S`). ``4xx`` answers are not: the same
request would fail again. A send that timed out *while waiting for the answer* is not retried
either, since Meta may have delivered it already and the customer would read it twice (nor
is a persona's creation: a second persona); a download (a ``GET``) and a ``DELETE`` are.

Errors (Meta's ``error.code`` and ``error_subcode``; codes from Meta's "WhatsApp error codes",
"Messenger Send API error codes" and "Graph API error handling" pages)::

    GraphError                   base: ``status``, ``code``, ``subcode``, ``fbtrace_id``
     ├── GraphUnavailable        no connection, timed out, 5xx after the retries
     ├── GraphAuthError          token invalid or expired (190, 102, 0) or a permission
     │                           missing (10 without subcode, 200-299, 3): fix the settings
     ├── WindowClosed            free-form reply no longer allowed: WhatsApp 131047 (24 hours
     │                           since the customer's last message), Messenger 10/2018278
     │                           (outside the window; HUMAN_AGENT extends it to 7 days for a
     │                           person's reply) -> offer a template or a callback
     ├── RateLimited             4, 17, 32, 613, 80007, 130429 (throughput), 131048 (spam
     │                           limit), 131056 (pair limit): send later
     ├── InvalidRecipient        the customer cannot be reached: 131026 (undeliverable), 131021,
     │                           131030 (not in the test allow-list), 133010, Messenger 551
     │                           (person unavailable), 100/2018001 (no matching user)
     ├── MediaError              a media file cannot be fetched: expired URL, 131052, unknown id
     │    └── MediaTooLarge      larger than the caller's limit (nothing beyond it is read)
     └── GraphRequestError       any other 4xx: our request is wrong (100 invalid parameter,
                                 131009, 131051 unsupported type, ...) or the answer unreadable
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from bot.social.events import Channel

logger = logging.getLogger(__name__)

# Connecting to Meta's edge takes tens of milliseconds; 3 s only cuts off a network problem.
CONNECT_TIMEOUT_S: Final = 3.0
# A send is answered within about a second; 10 s covers Meta's slow moments. The webhook is
# acknowledged before any send, so a slow send delays the answer, never the acknowledgement.
READ_TIMEOUT_S: Final = 10.0
DEFAULT_TIMEOUT: Final = httpx.Timeout(READ_TIMEOUT_S, connect=CONNECT_TIMEOUT_S)
# Attempts per call (1 + 2 retries), waiting 0.5 s, then 1 s: rides out a dropped connection
# or a brief 5xx without keeping the customer waiting for long.
RETRY_ATTEMPTS: Final = 3
RETRY_BACKOFF_S: Final = 0.5
# WhatsApp's media limits are 5 MB (images), 16 MB (audio, video), 100 MB (documents); the
# assistant needs none of it in full. Callers pass their own limit.
DEFAULT_MEDIA_LIMIT_BYTES: Final = 5 * 1024 * 1024
_ERROR_BODY_LIMIT: Final = 64 * 1024

_AUTH_CODES: Final = frozenset({0, 3, 102, 190})
_RATE_CODES: Final = frozenset({4, 17, 32, 613, 80007, 130429, 131048, 131056})
_RECIPIENT_CODES: Final = frozenset({131021, 131026, 131030, 133010, 551})
_MEDIA_CODES: Final = frozenset({131052, 131053})
MESSENGER_OUTSIDE_WINDOW_SUBCODE: Final = 2018278
_NO_MATCHING_USER_SUBCODE: Final = 2018001
_NO_SUCH_OBJECT: Final = 33
# Meta's longest persona name (its Personas API documentation).
PERSONA_NAME_LIMIT: Final = 50


class GraphError(Exception):
    """Base class of every error of :class:`GraphClient`.

    Attributes:
        status: the HTTP status; None when no answer came.
        code: Meta's ``error.code``; None when the answer had none.
        subcode: Meta's ``error.error_subcode``.
        fbtrace_id: Meta's trace id (quote it to Meta's support).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id


class GraphUnavailable(GraphError):
    """Meta could not be reached, timed out, or answered ``5xx`` on every attempt."""


class GraphAuthError(GraphError):
    """The access token is invalid or expired, or the app lacks a permission."""


class WindowClosed(GraphError):
    """The messaging window is closed: only a template (WhatsApp) or nothing may be sent."""


class RateLimited(GraphError):
    """Too many messages; ``retry_after`` (seconds) when Meta said how long to wait."""

    retry_after: float | None = None


class InvalidRecipient(GraphError):
    """The customer cannot receive messages (blocked the business, no account, ...)."""


class MediaError(GraphError):
    """A media file could not be fetched (expired URL, deleted, not found)."""


class MediaTooLarge(MediaError):
    """The media file is larger than the caller's limit."""


class GraphRequestError(GraphError):
    """Meta rejected the request (a ``4xx`` not covered above) or answered unreadably."""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def error_from_response(response: httpx.Response, *, media: bool = False) -> GraphError:
    """Map a failed Graph answer to the error tree (see the module docstring)."""
    try:
        body = response.json() if len(response.content) <= _ERROR_BODY_LIMIT else {}
    except ValueError:
        body = {}
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    details = error.get("error_data", {})
    details = details.get("details") if isinstance(details, dict) else None
    text = str(details or error.get("message") or response.reason_phrase or "error")[:300]
    fields: dict[str, Any] = {
        "status": response.status_code,
        "code": code,
        "subcode": subcode,
        "fbtrace_id": str(error["fbtrace_id"])[:64] if "fbtrace_id" in error else None,
    }
    message = f"Graph API {response.status_code} (code {code}, subcode {subcode}): {text}"
    cls: type[GraphError]
    if response.status_code >= 500:
        cls = GraphUnavailable
    elif code == 131047 or (code == 10 and subcode == MESSENGER_OUTSIDE_WINDOW_SUBCODE):
        cls = WindowClosed
    elif code in _RATE_CODES or response.status_code == 429:
        cls = RateLimited
    elif code in _RECIPIENT_CODES or subcode == _NO_MATCHING_USER_SUBCODE:
        cls = InvalidRecipient
    elif code in _MEDIA_CODES or (
        # a media id or URL that is unknown ("object does not exist": subcode 33) or expired
        media and (response.status_code in (403, 404, 410) or subcode == _NO_SUCH_OBJECT)
    ):
        cls = MediaError
    elif (
        code in _AUTH_CODES
        or (code is not None and (code == 10 or 200 <= code <= 299))
        or response.status_code == 401
    ):
        cls = GraphAuthError
    else:
        cls = GraphRequestError
    found = cls(message, **fields)
    if isinstance(found, RateLimited):
        retry_after = response.headers.get("Retry-After", "")
        found.retry_after = float(retry_after) if retry_after.isdigit() else None
    return found


@dataclass(frozen=True)
class SentMessage:
    """Meta accepted a message.

    ``message_id`` (``wamid...``/``m_...``) identifies its statuses and its Messenger echo.
    """

    channel: Channel
    contact_id: str
    message_id: str


@dataclass(frozen=True)
class MediaFile:
    """A downloaded media file, at most the caller's limit in size."""

    content: bytes
    mime_type: str | None


@dataclass(frozen=True)
class Outgoing:
    """One message to send: the channel, the customer and the Send API body.

    Built by :mod:`bot.social.outbound`; :meth:`GraphClient.send` posts it to
    ``/{phone-number-id}/messages`` (WhatsApp) or ``/me/messages`` (Messenger).
    """

    channel: Channel
    contact_id: str
    payload: Mapping[str, Any]


Sleep = Callable[[float], Awaitable[None]]


class GraphClient:
    """Calls to the Graph API with one connection pool.

    Args:
        base_url: ``GRAPH_API_URL`` including the version.
        access_token: ``META_ACCESS_TOKEN``.
        whatsapp_phone_number_id: the sender of WhatsApp messages.
        timeout: per request; always set.
        attempts: tries per call on connection errors and 5xx.
        backoff_s: wait before the second try; doubles each time.
        sleep: awaited between tries (tests pass a fake to run fast).
    """

    def __init__(
        self,
        base_url: str,
        access_token: str,
        *,
        whatsapp_phone_number_id: str | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        attempts: int = RETRY_ATTEMPTS,
        backoff_s: float = RETRY_BACKOFF_S,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._phone_number_id = whatsapp_phone_number_id
        self._timeout = timeout
        self._attempts = max(1, attempts)
        self._backoff_s = backoff_s
        self._sleep = sleep
        self._auth = {"Authorization": f"Bearer {access_token}"}
        # No cookies, no redirects to follow blindly: a redirect answer is an error.
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def __aenter__(self) -> GraphClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    # --- transport with retries -------------------------------------------------------------

    async def _request(
        self, method: str, url: str, *, json: Mapping[str, Any] | None = None, media: bool = False
    ) -> httpx.Response:
        """One call with retries; returns a 2xx answer or raises from the error tree."""
        idempotent = method in ("GET", "DELETE")
        last: GraphError | None = None
        for attempt in range(self._attempts):
            if attempt:
                await self._sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                response = await self._http.request(
                    method, url, json=json, headers=self._auth, timeout=self._timeout
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                # Nothing was sent: always safe to try again.
                last = GraphUnavailable(f"Graph API not reachable: {type(error).__name__}")
                continue
            except (httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError,
                    httpx.ReadError, httpx.WriteError) as error:  # fmt: skip
                last = GraphUnavailable(
                    f"Graph API connection failed after sending: {type(error).__name__}"
                    + ("" if idempotent else " (the message may have been delivered)")
                )
                if idempotent:
                    continue
                raise last from None
            except httpx.HTTPError as error:  # an unusable URL and other transport failures
                raise GraphUnavailable(
                    f"Graph API request failed: {type(error).__name__}"
                ) from None
            if response.is_success:
                return response
            found = error_from_response(response, media=media)
            if not isinstance(found, GraphUnavailable):
                raise found
            last = found
            logger.warning("Graph API %s, attempt %d of %d", response.status_code, attempt + 1,
                           self._attempts)  # fmt: skip
        assert last is not None
        raise last

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            raise GraphRequestError(
                "Graph API answer is not JSON", status=response.status_code
            ) from None
        if not isinstance(body, dict):
            raise GraphRequestError(
                "Graph API answer is not an object", status=response.status_code
            )
        return body

    # --- sending ----------------------------------------------------------------------------

    async def send(self, outgoing: Outgoing) -> SentMessage:
        """Send one message.

        Returns:
            Meta's id of the message.

        Raises:
            GraphError: see the module docstring; WindowClosed when the window has closed.
        """
        if outgoing.channel is Channel.WHATSAPP:
            if not self._phone_number_id:
                raise GraphRequestError("WHATSAPP_PHONE_NUMBER_ID is not set")
            url = f"{self._base}/{self._phone_number_id}/messages"
        elif outgoing.channel is Channel.MESSENGER:
            url = f"{self._base}/me/messages"
        else:
            raise GraphRequestError(f"channel {outgoing.channel.value} is not sent through Meta")
        body = self._json(await self._request("POST", url, json=outgoing.payload))
        if outgoing.channel is Channel.WHATSAPP:
            messages = body.get("messages")
            first = messages[0] if isinstance(messages, list) and messages else {}
            message_id = first.get("id") if isinstance(first, dict) else None
        else:
            message_id = body.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            raise GraphRequestError("Graph API answer without a message id")
        return SentMessage(outgoing.channel, outgoing.contact_id, message_id)

    async def mark_read(self, message_id: str) -> None:
        """Mark a WhatsApp message as read (the customer sees two blue ticks)."""
        url = f"{self._base}/{self._phone_number_id}/messages"
        payload = {"messaging_product": "whatsapp", "status": "read", "message_id": message_id}
        await self._request("POST", url, json=payload)

    # --- Messenger personas -------------------------------------------------------------------

    async def create_persona(self, name: str, picture_url: str | None = None) -> str:
        """Create a Messenger persona of the page (``POST /me/personas``).

        Args:
            name: what Messenger shows above the persona's messages (Meta: at most 50
                characters); an agent's public alias, never their login name.
            picture_url: a public ``https`` URL Meta downloads the picture from (at most
                8 MB); None: the persona has no picture of its own.

        Returns:
            The persona's id, for ``persona_id`` in Send API bodies.

        Raises:
            GraphRequestError: an empty or too long name, a picture URL that is not https,
                Meta refused the request (e.g. a picture it could not download), or its
                answer carried no id.
            GraphError: see the module docstring (GraphAuthError: the page token lacks
                ``pages_messaging``).
        """
        name = name.strip()
        if not 0 < len(name) <= PERSONA_NAME_LIMIT:
            raise GraphRequestError(f"a persona name has 1 to {PERSONA_NAME_LIMIT} characters")
        body: dict[str, str] = {"name": name}
        if picture_url is not None:
            if urlsplit(picture_url).scheme != "https":
                raise GraphRequestError("a persona picture needs a public https URL")
            body["profile_picture_url"] = picture_url
        answer = self._json(await self._request("POST", f"{self._base}/me/personas", json=body))
        persona_id = answer.get("id")
        if not isinstance(persona_id, str) or not persona_id.isdigit():
            raise GraphRequestError("Graph API answer without a persona id")
        return persona_id

    async def delete_persona(self, persona_id: str) -> None:
        """Delete a persona (``DELETE /{persona-id}``); messages sent as it stay as they were.

        Raises:
            GraphRequestError: not a persona id (checked before anything is sent), or Meta
                does not know it (code 100).
            GraphError: see the module docstring.
        """
        if not persona_id.isdigit():  # the id becomes part of the URL path
            raise GraphRequestError(f"not a persona id: {persona_id[:40]!r}")
        await self._request("DELETE", f"{self._base}/{persona_id}")

    # --- media --------------------------------------------------------------------------------

    async def download_media(
        self, media_id: str, *, max_bytes: int = DEFAULT_MEDIA_LIMIT_BYTES
    ) -> MediaFile:
        """Fetch a WhatsApp media file by its id (two calls: its URL, then the file).

        The URL Meta returns expires after about five minutes, so it is fetched right before the
        download and never stored.

        Raises:
            MediaTooLarge: Meta's ``file_size`` or the bytes received exceed ``max_bytes``.
            MediaError: the id is unknown or the URL expired.
        """
        if not media_id.isdigit():
            raise MediaError(f"not a media id: {media_id[:40]!r}")
        info = self._json(await self._request("GET", f"{self._base}/{media_id}", media=True))
        url, size = info.get("url"), _int(info.get("file_size"))
        if not isinstance(url, str):
            raise MediaError("Graph API media answer without a URL")
        if size is not None and size > max_bytes:
            raise MediaTooLarge(f"media file has {size} bytes, the limit is {max_bytes}")
        mime = info.get("mime_type")
        return await self._download(url, max_bytes, mime if isinstance(mime, str) else None)

    async def download_url(
        self, url: str, *, max_bytes: int = DEFAULT_MEDIA_LIMIT_BYTES
    ) -> MediaFile:
        """Fetch a Messenger attachment URL from a webhook (signed by Meta, expires too)."""
        return await self._download(url, max_bytes, None)

    async def _download(self, url: str, max_bytes: int, mime: str | None) -> MediaFile:
        parts = urlsplit(url)
        base = urlsplit(self._base)
        # The token goes only over https, or to the Graph API's own host (the tests' fake).
        if parts.scheme != "https" and (parts.scheme, parts.netloc) != (base.scheme, base.netloc):
            raise MediaError("media URL is neither https nor the Graph API's host")
        for attempt in range(self._attempts):
            if attempt:
                await self._sleep(self._backoff_s * 2 ** (attempt - 1))
            try:
                async with self._http.stream(
                    "GET", url, headers=self._auth, timeout=self._timeout
                ) as response:
                    if not response.is_success:
                        await response.aread()
                        found = error_from_response(response, media=True)
                        if isinstance(found, GraphUnavailable):
                            continue
                        raise found
                    declared = response.headers.get("Content-Length", "")
                    if declared.isdigit() and int(declared) > max_bytes:
                        raise MediaTooLarge(f"media file has {declared} bytes, limit {max_bytes}")
                    chunks: list[bytes] = []
                    received = 0
                    async for chunk in response.aiter_bytes():
                        received += len(chunk)
                        if received > max_bytes:
                            raise MediaTooLarge(
                                f"media file exceeds the limit of {max_bytes} bytes"
                            )
                        chunks.append(chunk)
                    content_type = response.headers.get("Content-Type")
                    return MediaFile(b"".join(chunks), mime or content_type)
            except httpx.TransportError as error:
                logger.warning("media download failed: %s", type(error).__name__)
                continue
        raise GraphUnavailable("media download failed on every attempt")
