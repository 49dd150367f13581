"""schemathesis hooks for the web app's fuzz run (``tests/web/test_schemathesis.py``).

Loaded by the schemathesis CLI of ``build/fuzz-venv`` (``SCHEMATHESIS_HOOKS``), not by pytest:
it imports ``schemathesis``, which is not in the project's environment.

Besides what schemathesis generates from the schema, every body, query and path parameter is
sometimes replaced by something hostile, the inputs that made the app answer ``500`` before
issue 15:

* lone UTF-16 surrogates (bodies only: a URL cannot carry them) and NUL characters;
* integers beyond every database column (2**31 and far more) and negative ones;
* JSON nested deeper than any body of ours (33 to 300 levels);

and ``conversation_id`` is often one of the conversations the test created
(``FUZZ_CONVERSATIONS``), so that requests reach the database instead of stopping at ``404``.
"""

from __future__ import annotations

import os
from typing import Any

import schemathesis
from hypothesis import strategies as st

LONE_SURROGATES = st.sampled_from(["\ud800", "a\udfff", "\udc80\ud800", "x\ud83dy"])
NUL = st.sampled_from(["\x00", "a\x00b", "\x00" * 3])
HUGE_INTEGERS = st.sampled_from([2**31, 2**32, 2**53 + 1, 2**63, 2**70, -(2**70), 10**30]) | (
    st.integers(min_value=2**31, max_value=2**80)
)
NEGATIVE = st.integers(max_value=-1)


def nested(depth: int) -> Any:
    value: Any = "tief"
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


DEEP = st.integers(min_value=33, max_value=300).map(nested)
HOSTILE_JSON = st.one_of(LONE_SURROGATES, NUL, HUGE_INTEGERS, NEGATIVE, DEEP)
# What a URL can carry: no surrogates (they cannot be encoded as UTF-8).
HOSTILE_PARAMETER = st.one_of(NUL, HUGE_INTEGERS.map(str), NEGATIVE.map(str))
CONVERSATIONS = [c for c in os.environ.get("FUZZ_CONVERSATIONS", "").split(",") if c]


def _one_replaced(values: Any, hostile: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``values`` with one of its entries (or, for a non-object, all of it) made hostile."""
    if isinstance(values, dict) and values:
        return st.sampled_from(sorted(values)).flatmap(
            lambda key: hostile.map(lambda bad: {**values, key: bad})
        )
    return hostile


@schemathesis.hook
def before_generate_body(context: Any, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Generated bodies, and the same with one field (or the whole body) hostile."""
    return st.one_of(strategy, strategy.flatmap(lambda body: _one_replaced(body, HOSTILE_JSON)))


@schemathesis.hook
def before_generate_query(
    context: Any, strategy: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """Generated queries, and the same with one parameter hostile."""
    return st.one_of(
        strategy,
        strategy.flatmap(lambda query: _one_replaced(query, HOSTILE_PARAMETER)
                         if isinstance(query, dict) and query else st.just(query)),
    )


@schemathesis.hook
def before_generate_path_parameters(
    context: Any, strategy: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """Generated path parameters; hostile ones; a real conversation id for conversation_id."""

    def real_conversation(parameters: Any) -> st.SearchStrategy[Any]:
        if CONVERSATIONS and isinstance(parameters, dict) and "conversation_id" in parameters:
            return st.sampled_from(CONVERSATIONS).map(
                lambda cid: {**parameters, "conversation_id": cid})
        return st.just(parameters)

    return st.one_of(
        strategy,
        strategy.flatmap(real_conversation),
        strategy.flatmap(real_conversation),
        strategy.flatmap(lambda parameters: _one_replaced(parameters, HOSTILE_PARAMETER)
                         if isinstance(parameters, dict) and parameters else st.just(parameters)),
    )
