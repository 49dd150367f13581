"""The FAQ content: typed model, loader with validation, renderer, store."""

from bot.knowledge.errors import KnowledgeError
from bot.knowledge.loader import load_knowledge
from bot.knowledge.model import Fact, KnowledgeBase, Source, Topic
from bot.knowledge.store import Answer, FileKnowledgeStore, KnowledgeStore, render_answer

__all__ = [
    "Answer",
    "Fact",
    "FileKnowledgeStore",
    "KnowledgeBase",
    "KnowledgeError",
    "KnowledgeStore",
    "Source",
    "Topic",
    "load_knowledge",
    "render_answer",
]
