"""JSON Schema -> Gemini's schema subset (activities/providers/gemini_schema.py): every translated
schema validates as the google-genai SDK's own ``Schema``; nothing is dropped without being reported;
the JSON-Schema field is used only when the subset would lose something and the model takes it."""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import types
from hypothesis import given, settings
from hypothesis import strategies as st

from activities.providers import gemini
from activities.providers.gemini_schema import schema_field, supports_json_schema, to_gemini_schema
from tests.unit.conftest import build_call

STRICT = {  # what OpenAI strict-mode tools and pydantic models produce
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Order",
    "type": "object", "additionalProperties": False,
    "$defs": {"Line": {"type": "object", "properties": {"sku": {"type": "string"}, "qty": {"type": "integer",
                                                                                        "minimum": 1}},
                       "required": ["sku", "qty"], "additionalProperties": False}},
    "properties": {
        "id": {"type": "string", "format": "uuid", "description": "Order id"},
        "placed": {"type": "string", "format": "date-time"},
        "note": {"type": ["string", "null"]},
        "channel": {"anyOf": [{"type": "string", "enum": ["web", "phone"]}, {"type": "null"}]},
        "priority": {"enum": [1, 2, 3], "type": "integer"},
        "kind": {"const": "order"},
        "lines": {"type": "array", "items": {"$ref": "#/$defs/Line"}, "minItems": 1},
        "tags": {"type": "array"},
        "amount": {"oneOf": [{"type": "number"}, {"type": "string"}]},
        "meta": {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                           {"properties": {"b": {"type": "boolean"}}}]},
    },
    "required": ["id", "lines", "ghost"],
}


def test_strict_schema_translation() -> None:
    out, lost = to_gemini_schema(STRICT)
    types.Schema.model_validate(out)
    p = out["properties"]
    assert out["type"] == "OBJECT" and out["title"] == "Order" and out["required"] == ["id", "lines"]
    assert p["id"] == {"type": "STRING", "description": "Order id"}                 # uuid format lost
    assert p["placed"] == {"type": "STRING", "format": "date-time"}
    assert p["note"] == {"type": "STRING", "nullable": True}
    assert p["channel"] == {"type": "STRING", "enum": ["web", "phone"], "nullable": True}
    assert p["priority"] == {"type": "INTEGER", "enum": ["1", "2", "3"]}
    assert p["kind"] == {"type": "STRING", "enum": ["order"]}
    assert p["lines"]["items"] == {"type": "OBJECT", "properties": {"sku": {"type": "STRING"}, "qty": {
        "type": "INTEGER", "minimum": 1}}, "required": ["sku", "qty"]}
    assert p["tags"] == {"type": "ARRAY", "items": {}}
    assert p["amount"] == {"anyOf": [{"type": "NUMBER"}, {"type": "STRING"}]}
    assert p["meta"] == {"type": "OBJECT", "properties": {"a": {"type": "STRING"}, "b": {"type": "BOOLEAN"}},
                         "required": ["a"]}
    assert lost == ["additionalProperties", "format"]


def test_lossless_schemas_report_nothing() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string", "description": "City"},
                                               "days": {"type": "integer", "minimum": 1, "maximum": 7}},
              "required": ["city"], "additionalProperties": True, "$schema": "x"}
    out, lost = to_gemini_schema(schema)
    assert lost == [] and out == {"type": "OBJECT", "properties": {"city": {"type": "STRING", "description": "City"},
                                                                   "days": {"type": "INTEGER", "minimum": 1,
                                                                            "maximum": 7}}, "required": ["city"]}


def test_recursive_references_terminate_and_are_reported() -> None:
    tree = {"$defs": {"Node": {"type": "object", "properties": {"children": {"type": "array",
                                                                             "items": {"$ref": "#/$defs/Node"}}}}},
            "$ref": "#/$defs/Node"}
    out, lost = to_gemini_schema(tree)
    types.Schema.model_validate(out)
    assert lost == ["$ref"] and out["type"] == "OBJECT"
    _, lost = to_gemini_schema({"$ref": "https://example.com/remote.json"})
    assert lost == ["$ref"]


@pytest.mark.parametrize(("model", "expected"), [
    ("gemini-2.0-flash", False), ("gemini-1.5-pro", False), ("gemini-2.5-flash", True),
    ("gemini-2.5-pro-preview-06-05", True), ("gemini-3-pro-preview", True), ("models/gemini-3.1-flash", True),
    ("gemma-3-27b-it", False), ("custom", False)])
def test_which_models_take_json_schema(model: str, expected: bool) -> None:
    assert supports_json_schema(model) is expected


def test_field_choice() -> None:
    lossless = {"type": "object", "properties": {"a": {"type": "string"}}}
    notes: list[str] = []
    assert schema_field("parameters", lossless, "gemini-2.5-flash", notes, "tool t") == {
        "parameters": {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}}}
    assert schema_field("parameters", STRICT, "gemini-2.5-flash", notes, "tool t") == {"parametersJsonSchema": STRICT}
    assert schema_field("responseSchema", STRICT, "gemini-3-pro", notes, "x") == {"responseJsonSchema": STRICT}
    assert notes == []
    assert "responseSchema" in schema_field("responseSchema", STRICT, "gemini-2.0-flash", notes, "response_format")
    assert notes == ["gemini: response_format: dropped additionalProperties, format (outside Gemini's schema subset; "
                     "gemini-2.0-flash takes no JSON Schema)"]


def test_structured_output_request_validates_with_the_sdk() -> None:
    request = {"messages": [{"role": "user", "content": "Extract the order"}],
               "response_format": {"type": "json_schema", "json_schema": {"name": "order", "schema": STRICT}}}
    body = gemini.build_request(build_call("gemini", request, model="gemini-2.0-flash")).body
    types.GenerationConfig.model_validate(body["generationConfig"])
    assert body["generationConfig"]["responseSchema"]["properties"]["note"]["nullable"] is True


leaf = st.fixed_dictionaries({"type": st.sampled_from(["string", "integer", "number", "boolean", "null"])}, optional={
    "description": st.text(max_size=5), "format": st.sampled_from(["date-time", "uri", "int64", "float"]),
    "enum": st.lists(st.one_of(st.integers(), st.text(max_size=3), st.booleans()), min_size=1, max_size=3),
    "minimum": st.integers(), "exclusiveMaximum": st.integers(), "const": st.integers()})
schemas = st.recursive(leaf, lambda inner: st.one_of(
    st.fixed_dictionaries({"type": st.just("object"), "properties": st.dictionaries(
        st.text("abcxyz", min_size=1, max_size=4), inner, max_size=3)}, optional={
        "required": st.lists(st.text("abcxyz", min_size=1, max_size=4), max_size=3),
        "additionalProperties": st.booleans()}),
    st.fixed_dictionaries({"type": st.just("array")}, optional={"items": inner}),
    st.fixed_dictionaries({"anyOf": st.lists(inner, min_size=1, max_size=3)}),
    st.fixed_dictionaries({"type": st.lists(st.sampled_from(["string", "integer", "null"]), min_size=1, max_size=3,
                                            unique=True)})), max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(schemas)
def test_any_schema_translates_to_a_valid_sdk_schema(schema: dict[str, Any]) -> None:
    out, lost = to_gemini_schema(schema)
    types.Schema.model_validate(out)
    assert set(lost) <= {"format", "exclusiveMaximum", "additionalProperties"}
