"""Security headers on every answer of the web app (:class:`SecurityHeaders`, plain ASGI).

* ``Content-Security-Policy``: scripts, styles, images, fonts and connections only from this
  origin; no inline script or style, no ``eval``, no plug-ins; forms post only here; no page may
  be framed (``frame-ancestors 'none'``, clickjacking of the consoles). The templates carry no
  inline script or style attribute: every script is a file under ``/static``, the brand colour
  comes from ``/brand.css``.
* ``X-Frame-Options: DENY`` for browsers without ``frame-ancestors``.
* ``X-Content-Type-Options: nosniff``: a JSON answer or an upload is never run as a script.
* ``Referrer-Policy: same-origin``: conversation ids in our URLs never reach other sites.
* ``Cross-Origin-Opener-Policy: same-origin``; ``Permissions-Policy`` switches off what no page
  needs (camera, microphone, geolocation).
* Outside demo mode ``Strict-Transport-Security`` (the production profile is HTTPS only).

Only in demo mode, where FastAPI's ``/docs`` and ``/redoc`` exist, those two pages get no
policy: they load their script from a CDN and start it inline.
"""

from __future__ import annotations

from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY: Final = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    )
)
HEADERS: Final = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
)
HSTS: Final = ("Strict-Transport-Security", "max-age=31536000")
DOCS_PATHS: Final = ("/docs", "/redoc")


class SecurityHeaders:
    """ASGI middleware: :data:`HEADERS` on every HTTP answer (HSTS with ``https=True``)."""

    def __init__(self, app: ASGIApp, *, https: bool, docs: bool) -> None:
        self.app = app
        self.headers = HEADERS + ((HSTS,) if https else ())
        self.docs = docs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the headers to the answer's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        on_docs = self.docs and scope.get("path", "").startswith(DOCS_PATHS)

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers:
                    if on_docs and name == "Content-Security-Policy":
                        continue
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, answer)
