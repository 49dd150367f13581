"""Passwords, signed session tokens and CSRF tokens of the web app.

Passwords are hashed with Argon2id (``argon2-cffi`` defaults: memory-hard, salted). Session
cookies carry ``agent id, expiry`` signed with HMAC-SHA256 over the server's secret key, so a
restarted web app keeps agents logged in and no session table is needed. CSRF tokens are an
HMAC of the session token: a page gets it in a ``<meta>`` tag, every state-changing request
sends it back in ``X-CSRF-Token`` (or the login form's hidden field).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SESSION_TTL_S = 12 * 3600  # one working day plus overtime; agents log in again the next day
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash`` (never raises)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """A random password for demo users (printed once at start-up)."""
    return secrets.token_urlsafe(12)


def load_or_create_secret(path: Path) -> str:
    """The demo mode's secret key, generated once into ``path`` (git-ignored build/)."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret, encoding="utf-8")
    path.chmod(0o600)
    return secret


@dataclass(frozen=True)
class Signer:
    """Signs and checks session tokens and CSRF tokens with one secret key."""

    secret: str

    def _mac(self, message: str) -> str:
        digest = hmac.new(self.secret.encode(), message.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def session_token(self, agent_id: int, now: float | None = None) -> str:
        """A token for ``agent_id`` valid for :data:`SESSION_TTL_S`."""
        expires = int((now or time.time()) + SESSION_TTL_S)
        payload = f"{agent_id}.{expires}.{secrets.token_urlsafe(8)}"
        return f"{payload}.{self._mac(payload)}"

    def agent_id(self, token: str | None, now: float | None = None) -> int | None:
        """The agent id of a valid, unexpired token, else ``None``."""
        if not token or token.count(".") != 3:
            return None
        payload, _, mac = token.rpartition(".")
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        agent, expires, _nonce = payload.split(".")
        if not agent.isdigit() or not expires.isdigit() or int(expires) < (now or time.time()):
            return None
        return int(agent)

    def csrf_token(self, bound_to: str) -> str:
        """The CSRF token belonging to a session token (or a login nonce)."""
        return self._mac(f"csrf:{bound_to}")

    def check_csrf(self, bound_to: str | None, token: str | None) -> bool:
        """True when ``token`` belongs to ``bound_to``."""
        if not bound_to or not token:
            return False
        return hmac.compare_digest(token, self.csrf_token(bound_to))
