"""Performance fixes for the Rasa 3.6 server process, installed when our channel is loaded.

Found with py-spy on the Rasa server under 20 concurrent conversations
(docs/benchmarks/rasa-server.md); both keep Rasa's behaviour and only remove repeated work:

* Rasa validates every action server response with ``jsonschema.validate(result, schema)``,
  which re-checks the constant schema itself on every call: 44 % of the server's CPU. The
  replacement compiles the validator once (same schema, same ``ValidationError`` message).
* Reading a tracker from the tracker store turns every stored event back into an ``Event``;
  for each one Rasa walks all ``Event`` subclasses to find the class of its type name
  (``Event.resolve_by_type``): 14 % of the CPU. The replacement caches name → class (the set
  of event classes does not change while the server runs); unknown names take Rasa's path.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses

_rasa_resolve_by_type = Event.resolve_by_type


@lru_cache(maxsize=1)
def _validator() -> Any:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)  # once, instead of once per action call
    return validator_class(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
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


def install() -> None:
    """Install both fixes in this process (idempotent)."""
    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_by_type)
