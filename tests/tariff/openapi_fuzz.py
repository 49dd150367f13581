"""Hypothesis strategies generated from the app's own OpenAPI document (a small schemathesis).

schemathesis cannot be installed next to the pinned environment (every release needs pytest < 8,
jsonschema >= 4.18 or hypothesis < 6; see the report in tests/tariff/test_fuzz.py), so this module
derives requests from ``/openapi.json`` itself: values that follow the schema, the same with one
part broken (a required field dropped, a value replaced by any JSON, an unknown field), and raw
bytes. It understands the subset of JSON Schema that FastAPI emits for this app: ``$ref``,
``allOf``/``anyOf``, ``enum``, ``type`` with bounds, ``pattern``, ``format: date``, objects and
arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hypothesis import strategies as st

# Any JSON value, nested a little (the "replace by anything" mutation and whole-body noise).
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10,
)


@dataclass(frozen=True)
class Operation:
    """One method and path of the OpenAPI document."""

    method: str
    path: str
    query: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> schema
    required_query: frozenset[str] = frozenset()
    body: dict[str, Any] | None = None  # the request body schema
    responses: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass(frozen=True)
class Case:
    """A generated request."""

    method: str
    path: str
    params: dict[str, str]
    json: Any = None
    content: bytes | None = None
    has_json: bool = False


def operations(spec: dict[str, Any]) -> list[Operation]:
    """All operations of ``spec`` with their query parameters and body schema."""
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            params = [p for p in op.get("parameters", []) if p.get("in") == "query"]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            found.append(
                Operation(
                    method=method,
                    path=path,
                    query={p["name"]: p.get("schema", {}) for p in params},
                    required_query=frozenset(p["name"] for p in params if p.get("required")),
                    body=body.get("schema"),
                    responses=op.get("responses", {}),
                )
            )
    return found


class SchemaStrategies:
    """Builds strategies of values valid for a schema of one OpenAPI document."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow ``$ref`` and merge ``allOf`` (FastAPI wraps references in a one-item allOf)."""
        while "$ref" in schema:
            ref = schema["$ref"]
            target: Any = self.spec
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged = {**self.resolve(part), **merged}
            return merged
        return schema

    def valid(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        """Values that satisfy ``schema``."""
        schema = self.resolve(schema)
        if "anyOf" in schema:
            return st.one_of([self.valid(part) for part in schema["anyOf"]])
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        kind = schema.get("type")
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind in ("number", "integer"):
            return self._number(schema, integer=kind == "integer")
        if kind == "string":
            if "pattern" in schema:
                return st.from_regex(schema["pattern"], fullmatch=True)
            if schema.get("format") == "date":
                return st.dates(date(1900, 1, 1), date(2100, 12, 31)).map(date.isoformat)
            return st.text(max_size=schema.get("maxLength", 50))
        if kind == "array":
            return st.lists(self.valid(schema.get("items", {})), max_size=4)
        if kind == "object" or "properties" in schema:
            return self.object(schema)
        return ANY_JSON

    def _number(self, schema: dict[str, Any], *, integer: bool) -> st.SearchStrategy[Any]:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        if integer:
            return st.integers(
                min_value=None if low is None else int(low) + ("exclusiveMinimum" in schema),
                max_value=None if high is None else int(high) - ("exclusiveMaximum" in schema),
            )
        floats = st.floats(
            min_value=low,
            max_value=high,
            exclude_min="exclusiveMinimum" in schema,
            exclude_max="exclusiveMaximum" in schema,
            allow_nan=False,
            allow_infinity=False,
        )
        whole = st.integers(
            min_value=None if low is None else int(low) + 1,
            max_value=None if high is None else int(high),
        )
        return floats | whole

    def object(self, schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        """Objects with every required property and any subset of the optional ones."""
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {name: self.valid(sub) for name, sub in properties.items() if name in required},
            optional={
                name: self.valid(sub) for name, sub in properties.items() if name not in required
            },
        )

    def broken_object(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        """A valid object with one thing broken, or any JSON value at all."""
        schema = self.resolve(schema)
        properties = list(schema.get("properties", {}))
        required = list(schema.get("required", []))

        @st.composite
        def mutate(draw: st.DrawFn) -> Any:
            value = dict(draw(self.object(schema)))
            how = draw(st.sampled_from(["drop", "replace", "unknown", "whole"]))
            if how == "drop" and required:
                value.pop(draw(st.sampled_from(required)), None)
            elif how == "replace" and properties:
                value[draw(st.sampled_from(properties))] = draw(ANY_JSON)
            elif how == "unknown":
                value[draw(st.text(min_size=1, max_size=12))] = draw(ANY_JSON)
            else:
                return draw(ANY_JSON)
            return value

        return mutate()


def cases(spec: dict[str, Any], op: Operation, mode: str) -> st.SearchStrategy[Case]:
    """Requests for ``op``: ``valid`` (by the schema), ``broken`` or ``raw`` (random bytes)."""
    schemas = SchemaStrategies(spec)

    @st.composite
    def build(draw: st.DrawFn) -> Case:
        params: dict[str, str] = {}
        for name, schema in op.query.items():
            if name not in op.required_query and not draw(st.booleans()):
                continue
            if mode == "valid":
                value = draw(schemas.valid(schema))
                if value is not None:
                    params[name] = value if isinstance(value, str) else str(value)
            else:
                params[name] = draw(st.text(max_size=40))
        if op.body is None:
            return Case(op.method, op.path, params)
        if mode == "raw":
            content = draw(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
            return Case(op.method, op.path, params, content=content)
        strategy = schemas.object(schemas.resolve(op.body)) if mode == "valid" else None
        body = draw(strategy if strategy is not None else schemas.broken_object(op.body))
        return Case(op.method, op.path, params, json=body, has_json=True)

    return build()
