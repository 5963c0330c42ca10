"""JSON Schema (OpenAI tools, ``json_schema`` response formats) -> what Gemini accepts.

Gemini has two schema fields (providers.md §1.3, §4.1 "Tool definitions", "Structured output"):
``parameters`` / ``responseSchema`` take Google's OpenAPI-3.0 *subset* ``Schema`` (every model,
every API version, Vertex included); ``parametersJsonSchema`` / ``responseJsonSchema`` take real
JSON Schema (v1beta, Gemini 2.5 and later). :func:`schema_field` picks, per schema: the subset when
the translation loses nothing; else the JSON-Schema field when the model takes it; else the subset
with a trace note naming what was dropped.

Subset translation (:func:`to_gemini_schema`), recursively:

- kept: ``type`` (upper-case enum names), ``format`` (only ``enum``/``date-time`` for strings,
  ``float``/``double`` for numbers, ``int32``/``int64`` for integers), ``title``, ``description``,
  ``nullable``, ``enum``, ``properties``, ``required``, ``items``, ``anyOf``, ``minItems``,
  ``maxItems``, ``minProperties``, ``maxProperties``, ``minLength``, ``maxLength``, ``pattern``,
  ``minimum``, ``maximum``, ``default``, ``example``, ``propertyOrdering``;
- rewritten without loss: local ``$ref`` (``#/$defs/...``, ``#/definitions/...``) inlined (up to
  :data:`MAX_REF_DEPTH` levels; deeper, i.e. recursive, references are lost); ``type: [T, "null"]``
  -> ``T`` + ``nullable``; several types -> ``anyOf``; ``oneOf`` -> ``anyOf``; a ``null`` member of
  ``anyOf`` -> ``nullable``; ``allOf`` merged; ``const`` -> one-value ``enum``; enum values as
  strings (Gemini requires string enums); ``examples[0]`` -> ``example``; ``required`` names that
  are not properties dropped (Gemini rejects them); an array without ``items`` gets ``items: {}``;
- dropped silently (annotations): ``$schema``, ``$id``, ``$comment``, ``$defs``, ``definitions``,
  ``readOnly``, ``writeOnly``, ``deprecated``, ``additionalProperties: true``;
- dropped and reported as lost (constraints): everything else, e.g. ``additionalProperties: false``,
  ``exclusiveMinimum``, ``uniqueItems``, ``patternProperties``, ``not``, ``if``/``then``/``else``.

Pure.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_REF_DEPTH = 8
_KEEP = frozenset({"title", "description", "nullable", "minItems", "maxItems", "minProperties", "maxProperties",
                   "minLength", "maxLength", "pattern", "minimum", "maximum", "default", "example",
                   "propertyOrdering"})
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "$defs", "definitions", "readOnly", "writeOnly",
                          "deprecated"})
_HANDLED = frozenset({"type", "format", "enum", "const", "properties", "required", "items", "anyOf", "oneOf",
                      "allOf", "$ref", "examples", "additionalProperties"})
_FORMATS = {"STRING": {"enum", "date-time"}, "NUMBER": {"float", "double"}, "INTEGER": {"int32", "int64"}}
_TYPES = {"string", "number", "integer", "boolean", "array", "object", "null"}
_VERSION = re.compile(r"gemini-(\d+)(?:\.(\d+))?")


def supports_json_schema(model: str) -> bool:
    """True for Gemini 2.5 and later (``gemini-2.5-flash``, ``gemini-3-pro-preview``); unknown -> False."""
    m = _VERSION.search(model)
    return bool(m) and (int(m.group(1)), int(m.group(2) or 0)) >= (2, 5)


def schema_field(kind: str, schema: dict[str, Any], model: str, notes: list[str], what: str) -> dict[str, Any]:
    """``{"parameters" | "parametersJsonSchema": ...}`` (``kind="parameters"``) or ``{"responseSchema" |
    "responseJsonSchema": ...}`` (``kind="responseSchema"``) for one schema (see module docstring).
    ``what`` names the schema in the trace note (``tool get_weather``)."""
    converted, lost = to_gemini_schema(schema)
    if not lost:
        return {kind: converted}
    if supports_json_schema(model):
        return {"parametersJsonSchema" if kind == "parameters" else "responseJsonSchema": schema}
    notes.append(f"gemini: {what}: dropped {', '.join(lost)} (outside Gemini's schema subset; {model} takes no "
                 "JSON Schema)")
    return {kind: converted}


def to_gemini_schema(schema: Any) -> tuple[dict[str, Any], list[str]]:
    """``(subset schema, sorted keywords lost)`` for a JSON Schema object."""
    root = schema if isinstance(schema, dict) else {}
    conv = _Converter({**(root.get("definitions") or {}), **(root.get("$defs") or {})})
    return conv.node(root, 0), sorted(conv.lost)


class _Converter:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.lost: set[str] = set()

    def node(self, node: Any, depth: int) -> dict[str, Any]:
        if not isinstance(node, dict):
            return {}
        node = self._resolved(node, depth)
        if "allOf" in node:
            node = self._merged(node)
        out: dict[str, Any] = {k: v for k, v in node.items() if k in _KEEP}
        for key in node:
            if key not in _KEEP and key not in _HANDLED and key not in _ANNOTATIONS:
                self.lost.add(key)
        extra = node.get("additionalProperties")
        if extra is not None and extra is not True:
            self.lost.add("additionalProperties")
        if isinstance(node.get("examples"), list) and node["examples"] and "example" not in out:
            out["example"] = node["examples"][0]
        self._type(node, out, depth)
        self._children(node, out, depth)
        return out

    def _resolved(self, node: dict[str, Any], depth: int) -> dict[str, Any]:
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return node
        name = ref.rsplit("/", 1)[-1]
        target = self.defs.get(name) if ref.startswith(("#/$defs/", "#/definitions/")) else None
        if target is None or depth >= MAX_REF_DEPTH:
            self.lost.add("$ref")
            return {k: v for k, v in node.items() if k != "$ref"}
        return {**self._resolved(target, depth + 1), **{k: v for k, v in node.items() if k != "$ref"}}

    def _merged(self, node: dict[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
        for part in node["allOf"] if isinstance(node["allOf"], list) else []:
            part = self._resolved(part, 0) if isinstance(part, dict) else {}
            for key, value in part.items():
                if key == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **value}
                elif key == "required":
                    merged["required"] = [*merged.get("required", []), *value]
                else:
                    merged.setdefault(key, value)
        return merged

    def _type(self, node: dict[str, Any], out: dict[str, Any], depth: int) -> None:
        types = node.get("type")
        names = [t for t in (types if isinstance(types, list) else [types]) if t in _TYPES]
        if "null" in names:
            out["nullable"] = True
            names.remove("null")
        if not names and "properties" in node:
            names = ["object"]
        if not names and "items" in node:
            names = ["array"]
        if not names and ("enum" in node or "const" in node):
            names = ["string"]
        if len(names) == 1:
            out["type"] = names[0].upper()
        elif len(names) > 1:
            out["anyOf"] = [{"type": n.upper()} for n in names]
        fmt = node.get("format")
        if isinstance(fmt, str):
            if fmt in _FORMATS.get(out.get("type", ""), ()):
                out["format"] = fmt
            else:
                self.lost.add("format")
        values = node["enum"] if isinstance(node.get("enum"), list) else [node["const"]] if "const" in node else None
        if values is not None:
            out["enum"] = [v if isinstance(v, str) else json.dumps(v) for v in values]

    def _children(self, node: dict[str, Any], out: dict[str, Any], depth: int) -> None:
        if isinstance(node.get("properties"), dict):
            out["properties"] = {k: self.node(v, depth + 1) for k, v in node["properties"].items()}
        if isinstance(node.get("required"), list):
            names = [r for r in node["required"] if r in out.get("properties", {})]
            if names:
                out["required"] = list(dict.fromkeys(names))
        items = node.get("items")
        if isinstance(items, dict):
            out["items"] = self.node(items, depth + 1)
        elif items is not None:
            self.lost.add("items")
        if out.get("type") == "ARRAY" and "items" not in out:
            out["items"] = {}
        members = [m for key in ("anyOf", "oneOf") for m in node.get(key) or [] if isinstance(m, dict)]
        if members:
            self._union(members, out, depth)

    def _union(self, members: list[dict[str, Any]], out: dict[str, Any], depth: int) -> None:
        if any(m.get("type") == "null" for m in members):
            out["nullable"] = True
        kept = [self.node(m, depth + 1) for m in members if m.get("type") != "null"]
        if len(kept) == 1:
            for key, value in kept[0].items():
                out.setdefault(key, value)
        elif kept:
            out["anyOf"] = kept
