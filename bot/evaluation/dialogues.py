"""``python -m bot eval-dialogues FILE``: multi-turn conversations through the real assistant.

Each conversation is sent turn by turn to a Rasa server (our ``rest_meta`` channel) that runs
the trained model with the real action server, so a turn is judged on exactly what a customer
gets: the answer's ``faq_id``, the buttons offered, the form's next question, a handoff. After
every turn the tracker (Rasa's HTTP API) tells which actions ran and which slot the form asks
for next.

File format (YAML)::

    conversations:
      - id: c01
        turns:
          - user: "Wie funktioniert die Gaspreisbremse?"
            expect: gaspreisbremse
          - user: "und bei Fernwärme?"
            expect: waermepreisbremse
          - user: "Wie hoch wird mein Abschlag?"
            expect: form:energy

``expect`` is a topic id; a list of topic ids (several questions in one message, the main one
first); ``form:<slot>`` (the form asks for that slot next); ``form`` (the form goes on);
``instalment_result``; ``handoff``; ``out_of_scope``; or ``any`` (not scored).

Strict and lenient, per turn:

==================  ==========================================  ===============================
expect              strict                                      lenient
==================  ==========================================  ===============================
topic               answered first                              answered or offered as a button
[main, others…]     main answered first, others answered or     any of them answered or offered
                    offered
form:<slot>         form active, asks for <slot>                form active
form                form active                                 form active
instalment_result   the calculation ran                         the calculation ran
handoff             handoff requested                           requested or offered
out_of_scope        no FAQ answer, the fallback said so         no FAQ answer
==================  ==========================================  ===============================

The last line printed is a JSON summary (``strict``, ``lenient``, per kind).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

FORM_NAME = "instalment_form"
HANDOFF_ACTION = "action_request_handoff"
RESULT_ACTION = "action_calculate_instalment"
HANDOFF_PAYLOAD = "/human_handoff"
TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Turn:
    """One customer message and what should come of it."""

    user: str
    expect: str | tuple[str, ...]


@dataclass(frozen=True)
class Conversation:
    """A conversation of a file."""

    id: str
    turns: tuple[Turn, ...]


def load(path: Path) -> list[Conversation]:
    """The conversations of a file (see module docstring).

    Raises:
        ValueError: the file does not have the documented shape.
    """
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    conversations = []
    for i, raw in enumerate(data.get("conversations") or []):
        turns = []
        for j, turn in enumerate(raw.get("turns") or []):
            if not isinstance(turn, dict) or "user" not in turn or "expect" not in turn:
                raise ValueError(f"{path}: conversation {i} turn {j} needs 'user' and 'expect'")
            expect = turn["expect"]
            turns.append(
                Turn(
                    user=str(turn["user"]),
                    expect=tuple(map(str, expect)) if isinstance(expect, list) else str(expect),
                )
            )
        conversations.append(Conversation(id=str(raw.get("id", i)), turns=tuple(turns)))
    return conversations


@dataclass
class Observed:
    """What the assistant did in one turn."""

    answered: list[str] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    fallback: bool = False
    handoff_offered: bool = False
    form_active: bool = False
    requested_slot: str | None = None
    intent: str = ""
    context: str = ""

    @property
    def handoff(self) -> bool:
        """The handoff action ran."""
        return HANDOFF_ACTION in self.actions

    @property
    def result(self) -> bool:
        """The calculation ran."""
        return RESULT_ACTION in self.actions


def observe(messages: Sequence[dict[str, Any]], tracker: dict[str, Any]) -> Observed:
    """A turn's bot messages and the tracker after it, as :class:`Observed`."""
    seen = Observed()
    for message in messages:
        custom = message.get("metadata") or message.get("custom") or {}
        faq_id = message.get("faq_id") or custom.get("faq_id")
        if faq_id:
            seen.answered.append(str(faq_id))
        if (message.get("decision") or custom.get("decision")) == "fallback":
            seen.fallback = True
        for button in message.get("buttons") or []:
            payload = str(button.get("payload") or "")
            if payload.startswith("/faq_"):
                seen.offered.append(payload.removeprefix("/faq_"))
            elif payload == HANDOFF_PAYLOAD:
                seen.handoff_offered = True
    events = tracker.get("events") or []
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=-1)
    seen.actions = [
        str(e.get("name")) for e in events[last_user + 1 :] if e.get("event") == "action"
    ]
    latest = tracker.get("latest_message") or {}
    seen.intent = str((latest.get("intent") or {}).get("name") or "")
    seen.context = str((latest.get("context") or {}).get("kind") or "")
    seen.form_active = ((tracker.get("active_loop") or {}).get("name")) == FORM_NAME
    seen.requested_slot = (tracker.get("slots") or {}).get("requested_slot")
    return seen


def kind_of(expect: str | tuple[str, ...]) -> str:
    """The kind of an expectation, for the per-kind summary."""
    if isinstance(expect, tuple):
        return "several"
    if expect.startswith("form"):
        return "form"
    if expect in ("instalment_result", "handoff", "out_of_scope", "any"):
        return expect
    return "topic"


def judge(expect: str | tuple[str, ...], seen: Observed) -> tuple[bool, bool] | None:
    """(strict, lenient) for one turn; None for ``any``."""
    reached = set(seen.answered) | set(seen.offered)
    if isinstance(expect, tuple):
        main, *others = expect
        strict = bool(seen.answered) and seen.answered[0] == main and set(others) <= reached
        return strict, strict or bool(set(expect) & reached)
    if expect == "any":
        return None
    if expect == "form":
        return seen.form_active, seen.form_active
    if expect.startswith("form:"):
        slot = expect.split(":", 1)[1]
        strict = seen.form_active and seen.requested_slot == slot
        return strict, seen.form_active
    if expect == "instalment_result":
        return seen.result, seen.result
    if expect == "handoff":
        return seen.handoff, seen.handoff or seen.handoff_offered
    if expect == "out_of_scope":
        lenient = not seen.answered
        return lenient and (seen.fallback or seen.handoff_offered), lenient
    strict = bool(seen.answered) and seen.answered[0] == expect
    return strict, strict or expect in reached


class RasaClient:
    """Talks to a Rasa server: our channel for messages, the HTTP API for the tracker."""

    def __init__(self, url: str, token: str | None, timeout: float = TIMEOUT_S) -> None:
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        # Rasa's own HTTP API takes its --auth-token as a query parameter.
        self.params = {"token": token} if token else {}
        self.timeout = timeout
        self.session = requests.Session()

    def send(self, sender: str, text: str) -> list[dict[str, Any]]:
        """The bot's messages for one customer message."""
        response = self.session.post(
            f"{self.url}/webhooks/rest_meta/webhook",
            json={"sender": sender, "message": text},
            headers=self.headers,
            timeout=self.timeout,
        )
        response.raise_for_status()
        messages: list[dict[str, Any]] = response.json()
        return messages

    def tracker(self, sender: str) -> dict[str, Any]:
        """The conversation's tracker (events of the current session)."""
        response = self.session.get(
            f"{self.url}/conversations/{sender}/tracker",
            params={"include_events": "AFTER_RESTART", **self.params},
            headers=self.headers,
            timeout=self.timeout,
        )
        response.raise_for_status()
        tracker: dict[str, Any] = response.json()
        return tracker


@dataclass
class TurnResult:
    """One judged turn."""

    conversation: str
    index: int
    user: str
    expect: str | tuple[str, ...]
    seen: Observed
    strict: bool
    lenient: bool


def run(
    conversations: Iterable[Conversation],
    client: RasaClient,
    progress: Callable[[TurnResult], None] | None = None,
) -> list[TurnResult]:
    """Send every conversation (a fresh sender each) and judge its turns."""
    results = []
    for conversation in conversations:
        sender = f"eval-{conversation.id}-{uuid.uuid4().hex[:8]}"
        for index, turn in enumerate(conversation.turns):
            messages = client.send(sender, turn.user)
            seen = observe(messages, client.tracker(sender))
            verdict = judge(turn.expect, seen)
            if verdict is None:
                continue
            result = TurnResult(conversation.id, index, turn.user, turn.expect, seen, *verdict)
            results.append(result)
            if progress:
                progress(result)
    return results


def summary(results: Sequence[TurnResult], conversations: int) -> dict[str, Any]:
    """Strict and lenient turn accuracy, overall and per kind of expectation."""

    def rates(items: Sequence[TurnResult]) -> dict[str, Any]:
        n = len(items)
        return {
            "n": n,
            "strict": round(sum(r.strict for r in items) / n, 3) if n else 0.0,
            "lenient": round(sum(r.lenient for r in items) / n, 3) if n else 0.0,
        }

    kinds: dict[str, list[TurnResult]] = {}
    for result in results:
        kinds.setdefault(kind_of(result.expect), []).append(result)
    overall = rates(results)
    return {
        "conversations": conversations,
        "turns": overall["n"],
        "strict": overall["strict"],
        "lenient": overall["lenient"],
        "by_kind": {kind: rates(items) for kind, items in sorted(kinds.items())},
    }


def describe(result: TurnResult) -> str:
    """One line for a turn (the CLI prints the misses)."""
    seen = result.seen
    got = ",".join(seen.answered) or ("fallback" if seen.fallback else "-")
    if seen.offered:
        got += f" offered {','.join(seen.offered)}"
    if seen.form_active:
        got += f" form:{seen.requested_slot}"
    if seen.handoff:
        got += " handoff"
    expect = result.expect if isinstance(result.expect, str) else "+".join(result.expect)
    mark = "ok" if result.strict else ("~" if result.lenient else "XX")
    read = f"{seen.intent}{'/' + seen.context if seen.context else ''}"
    return (
        f"{mark:2} {result.conversation}#{result.index} {result.user!r} expect {expect} "
        f"got {got} [{read}; {' '.join(seen.actions)}]"
    )


def to_json(data: dict[str, Any]) -> str:
    """The summary as the CLI's last line."""
    return json.dumps(data, ensure_ascii=False, sort_keys=True)
