"""Settings, read once from the environment.

Every setting has a default that makes ``make run`` work on a fresh machine (loopback, SQLite,
files in the repository). Production values come from environment variables (see README).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """Process-wide configuration."""

    knowledge_dir: Path
    model_dir: Path
    spacy_model_dir: Path
    rasa_url: str
    action_server_port: int
    tariff_url: str
    database_url: str
    web_port: int
    demo: bool
    secret_key: str | None
    rate_limit_per_minute: int
    new_conversations_per_minute: int


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).resolve() if value else default


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the settings of this process (read from the environment on first call)."""
    return Settings(
        knowledge_dir=_path("KNOWLEDGE_DIR", REPO_ROOT / "knowledge"),
        model_dir=_path("MODEL_DIR", REPO_ROOT / "models"),
        spacy_model_dir=_path("SPACY_MODEL_DIR", REPO_ROOT / "build" / "spacy-de"),
        rasa_url=os.environ.get("RASA_URL", "http://127.0.0.1:5005"),
        action_server_port=int(os.environ.get("ACTION_SERVER_PORT", "5055")),
        tariff_url=os.environ.get("TARIFF_URL", "http://127.0.0.1:8100"),
        database_url=os.environ.get("DATABASE_URL", f"sqlite:///{REPO_ROOT / 'build' / 'chat.db'}"),
        web_port=int(os.environ.get("WEB_PORT", "8000")),
        # Demo mode (the default, `make run`): demo users with generated passwords, a secret
        # key generated into build/; outside demo mode SECRET_KEY is required.
        demo=os.environ.get("APP_MODE", "demo") == "demo",
        secret_key=os.environ.get("SECRET_KEY") or None,
        # Customer messages per conversation and minute before the chat API answers 429.
        rate_limit_per_minute=int(os.environ.get("CHAT_RATE_LIMIT_PER_MINUTE", "20")),
        # New conversations per client address and minute (a widget needs one per chat).
        new_conversations_per_minute=int(os.environ.get("CHAT_NEW_CONVERSATIONS_PER_MINUTE", "30")),
    )
