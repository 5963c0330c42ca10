"""JSON values that conform to a JSON Schema (or Gemini's OpenAPI-subset ``Schema``), by type.

Used for structured output (OpenAI ``json_schema``, Anthropic ``output_config.format``, Gemini
``responseSchema`` / ``responseJsonSchema``) and forced tool-call arguments (providers.md §1.1-1.3).
Supported keywords: ``type`` (also upper-case Gemini names and type lists), ``properties``,
``required``, ``items``, ``prefixItems``, ``min/maxItems``, ``enum``, ``const``, ``anyOf`` /
``oneOf`` / ``allOf``, local ``$ref`` into ``$defs`` / ``definitions``, ``minimum`` / ``maximum``
(and exclusive forms), ``min/maxLength``, string ``format`` (date-time, date, time, email, uri, uuid),
``nullable``, ``default``. ``pattern`` is not honoured. Every declared property is emitted.
"""

from __future__ import annotations

import random
from typing import Any

from simulator.text import phrase

MAX_DEPTH = 6
_FORMATS = {
    "date-time": "2024-05-01T12:00:00Z", "date": "2024-05-01", "time": "12:00:00",
    "email": "someone@example.com", "uri": "https://example.com/item", "url": "https://example.com/item",
    "uuid": "123e4567-e89b-42d3-a456-426614174000", "hostname": "example.com", "ipv4": "192.0.2.1",
}


class SchemaValues:
    """Generates values for one root schema (which holds the ``$defs`` that ``$ref`` points into)."""

    def __init__(self, root: dict, words: list[str], rng: random.Random) -> None:
        self.root = root if isinstance(root, dict) else {}
        self.words = words
        self.rng = rng

    def value(self, schema: Any = None, depth: int = 0) -> Any:
        """A value conforming to ``schema`` (the root schema when omitted)."""
        schema = self.root if schema is None else schema
        if not isinstance(schema, dict):
            return self.free_object()
        schema = self._deref(schema)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                return self.value(self._first_non_null(schema[key]), depth + 1)
        if schema.get("allOf"):
            return self.value(self._merge_all(schema["allOf"]), depth + 1)
        kind = self._type(schema)
        if depth > MAX_DEPTH:
            return {"object": {}, "array": []}.get(kind)
        maker = getattr(self, f"_{kind}", None)
        return maker(schema, depth) if maker else None

    def _deref(self, schema: dict) -> dict:
        for _ in range(MAX_DEPTH):
            ref = schema.get("$ref")
            if not isinstance(ref, str) or not ref.startswith("#/"):
                return schema
            node: Any = self.root
            for part in ref[2:].split("/"):
                node = node.get(part, {}) if isinstance(node, dict) else {}
            schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema

    @staticmethod
    def _first_non_null(options: list) -> Any:
        for option in options:
            if not (isinstance(option, dict) and option.get("type") in ("null", "NULL")):
                return option
        return options[0]

    @staticmethod
    def _merge_all(parts: list) -> dict:
        merged: dict = {"type": "object", "properties": {}, "required": []}
        for part in parts:
            if isinstance(part, dict):
                merged["properties"].update(part.get("properties", {}))
                merged["required"] += part.get("required", [])
                merged = {**part, **merged}
        return merged

    @staticmethod
    def _type(schema: dict) -> str:
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if str(k).lower() != "null"), "null")
        if kind is None:
            if "properties" in schema:
                return "object"
            if "items" in schema or "prefixItems" in schema:
                return "array"
            return "string" if "default" not in schema else type(schema["default"]).__name__
        return str(kind).lower()

    def free_object(self) -> dict:
        """The value used when no schema constrains the JSON: ``{answer, keywords}``."""
        return {"answer": phrase(self.words, self.rng), "keywords": self.words[:3]}

    def _object(self, schema: dict, depth: int) -> dict:
        props = schema.get("properties")
        if not isinstance(props, dict) or not props:
            return self.free_object() if schema.get("additionalProperties", True) is not False else {}
        return {name: self.value(sub, depth + 1) for name, sub in props.items()}

    def _array(self, schema: dict, depth: int) -> list:
        if isinstance(schema.get("prefixItems"), list):
            return [self.value(s, depth + 1) for s in schema["prefixItems"]]
        low = int(schema.get("minItems", 1))
        high = int(schema.get("maxItems", max(low, 2)))
        return [self.value(schema.get("items", {"type": "string"}), depth + 1)
                for _ in range(max(low, min(2, high)))]

    def _string(self, schema: dict, depth: int) -> str:
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        text = phrase(self.words, self.rng, schema.get("maxLength"))
        return text.ljust(int(schema.get("minLength", 0)), "x")

    def _number(self, schema: dict, depth: int, integer: bool = False) -> float | int:
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", schema.get("exclusiveMaximum", low + 100))
        if "exclusiveMinimum" in schema and "minimum" not in schema:
            low += 1 if integer else 0.01
        if "exclusiveMaximum" in schema and "maximum" not in schema:
            high -= 1 if integer else 0.01
        if integer:
            return self.rng.randint(int(low), max(int(low), int(high)))
        return round(self.rng.uniform(low, max(low, high)), 2)

    def _integer(self, schema: dict, depth: int) -> int:
        return int(self._number(schema, depth, integer=True))

    def _boolean(self, schema: dict, depth: int) -> bool:
        return self.rng.random() < 0.5

    def _null(self, schema: dict, depth: int) -> None:
        return None

    # Names the ``type`` keyword may take via the ``default`` fallback in :meth:`_type`.
    _str = _string
    _int = _integer
    _float = _number
    _bool = _boolean
    _dict = _object
    _list = _array


def value_for_schema(schema: Any, words: list[str], rng: random.Random) -> Any:
    """A JSON value valid for ``schema`` (an object ``{answer, keywords}`` if there is no schema)."""
    values = SchemaValues(schema if isinstance(schema, dict) else {}, words, rng)
    return values.value() if values.root else values.free_object()
