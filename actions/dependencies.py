"""The services actions use, created on first use (nothing happens at import time).

Tests replace them with ``set_knowledge_store`` instead of patching globals.
"""

from __future__ import annotations

from typing import Any

from bot.knowledge.store import FileKnowledgeStore, KnowledgeStore
from bot.settings import get_settings

_knowledge_store: KnowledgeStore | None = None


def knowledge_store() -> KnowledgeStore:
    """The FAQ store (``knowledge/`` files, reloaded when they change)."""
    global _knowledge_store
    if _knowledge_store is None:
        _knowledge_store = FileKnowledgeStore(get_settings().knowledge_dir)
    return _knowledge_store


def set_knowledge_store(store: KnowledgeStore | None) -> None:
    """Use ``store`` from now on (``None``: back to the default on next use)."""
    global _knowledge_store
    _knowledge_store = store


def response_text(domain: dict[str, Any], name: str) -> str:
    """The first text variant of a domain response (for button titles kept in domain.yml)."""
    variants = domain.get("responses", {}).get(name) or [{}]
    return str(variants[0].get("text") or name)
