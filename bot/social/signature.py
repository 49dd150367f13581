r"""The two checks of Meta's webhook (``shared/contracts.md`` section 5).

* Registration: ``GET ?hub.mode=subscribe&hub.verify_token=T&hub.challenge=C`` is answered with
  ``C`` when ``T`` is our verify token (:func:`verification_challenge`).
* Every ``POST`` carries ``X-Hub-Signature-256: sha256=<hex>``, the HMAC-SHA256 of the raw body
  with the app secret (:func:`signature_valid`). The check runs over the bytes as received:
  JSON parsed and serialised again differs in spacing, key order and escapes (Meta escapes
  non-ASCII as ``\uXXXX``), so its HMAC would not match.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Final

SIGNATURE_HEADER: Final = "X-Hub-Signature-256"
_PREFIX: Final = "sha256="
# A SHA-256 digest is 32 bytes, 64 hex digits; anything longer is not worth hashing.
_HEX_LENGTH: Final = 64
# Meta's challenge is a number of about ten digits; a longer one is not echoed back.
_MAX_CHALLENGE: Final = 200


def sign(app_secret: str, body: bytes) -> str:
    """Return the ``X-Hub-Signature-256`` value Meta sends with ``body``.

    Args:
        app_secret: the app secret (``META_APP_SECRET``).
        body: the raw request body.
    """
    digest = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return _PREFIX + digest


def signature_valid(app_secret: str, body: bytes, header: str | None) -> bool:
    """Return whether ``header`` is Meta's signature of ``body``.

    The comparison takes the same time wherever the first differing digit is
    (:func:`hmac.compare_digest`), so the signature cannot be guessed digit by digit.

    Args:
        app_secret: the app secret; an empty secret never validates (the routes are off).
        body: the raw request body, exactly as received.
        header: the value of ``X-Hub-Signature-256``, or None when it is missing.

    Returns:
        False for a missing header, one without the ``sha256=`` prefix, one that is not 64 hex
        digits, and a wrong digest.
    """
    if not app_secret or header is None:
        return False
    header = header.strip()
    if not header.startswith(_PREFIX):
        return False
    given = header[len(_PREFIX) :].lower()
    if len(given) != _HEX_LENGTH or not given.isascii():
        return False
    expected = sign(app_secret, body)[len(_PREFIX) :]
    return hmac.compare_digest(given.encode("ascii"), expected.encode("ascii"))


def verification_challenge(params: Mapping[str, str], verify_token: str) -> str | None:
    """Answer Meta's subscription check.

    Args:
        params: the query parameters of the ``GET`` (``hub.mode``, ``hub.verify_token``,
            ``hub.challenge``).
        verify_token: ``META_VERIFY_TOKEN``; an empty token never matches.

    Returns:
        The challenge to send back as the ``200`` body (text/plain), or None: answer ``403``
        (wrong mode or token, or a missing, empty or overlong challenge).
    """
    if params.get("hub.mode") != "subscribe" or not verify_token:
        return None
    token = params.get("hub.verify_token")
    challenge = params.get("hub.challenge")
    if token is None or not challenge or len(challenge) > _MAX_CHALLENGE:
        return None
    # surrogatepass: a lone surrogate in the query must not raise, it just does not match.
    if not hmac.compare_digest(
        token.encode("utf-8", "surrogatepass"), verify_token.encode("utf-8", "surrogatepass")
    ):
        return None
    return challenge
