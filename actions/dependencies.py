"""The services actions use, created on first use (nothing happens at import time).

Tests replace them with ``set_knowledge_store`` instead of patching globals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from bot.knowledge.store import KnowledgeStore
from bot.settings import get_settings
from bot.tariff.catalogue_cache import CatalogueCache
from bot.tariff.client import TariffClient

_knowledge_store: KnowledgeStore | None = None
_tariff_client: TariffClient | None = None
_catalogue: CatalogueCache | None = None


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


_clock: Callable[[], datetime] = _utcnow


def now() -> datetime:
    """The current time (aware); tests set a fixed one with :func:`set_clock`."""
    return _clock()


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Use ``clock`` for the current time (``None``: the real clock)."""
    global _clock
    _clock = clock or _utcnow


def knowledge_store() -> KnowledgeStore:
    """The FAQ store: the editors' published content in the database (``DATABASE_URL``).

    Answers are looked up at reply time, so a published change is live within a second.
    """
    global _knowledge_store
    if _knowledge_store is None:
        from bot.chat.db import make_engine
        from bot.content.store import DatabaseKnowledgeStore

        settings = get_settings()
        _knowledge_store = DatabaseKnowledgeStore(
            make_engine(settings.database_url), settings.knowledge_dir
        )
    return _knowledge_store


def set_knowledge_store(store: KnowledgeStore | None) -> None:
    """Use ``store`` from now on (``None``: back to the default on next use)."""
    global _knowledge_store
    _knowledge_store = store


def tariff_client() -> TariffClient:
    """The calculator service's client (one per process; its session is reused)."""
    global _tariff_client
    if _tariff_client is None:
        _tariff_client = TariffClient(get_settings().tariff_url)
    return _tariff_client


def tariff_catalogue() -> CatalogueCache:
    """The cached tariff catalogue (fetched through :func:`tariff_client`)."""
    global _catalogue
    if _catalogue is None:
        _catalogue = CatalogueCache(tariff_client())
    return _catalogue


def set_tariff_client(client: TariffClient | None) -> None:
    """Use ``client`` from now on (``None``: back to the default on next use)."""
    global _tariff_client, _catalogue
    _tariff_client = client
    _catalogue = None


def response_text(domain: dict[str, Any], name: str) -> str:
    """The first text variant of a domain response (for button titles kept in domain.yml)."""
    variants = domain.get("responses", {}).get(name) or [{}]
    return str(variants[0].get("text") or name)
