"""``python -m bot eval`` as the tests run it: a subprocess with the real model."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def run_eval(repo_root) -> Callable[..., dict[str, Any]]:
    """Run ``bot eval --questions FILE [ARGS…]`` and return its JSON summary (last line)."""

    def run(questions: str, *args: str) -> dict[str, Any]:
        result = subprocess.run(
            [sys.executable, "-m", "bot", "eval", "--questions", questions, *args],
            cwd=repo_root,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    return run
