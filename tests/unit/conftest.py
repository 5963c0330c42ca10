"""Helpers for the translation tests: strict checks against the official SDKs' request types, and
``ProviderCall`` builders.

The OpenAI and Anthropic SDKs describe request bodies as ``TypedDict`` s. pydantic's ``TypeAdapter``
ignores unknown keys in TypedDicts and validates ``Iterable`` fields lazily, so a misspelt field would
pass; :func:`typed_dict_problems` walks the type instead: required keys present, no unknown keys,
literals, unions and nested lists checked, and reports every mismatch with its path.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from collections.abc import Callable
from typing import Any

import pytest
import typing_extensions as te

from activities.providers.base import ProviderCall
from core.chat import ChatRequest
from core.config import ProviderConfig, TargetConfig

_WRAPPERS = {typing.Required, typing.NotRequired, te.Required, te.NotRequired, te.ReadOnly}
_SEQUENCES = {list, collections.abc.Iterable, collections.abc.Sequence, typing.Iterable, typing.Sequence, tuple}
_MAPPINGS = {dict, collections.abc.Mapping, typing.Mapping, dict}


def typed_dict_problems(value: Any, tp: Any, path: str = "$") -> list[str]:
    """Mismatches between ``value`` (plain JSON-like data) and the SDK type ``tp``; ``[]`` if it fits."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any or tp is object:
        return []
    if origin in _WRAPPERS or origin is typing.Annotated:
        return typed_dict_problems(value, args[0], path)
    if te.is_typeddict(tp):
        return _typed_dict(value, tp, path)
    if origin in (typing.Union, types.UnionType):
        found = [typed_dict_problems(value, a, path) for a in args]
        return [] if any(not f for f in found) else [f"{path}: matches no member of {tp}: " + "; ".join(
            min(found, key=len))]
    if origin in (typing.Literal, te.Literal):
        return [] if value in args else [f"{path}: {value!r} not in {args}"]
    return _container_or_scalar(value, tp, origin, args, path)


def _typed_dict(value: Any, tp: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected object for {tp.__name__}"]
    hints = typing.get_type_hints(tp, include_extras=True)
    problems = [f"{path}: missing {k}" for k in tp.__required_keys__ if k not in value]
    problems += [f"{path}: unknown key {k!r} for {tp.__name__}" for k in value if k not in hints]
    for k, v in value.items():
        if k in hints:
            problems += typed_dict_problems(v, hints[k], f"{path}.{k}")
    return problems


def _container_or_scalar(value: Any, tp: Any, origin: Any, args: tuple[Any, ...], path: str) -> list[str]:
    if origin in _SEQUENCES:
        if not isinstance(value, list):
            return [f"{path}: expected list"]
        return [p for i, v in enumerate(value) for p in typed_dict_problems(v, args[0], f"{path}[{i}]")] \
            if args else []
    if origin in _MAPPINGS or tp in (dict, dict):
        return [] if isinstance(value, dict) else [f"{path}: expected object"]
    if tp is type(None) or tp is None:
        return [] if value is None else [f"{path}: expected null"]
    if tp is float:
        return [] if isinstance(value, int | float) and not isinstance(value, bool) else [f"{path}: expected number"]
    if tp is int:
        return [] if isinstance(value, int) and not isinstance(value, bool) else [f"{path}: expected integer"]
    cls = origin if isinstance(origin, type) else tp if isinstance(tp, type) else None
    if cls is None:
        return []                                 # a type we cannot check structurally
    return [] if isinstance(value, cls) else [f"{path}: expected {cls.__name__}"]


def assert_fits(value: Any, tp: Any) -> None:
    """Fail with every mismatch listed."""
    problems = typed_dict_problems(value, tp)
    assert not problems, "\n".join(problems[:20])


def build_call(protocol: str, request: ChatRequest | dict[str, Any], *, base_url: str | None = None,
               model: str = "model-x", api_key: str | None = "sk-test", headers: dict[str, str] | None = None,
               max_output_tokens: int = 8192, timeout_s: float = 10.0,
               send_task_type: bool = False) -> ProviderCall:
    """A ``ProviderCall`` for tests; ``base_url`` defaults to the protocol's public API."""
    defaults = {"openai": "https://api.openai.com/v1", "anthropic": "https://api.anthropic.com",
                "gemini": "https://generativelanguage.googleapis.com"}
    req = request if isinstance(request, ChatRequest) else ChatRequest.model_validate(request)
    provider = ProviderConfig(protocol=protocol, base_url=base_url or defaults[protocol], headers=headers or {},
                              send_task_type=send_task_type)
    target = TargetConfig(provider="p", model=model, max_output_tokens=max_output_tokens)
    return ProviderCall(target=target, provider=provider, api_key=api_key, request=req, timeout_s=timeout_s)


@pytest.fixture(scope="session")
def fits() -> Callable[[Any, Any], None]:
    """``fits(value, SdkType)``: assert a body matches an SDK request TypedDict strictly."""
    return assert_fits


@pytest.fixture(scope="session")
def make_call() -> Callable[..., ProviderCall]:
    """``make_call(protocol, request, **options)``: see :func:`build_call`."""
    return build_call
