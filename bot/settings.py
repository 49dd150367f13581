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
_FALSE = frozenset({"0", "false", "no", "off"})


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
    # Editorial content check (bot/content/checks.py); default as in get_settings().
    content_max_stand_age_days: int = 365
    # Editors' retraining (bot/content/training.py); defaults as in get_settings().
    training_enabled: bool = True
    training_worker: bool = True
    training_work_dir: Path = REPO_ROOT / "build" / "training"
    eval_questions: Path = REPO_ROOT / "tests" / "nlu" / "heldout.tsv"
    training_max_accuracy_drop: float = 0.01
    training_timeout_s: float = 1200.0
    # Production profile (docs/design/production.md); defaults as in get_settings().
    bind_host: str = "127.0.0.1"
    redis_url: str | None = None
    log_format: str = "text"
    log_level: str = "info"
    retention_days: int = 90
    rasa_token: str | None = None
    # Security (README, "Security"); defaults as in get_settings().
    trusted_proxies: tuple[str, ...] = ()
    callbacks_per_hour: int = 5
    feedback_per_minute: int = 30
    action_token: str | None = None

    @property
    def rasa_urls(self) -> list[str]:
        """The Rasa replicas of ``RASA_URL`` (comma-separated), without trailing slashes."""
        return [u.strip().rstrip("/") for u in self.rasa_url.split(",") if u.strip()]


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
        # Callback requests per client address and hour, ratings per address and minute.
        callbacks_per_hour=int(os.environ.get("CHAT_CALLBACKS_PER_HOUR", "5")),
        feedback_per_minute=int(os.environ.get("CHAT_FEEDBACK_PER_MINUTE", "30")),
        # Age in days after which an answer's "stand" (last checked against the sources) is
        # reported to editors as due for review (python -m bot check, a warning).
        content_max_stand_age_days=int(os.environ.get("CONTENT_MAX_STAND_AGE_DAYS", "365")),
        # The web app retrains the model in the background when editors change questions.
        training_enabled=os.environ.get("TRAINING_ENABLED", "true").lower() not in _FALSE,
        # Whether this web app process runs the worker that trains queued runs. With several
        # instances any number may (each run is claimed once); "false" leaves it to others.
        training_worker=os.environ.get("TRAINING_WORKER", "true").lower() not in _FALSE,
        # Workspaces of retraining runs (exported content, generated data, logs).
        training_work_dir=_path("TRAINING_WORK_DIR", REPO_ROOT / "build" / "training"),
        # Held-out questions a new model must answer about as well as the live one.
        eval_questions=_path("EVAL_QUESTIONS", REPO_ROOT / "tests" / "nlu" / "heldout.tsv"),
        # A new model goes live only if its held-out accuracy is at most this much lower (0..1;
        # 0.01 = one percentage point, about 3 of the 344 held-out questions).
        training_max_accuracy_drop=float(os.environ.get("TRAINING_MAX_ACCURACY_DROP", "0.01")),
        # Limit for each subprocess of a retraining (rasa train, each evaluation), seconds;
        # training takes about a minute here (docs/benchmarks/content-training.md).
        training_timeout_s=float(os.environ.get("TRAINING_TIMEOUT_S", "1200")),
        # Interface every server of ours binds: loopback on a machine, 0.0.0.0 in a container.
        bind_host=os.environ.get("BIND_HOST", "127.0.0.1"),
        # Redis (production profile): live events between web app instances, shared rate
        # limits. Unset: in-process events and limits (one web app instance, the demo).
        redis_url=os.environ.get("REDIS_URL") or None,
        # "json": one JSON object per log line with the turn's request id (production).
        log_format=os.environ.get("LOG_FORMAT", "text").lower(),
        # Level of our processes' logs (debug, info, warning, error); `make run` starts the web
        # app in the terminal with "warning" (its full logs: the other processes' build/*.log).
        log_level=os.environ.get("LOG_LEVEL", "info").lower(),
        # Conversations, Rasa trackers, tickets and feedback older than this are deleted
        # (python -m bot retention, and daily by the web app).
        retention_days=int(os.environ.get("RETENTION_DAYS", "90")),
        # Token of the Rasa servers' HTTP API (`rasa run --auth-token`) and of our deletion and
        # retention routes; unset: Rasa is reachable only inside the cluster network.
        rasa_token=os.environ.get("RASA_TOKEN") or None,
        # Reverse proxies (addresses or networks, comma-separated) whose X-Forwarded-For the web
        # app believes (bot/web/proxy.py). Default: none, the connection's address is the client.
        trusted_proxies=tuple(
            p.strip() for p in os.environ.get("TRUSTED_PROXIES", "").split(",") if p.strip()
        ),
        # Shared by Rasa (endpoints: the header it sends) and the action server (which refuses
        # calls without it). `make run` generates one into build/ (bot/devserver.py).
        action_token=os.environ.get("ACTION_SERVER_TOKEN") or None,
    )
