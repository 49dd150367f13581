"""Errors of the knowledge loader.

``KnowledgeError`` carries every problem found in one load, each naming the file and field, so
an editor sees all of them at once instead of fixing one per run.
"""

from __future__ import annotations

from collections.abc import Sequence


class KnowledgeError(ValueError):
    """The content in ``knowledge/`` is invalid."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid knowledge:\n" + "\n".join(f"  - {p}" for p in self.problems))
