"""Passwords and CSRF tokens of the web app (the sessions themselves: ``bot.web.sessions``).

Passwords are hashed with Argon2id (``argon2-cffi`` defaults: memory-hard, salted). A login
with an unknown user name is checked against :func:`dummy_hash`, a hash with the same
parameters, so it takes as long as one with a wrong password and the answer time does not tell
whether the name exists. CSRF tokens are an HMAC-SHA256 of the session token over the server's
secret key: a page gets it in a ``<meta>`` tag, every state-changing request sends it back in
``X-CSRF-Token`` (or the login form's hidden field).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.secretfile import load_or_create_secret as load_or_create_secret

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash`` (never raises)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError, UnicodeError):
        return False


@cache
def dummy_hash() -> str:
    """A hash of a random password nobody knows, made once per process (unknown user names)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def generate_password() -> str:
    """A random password for demo users (printed once at start-up)."""
    return secrets.token_urlsafe(12)


@dataclass(frozen=True)
class Signer:
    """Makes and checks CSRF tokens with one secret key."""

    secret: str

    def _mac(self, message: str) -> str:
        data = message.encode("utf-8", "surrogatepass")
        digest = hmac.new(self.secret.encode(), data, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def csrf_token(self, bound_to: str) -> str:
        """The CSRF token belonging to a session token (or a login nonce)."""
        return self._mac(f"csrf:{bound_to}")

    def check_csrf(self, bound_to: str | None, token: str | None) -> bool:
        """True when ``token`` belongs to ``bound_to``."""
        if not bound_to or not token:
            return False
        # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, a 500).
        given = token.encode("utf-8", "surrogatepass")
        return hmac.compare_digest(given, self.csrf_token(bound_to).encode("ascii"))
