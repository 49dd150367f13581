"""Secrets kept in files: generated once, readable by their owner only.

Shared by both environments (bot/environments.py): the launcher hands such tokens to Rasa and
the action server, the web app keeps its demo secret key so.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def load_or_create_secret(path: Path) -> str:
    """A secret generated once into ``path`` (git-ignored build/), readable by the owner only.

    The demo mode's secret key, and the tokens ``make run`` gives Rasa and the action server.
    """
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        # Created with mode 0600 (never readable by others, not even for a moment).
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process of `make run` made it just now
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(secret)
    return secret
