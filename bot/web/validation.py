r"""What no text of ours may contain, and JSON bodies checked for it before a route reads them.

Used by the route classes of ``bot.web.guard`` (every API of the web app) and the login form:

* NUL and lone UTF-16 surrogates (``"\ud800"`` in JSON): nobody types them, PostgreSQL refuses
  NUL in a text, and a lone surrogate cannot be encoded as UTF-8 (a database write or a JSON
  answer would fail with a ``500``);
* JSON nested deeper than :data:`MAX_DEPTH`: no body of ours needs more than four levels; deeper
  ones would only cost recursion in the validators.

The walk over a parsed body is iterative, so no nesting depth can exhaust Python's stack.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

# NUL and lone UTF-16 surrogates; a valid surrogate pair is one character in Python already.
BAD_CHARACTERS: Final = re.compile("[\x00\ud800-\udfff]")
MAX_DEPTH: Final = 32
BAD_TEXT_MESSAGE: Final = "Der Text enthält unzulässige Zeichen."
TOO_DEEP_MESSAGE: Final = "Die Anfrage ist zu tief verschachtelt."


def bad_text(value: str) -> bool:
    """True when ``value`` holds a character no text of ours may contain."""
    return BAD_CHARACTERS.search(value) is not None


def json_problem(value: Any) -> tuple[tuple[str, ...], str] | None:
    """The path and German reason of the first thing refused in a parsed JSON value, or None."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return path[:1], TOO_DEEP_MESSAGE
        if isinstance(item, str):
            if bad_text(item):
                return path, BAD_TEXT_MESSAGE
        elif isinstance(item, list):
            stack.extend((child, (*path, str(i))) for i, child in reversed(list(enumerate(item))))
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                if bad_text(key):
                    return path, BAD_TEXT_MESSAGE
                stack.append((child, (*path, key)))
    return None


def body_problem(body: bytes) -> tuple[tuple[str, ...], str] | None:
    """:func:`json_problem` of a JSON body; None for an empty or malformed one (FastAPI's 422)."""
    if not body:
        return None
    try:
        value = json.loads(body)
    except RecursionError:  # deeper than Python's parser goes: deeper than MAX_DEPTH as well
        return (), TOO_DEEP_MESSAGE
    except ValueError:
        return None
    return json_problem(value)
