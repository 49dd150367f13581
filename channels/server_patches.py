"""Performance fixes for the Rasa 3.6 server process, installed when our channel is loaded.

Found with py-spy on the Rasa server under 20 concurrent conversations
(docs/benchmarks/rasa-server.md); both keep Rasa's behaviour and only remove repeated work:

* Rasa validates every action server response with ``jsonschema.validate(result, schema)``,
  which re-checks the constant schema itself on every call: 44 % of the server's CPU. The
  replacement compiles the validator once (same schema, same ``ValidationError`` message),
  and checks each event against the schema of its own type only instead of all 23 of them
  (a response that fails there is validated as before, for the error).
* Reading a tracker from the tracker store turns every stored event back into an ``Event``;
  for each one Rasa walks all ``Event`` subclasses to find the class of its type name
  (``Event.resolve_by_type``): 14 % of the CPU. The replacement caches name → class (the set
  of event classes does not change while the server runs); unknown names take Rasa's path.

One fix, to Rasa's internals and so only for the Rasa version it was checked against
(:data:`RULE_POLICY_CHECKED`), saves the RulePolicy's rule matching for repeated states:

* For every prediction (two or more per turn; the one after a message twice, with its text
  and with its intent) the RulePolicy checks each of its ~240 rule keys against the
  conversation's last state, in Python: 1.4 ms of the server's ~12 ms of CPU per turn
  (measured in-process on the held-out questions). The check depends on nothing but
  the rule and the state's values the rules look at (last action, intent, entities, form),
  and a FAQ assistant meets the same few hundred of those again and again, so the keys that
  pass this first step are remembered for them; the earlier states are checked as before.
  The set of keys is built from the same keys in the same order as Rasa builds it
  (tests/test_server_patches.py compares both on the trained model's rules).

One fix, to Rasa's internals and so only for the Rasa version it was checked against
(:data:`GRAPH_RUNNER_CHECKED`), runs the model's graph without dask:

* Every message is parsed with one run of the NLU graph and each prediction (two or more per
  turn) is one run of the policy graph; Rasa's ``DaskGraphRunner`` works out the graph's
  minimal schema afresh for each run (a recursive walk without memory) and hands it to
  dask's synchronous scheduler, which orders and bookkeeps the tasks: 8-10 % of the Rasa
  server's busy time under load, for graphs of a dozen nodes that always run in the same
  order. The order is now worked out once per set of targets and the nodes are called in it,
  with the same inputs (each node gets its dependencies' ``(name, output)`` pairs, as from
  dask) and the same results (tests/test_server_patches.py runs both on the trained model).

One fix keeps conversations across a model switch (``PUT /model``, used by the editors'
retraining, ``bot/content/training.py``):

* Rasa builds the new ``Agent`` with a *new* tracker store from ``endpoints.yml``; with the
  in-memory store every running conversation (slots, an active form) would be lost. The new
  agent now takes over the serving agent's tracker store and lock store.
* Rasa loads the model on the event loop: every request waits ~3 s (measured on this
  2-core machine, docs/benchmarks/content-training.md). A model file on disk is now loaded in
  a worker thread while the loop keeps answering (garbage collection of the old objects
  paused meanwhile, see ``_load_local_agent``); only the swap itself runs on the loop.

One fix saves a query per turn on the SQL tracker store (production profile):

* Before it inserts a turn's new events, Rasa counts the conversation's stored events with
  the same query it loaded them with, to know which events are new: 11 % of a Rasa server's
  busy time under load (docs/benchmarks/load.md). The count is the number of events it just
  loaded for the turn (the conversation's lock keeps others from writing meanwhile), so it is
  remembered at load time; a save without that load before it counts as Rasa does.

One fix makes a failing tracker store fail the turn (production profile, PostgreSQL):

* Rasa wraps the tracker store in a ``FailSafeTrackerStore``: when PostgreSQL is away it
  starts each conversation afresh and keeps its events in this process's memory, so a customer
  in the middle of a calculation would silently lose it, and those turns would never reach the
  database. The turn now fails instead; the web app tells the customer the assistant is
  disturbed and offers a person, and the conversation goes on where it was once the database is
  back (tests/production/test_faults.py).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import logging
import os
from collections.abc import Iterator
from functools import cache, lru_cache, partial
from http import HTTPStatus
from typing import Any

import rasa
import rasa.server
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.http_interpreter import RasaNLUHttpInterpreter
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.tracker_store import FailSafeTrackerStore, SQLTrackerStore
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses
from sanic import Sanic
from sanic.exceptions import SanicException

logger = logging.getLogger(__name__)

_rasa_resolve_by_type = Event.resolve_by_type
_rasa_load_agent = rasa.server._load_agent
# The name ``rasa.server.create_app`` gives the Sanic app of ``rasa run --enable-api``.
RASA_APP_NAME = "rasa_server"


@lru_cache(maxsize=1)
def _validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # once, instead of once per action call
    return validator_class(schema)


@lru_cache(maxsize=1)
def _event_validators() -> tuple[Any, dict[str, Any]] | None:
    """Rasa's response schema split by event type, or ``None`` if it cannot be split so.

    Rasa's schema lets each event match ``oneOf`` 23 event schemas, and jsonschema tries
    every one of them for every event: 0.5 ms of the Rasa server's CPU per turn. Each of
    those schemas fixes the type name (``"event": {"const": "slot"}``), so an event whose
    ``event`` is such a name can match no other: it is valid exactly when the common part of
    the item schema and the schema of its type accept it. Returned: a validator of the
    response without the events' item schema, and one validator per event type name.
    """
    schema = RemoteAction.action_response_format_spec()
    properties = schema.get("properties")
    events = properties.get("events") if isinstance(properties, dict) else None
    item = events.get("items") if isinstance(events, dict) else None
    if not isinstance(events, dict) or not isinstance(item, dict):
        return None
    if not isinstance(item.get("oneOf"), list):
        return None
    validator_class = validator_for(schema)
    common = {key: value for key, value in item.items() if key != "oneOf"}
    by_type: dict[str, Any] = {}
    for option in item["oneOf"]:
        event = option.get("properties", {}).get("event", {}) if isinstance(option, dict) else {}
        name = event.get("const") if isinstance(event, dict) else None
        if not isinstance(name, str) or name in by_type:
            return None  # not told apart by the type name: no shortcut
        by_type[name] = validator_class({**common, "allOf": [option]})
    shell = {
        **schema,
        "properties": {**properties, "events": {k: v for k, v in events.items() if k != "items"}},
    }
    return validator_class(shell), by_type


def _surely_valid(result: Any) -> bool:
    """True when the response is valid by the split schema (False: ask the whole schema)."""
    split = _event_validators()
    if split is None:
        return False
    shell, by_type = split
    if not shell.is_valid(result):
        return False
    for event in result.get("events") or []:
        name = event.get("event") if isinstance(event, dict) else None
        validator = by_type.get(name) if isinstance(name, str) else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    if _surely_valid(result):
        return True
    try:
        _validator().validate(result)
        return True
    except ValidationError as e:
        e.message += (
            ". Failed to validate Action server response from API, make sure your response "
            "from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise e


@cache
def _event_class(type_name: str) -> type[Event] | None:
    return next((c for c in all_subclasses(Event) if c.type_name == type_name), None)


def _resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    found = _event_class(type_name)
    return found if found is not None else _rasa_resolve_by_type(type_name, default)


def _serving_agent() -> Agent | None:
    """The agent the Rasa server answers with right now (``None`` outside a server)."""
    try:
        app = Sanic.get_app(RASA_APP_NAME)
    except SanicException:
        return None
    agent = getattr(app.ctx, "agent", None)
    return agent if isinstance(agent, Agent) else None


def adopt_stores(agent: Agent, previous: Agent) -> None:
    """Let ``agent`` use ``previous``'s tracker store and lock store (its conversations).

    The store's domain becomes the new model's domain, as Rasa's own ``Agent.load_model``
    does with a store it is given.
    """
    store = previous.tracker_store
    if agent.domain is not None:
        store.domain = agent.domain
    agent.tracker_store = store
    agent.lock_store = previous.lock_store
    if agent.processor is not None:
        agent.processor.tracker_store = store
        agent.processor.lock_store = previous.lock_store


def _load_local_agent(model_path: str, endpoints: Any) -> Agent:
    """Rasa's ``load_agent`` for a model file on disk, minus the stores (adopted later)."""
    # Loading allocates ~700,000 objects (spaCy's lemma lookup tables), which triggers several
    # full garbage collections; each walks the server's whole heap (~540,000 objects, 0.4 s
    # here) holding the GIL, so the event loop stood still that long. Objects older than the
    # load are left out of collections while it runs (and rejoin them afterwards).
    gc.freeze()
    try:
        agent = Agent(
            generator=endpoints.nlg,
            action_endpoint=endpoints.action,
            http_interpreter=RasaNLUHttpInterpreter(endpoints.nlu) if endpoints.nlu else None,
        )
        agent.load_model(model_path)
    finally:
        gc.unfreeze()
    return agent


async def _load_agent(
    model_path: str | None = None,
    model_server: Any = None,
    remote_storage: str | None = None,
    endpoints: Any = None,
) -> Agent:
    """``rasa.server._load_agent`` that keeps the conversations and the event loop responsive.

    Only ``PUT /model`` passes ``endpoints``; other callers (``/model/test/intents``), model
    servers and remote storage take Rasa's own path unchanged.
    """
    local = (
        endpoints is not None
        and model_server is None
        and remote_storage is None
        and endpoints.model is None
        and bool(model_path)
        and os.path.isfile(str(model_path))
    )
    if not local or _serving_agent() is None:
        return await _rasa_load_agent(
            model_path=model_path,
            model_server=model_server,
            remote_storage=remote_storage,
            endpoints=endpoints,
        )
    loop = asyncio.get_running_loop()
    try:
        agent = await loop.run_in_executor(None, _load_local_agent, str(model_path), endpoints)
    except Exception as e:
        logger.debug("loading %s failed", model_path, exc_info=True)
        raise rasa.server.ErrorResponse(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "LoadingError",
            f"An unexpected error occurred. Error: {e}",
        ) from e
    if not agent.is_ready():
        raise rasa.server.ErrorResponse(
            HTTPStatus.BAD_REQUEST,
            "BadRequest",
            f"Agent with name '{model_path}' could not be loaded.",
            {"parameter": "model", "in": "query"},
        )
    # No await from here until Rasa's handler sets ``app.ctx.agent = agent``: no message is
    # handled between adopting the stores and the switch.
    previous = _serving_agent()
    if previous is not None:
        adopt_stores(agent, previous)
    return agent


_rasa_get_possible_keys = RulePolicy._get_possible_keys
# The Rasa version whose RulePolicy the remembered first step was checked against (the code of
# ``_get_possible_keys``, ``_is_rule_applicable`` and ``_does_rule_match_state``); any other
# version keeps Rasa's own.
RULE_POLICY_CHECKED = "3.6.21"
# States remembered per rule table; beyond this many the memory starts afresh.
MAX_REMEMBERED_STATES = 4096
_FIRST_STEP_ATTRIBUTE = "_stadtwerk_first_rule_steps"
_UNSET = object()


class _FirstRuleStep:
    """The rule keys of one rule table that apply to a conversation's last state, remembered.

    Whether a rule key applies to the last state (``_is_rule_applicable`` with turn index 0)
    depends on nothing but the rule's last state and the values the conversation's state
    has under the (state type, name) pairs that rule names (``_does_rule_match_state``),
    besides whether the state has a previous action at all. So the answer for all keys
    depends only on the state's values under the pairs some rule names: those values (and
    the previous action's presence) are the memory's key. The message text of Rasa's first,
    text-based look-up is no part of it while no rule names a text.
    """

    def __init__(self, policy: RulePolicy, lookup: dict[str, str]) -> None:
        self.lookup = lookup  # held, so that its id is not reused while this is kept
        named: set[tuple[str, str]] = set()
        for key in lookup:
            rule_states = policy._rule_key_to_state(key)
            if rule_states:
                named.update((kind, name) for kind, sub in rule_states[-1].items() for name in sub)
        self.named = sorted(named)
        self.remembered: dict[tuple[Any, ...], frozenset[str]] = {}

    def key(self, state: Any) -> tuple[Any, ...] | None:
        """What decides the first step for ``state`` (``None``: a state it cannot key)."""
        try:
            key = (
                bool(state.get(PREVIOUS_ACTION)),
                *(state.get(kind, {}).get(name, _UNSET) for kind, name in self.named),
            )
            hash(key)
        except (TypeError, AttributeError):
            return None
        return key

    def applicable(self, policy: RulePolicy, state: Any) -> frozenset[str] | None:
        """The keys of the table that apply to ``state`` as the last state."""
        key = self.key(state)
        if key is None:
            return None
        found = self.remembered.get(key)
        if found is None:
            found = frozenset(k for k in self.lookup if policy._is_rule_applicable(k, 0, state))
            if len(self.remembered) >= MAX_REMEMBERED_STATES:
                self.remembered.clear()
            self.remembered[key] = found
        return found


def _get_possible_keys(self: RulePolicy, lookup: dict[str, str], states: list[Any]) -> set[str]:
    """Rasa's ``RulePolicy._get_possible_keys`` with its first step remembered.

    The first step keeps the keys of ``lookup`` that apply to the last state; they are
    filtered from ``set(lookup.keys())`` as Rasa does, so the result is the same set built
    in the same order (Rasa picks the longest key with ``max``, the first one on a tie). The
    earlier states are checked as Rasa checks them.
    """
    steps: dict[int, _FirstRuleStep] = self.__dict__.setdefault(_FIRST_STEP_ATTRIBUTE, {})
    step = steps.get(id(lookup))
    if step is None or step.lookup is not lookup:
        step = steps[id(lookup)] = _FirstRuleStep(self, lookup)
    applicable = step.applicable(self, states[-1]) if states else None
    if applicable is None:
        keys: set[str] = _rasa_get_possible_keys(self, lookup, states)
        return keys
    possible_keys = set(filter(applicable.__contains__, set(lookup.keys())))
    for i, state in enumerate(reversed(states[:-1]), start=1):
        applies = partial(self._is_rule_applicable, turn_index=i, conversation_state=state)
        possible_keys = set(filter(applies, possible_keys))
    return possible_keys


def rule_policy_patchable() -> bool:
    """Whether this Rasa is the version the remembered rule step was checked against."""
    return str(rasa.__version__) == RULE_POLICY_CHECKED


# The Rasa version whose ``DaskGraphRunner.run`` and ``GraphNode.__call__`` the sequential run
# was checked against; any other version keeps dask.
GRAPH_RUNNER_CHECKED = "3.6.21"
_rasa_graph_run = DaskGraphRunner.run
_ORDER_ATTRIBUTE = "_stadtwerk_run_orders"


def _run_order(runner: DaskGraphRunner, targets: tuple[str, ...]) -> tuple[str, ...]:
    """The nodes ``targets`` need, each after its dependencies (remembered per runner).

    The same nodes as Rasa's ``minimal_graph_schema(targets)``; a dependency that is no node
    is an input of the run (``_sequential_run`` checks it was given).
    """
    orders: dict[tuple[str, ...], tuple[str, ...]] = runner.__dict__.setdefault(
        _ORDER_ATTRIBUTE, {}
    )
    order = orders.get(targets)
    if order is None:
        nodes = runner._graph_schema.nodes
        ordered: list[str] = []
        seen: set[str] = set()
        # Depth-first, dependencies before the node; iterative, so a deep graph cannot hit
        # the recursion limit (Rasa's graphs are a dozen nodes deep at most).
        for target in targets:
            stack: list[tuple[str, bool]] = [(target, False)]
            while stack:
                name, expanded = stack.pop()
                if expanded:
                    ordered.append(name)
                    continue
                if name in seen or name not in nodes:
                    continue
                seen.add(name)
                stack.append((name, True))
                stack.extend((dep, False) for dep in reversed(list(nodes[name].needs.values())))
        order = orders[targets] = tuple(ordered)
    return order


def _sequential_run(
    self: DaskGraphRunner,
    inputs: dict[str, Any] | None = None,
    targets: list[str] | None = None,
) -> dict[str, Any]:
    """Rasa's ``DaskGraphRunner.run`` without dask: the nodes called in a remembered order."""
    run_targets = targets if targets else self._graph_schema.target_names
    nodes = self._graph_schema.nodes
    results: dict[str, tuple[str, Any]] = {}
    for input_name, input_value in (inputs or {}).items():
        if isinstance(input_value, str) and (input_value in nodes or input_value in results):
            raise GraphRunError(
                f"Input value '{input_value}' clashes with a node name. Make sure that none "
                "of the input names passed to the `run` method are the same as node names in "
                "the graph schema."
            )
        results[input_name] = (input_name, input_value)
    for name in _run_order(self, tuple(run_targets)):
        needs = nodes[name].needs.values()
        missing = [dep for dep in needs if dep not in results]
        if missing:
            raise GraphRunError(f"Error running runner: node '{name}' misses {missing}.")
        results[name] = self._instantiated_nodes[name](*(results[dep] for dep in needs))
    try:
        return dict(results[target] for target in run_targets)
    except KeyError as e:
        raise GraphRunError(f"Error running runner: no target {e}.") from e


def graph_runner_patchable() -> bool:
    """Whether this Rasa is the version the sequential graph run was checked against."""
    return str(rasa.__version__) == GRAPH_RUNNER_CHECKED


_rasa_sql_retrieve = SQLTrackerStore._retrieve
_rasa_additional_events = SQLTrackerStore._additional_events
# Conversations loaded but not saved again are forgotten beyond this many (a read-only look
# such as an admin's export); their next save then counts as Rasa does.
MAX_REMEMBERED_COUNTS = 10_000


def _stored_counts(store: SQLTrackerStore) -> dict[str, int]:
    counts: dict[str, int] | None = getattr(store, "_stored_event_counts", None)
    if counts is None:
        counts = {}
        store._stored_event_counts = counts
    return counts


async def _sql_retrieve(
    self: SQLTrackerStore, sender_id: str, fetch_events_from_all_sessions: bool
) -> DialogueStateTracker | None:
    """Rasa's load, remembering how many events of the current session it loaded."""
    tracker: DialogueStateTracker | None = await _rasa_sql_retrieve(
        self, sender_id, fetch_events_from_all_sessions
    )
    if not fetch_events_from_all_sessions:
        counts = _stored_counts(self)
        if len(counts) >= MAX_REMEMBERED_COUNTS:
            counts.clear()
        counts[sender_id] = len(tracker.events) if tracker is not None else 0
    return tracker


def _sql_additional_events(self: SQLTrackerStore, session: Any, tracker: DialogueStateTracker
                           ) -> Iterator[Event]:
    """The events Rasa would find unsaved, without counting the stored ones again."""
    stored = _stored_counts(self).pop(tracker.sender_id, None)
    if stored is None:
        rasa_events: Iterator[Event] = _rasa_additional_events(self, session, tracker)
        return rasa_events
    return itertools.islice(tracker.events, stored, len(tracker.events))


class TrackerStoreUnavailable(Exception):
    """The tracker store failed; the turn is not handled without the conversation's history."""


def _tracker_store_error(self: FailSafeTrackerStore, error: Exception) -> None:
    """Instead of falling back to an in-memory store: fail (called inside ``except``)."""
    logger.error("tracker store %s failed: %s", type(self._tracker_store).__name__, error)
    raise TrackerStoreUnavailable(str(error)) from error


def install() -> None:
    """Install the fixes in this process (idempotent)."""
    SQLTrackerStore._retrieve = _sql_retrieve
    SQLTrackerStore._additional_events = _sql_additional_events
    FailSafeTrackerStore.on_tracker_store_error = _tracker_store_error
    FailSafeTrackerStore.on_tracker_store_retrieve_error = _tracker_store_error
    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_by_type)
    if rule_policy_patchable():
        RulePolicy._get_possible_keys = _get_possible_keys
    else:
        logger.warning(
            "Rasa %s, not %s: the RulePolicy's rule matching is left as it is",
            rasa.__version__,
            RULE_POLICY_CHECKED,
        )
    if graph_runner_patchable():
        DaskGraphRunner.run = _sequential_run
    else:
        logger.warning(
            "Rasa %s, not %s: the model's graph runs with dask as before",
            rasa.__version__,
            GRAPH_RUNNER_CHECKED,
        )
    rasa.server._load_agent = _load_agent
