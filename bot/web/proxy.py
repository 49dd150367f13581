"""The client's address behind reverse proxies, believed only as far as trusted proxies vouch.

Rate limits (new conversations, failed logins, callback requests) count per client address, so
the address must not be something a client can choose. ``X-Forwarded-For`` is a list that every
proxy extends with the address it received the request from; only the entries added by our own
proxies are true, anything to their left may be invented by the client. So:

* the header is read only when the connection comes from a trusted proxy (``TRUSTED_PROXIES``:
  addresses or networks, comma-separated; default none: ``make run`` trusts nobody and the
  connection's own address is the client);
* the list is read from the right, skipping trusted proxies: the first untrusted entry is the
  address our outermost proxy saw, the client. Entries further left are ignored. If every
  entry is trusted (a request from inside), the left-most one counts.
* ``X-Forwarded-Proto`` of a trusted proxy sets the scheme (``https`` behind a TLS-terminating
  ingress).

``"*"`` (trust everyone, uvicorn's ``FORWARDED_ALLOW_IPS="*"``) is refused: with it any client
could name any address. uvicorn's own proxy handling is switched off (``bot/web/__main__.py``);
:class:`TrustedProxies` replaces it as the web app's outermost middleware.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Final

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN_CLIENT: Final = "unknown"
# Key in the request's state: the trusted proxy the request came from.
PROXY_STATE: Final = "proxy"


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``TRUSTED_PROXIES`` entries (``10.0.0.5``, ``10.42.0.0/16``, ``fd00::/8``) as networks.

    Raises:
        ValueError: an entry is ``*`` or not an address or network.
    """
    networks = []
    for entry in (e.strip() for e in entries):
        if not entry:
            continue
        if entry == "*":
            raise ValueError(
                "TRUSTED_PROXIES must name the proxies' addresses or networks, not '*' "
                "(with '*' every client could forge its address)"
            )
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES: {entry!r} is no address or network") from exc
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        ip = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class TrustedProxies:
    """ASGI middleware: ``scope["client"]`` becomes the client as the trusted proxies saw it."""

    def __init__(self, app: ASGIApp, *, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    def is_trusted(self, host: str | None) -> bool:
        """True when ``host`` is one of the trusted proxies."""
        ip = _address(host) if host else None
        return ip is not None and any(ip in network for network in self.trusted)

    def client_of(self, peer: str, forwarded: Sequence[str]) -> str:
        """The client address of a request from trusted proxy ``peer`` with these entries."""
        chain = [entry.strip() for entry in forwarded if entry.strip()]
        for entry in reversed(chain):
            if not self.is_trusted(entry):
                # Written by our outermost proxy; a proxy writing no address is misconfigured,
                # and then the proxy itself is the best address there is (never client text).
                ip = _address(entry)
                return str(ip) if ip is not None else peer
        first = _address(chain[0]) if chain else None
        return str(first) if first is not None else peer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite the client (and scheme) of requests that came through trusted proxies."""
        if scope["type"] in ("http", "websocket") and self.trusted:
            client = scope.get("client")
            if client and self.is_trusted(client[0]):
                # Remembered for proxied(): the rewritten client no longer shows the proxy.
                scope.setdefault("state", {})[PROXY_STATE] = client[0]
                forwarded: list[str] = []
                proto = None
                for name, value in scope.get("headers", []):
                    if name == b"x-forwarded-for":
                        forwarded.extend(value.decode("latin-1").split(","))
                    elif name == b"x-forwarded-proto":
                        proto = value.decode("latin-1").split(",")[-1].strip().lower()
                if forwarded:
                    scope["client"] = (self.client_of(client[0], forwarded), 0)
                if proto in ("http", "https"):
                    scope["scheme"] = (
                        proto.replace("http", "ws") if scope["type"] == "websocket" else proto
                    )
        await self.app(scope, receive, send)


def client_address(request: Request) -> str:
    """The client's address as :class:`TrustedProxies` determined it (the key of rate limits)."""
    return request.client.host if request.client else UNKNOWN_CLIENT


def proxied(request: Request) -> bool:
    """True when the request came through a proxy.

    It did when it came on a trusted proxy's connection or carries forwarding headers (a client
    cannot remove what a proxy appends).
    """
    headers = request.headers
    if any(name in headers for name in ("x-forwarded-for", "x-forwarded-proto", "forwarded")):
        return True
    return PROXY_STATE in request.scope.get("state", {})
