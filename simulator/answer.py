"""A protocol-neutral request (:class:`Ask`) and the answer built for it (:class:`Answer`).

Each protocol module parses its wire body into an :class:`Ask` and renders an :class:`Answer` back.
The answer is text (about ``plan.output_tokens`` tokens of prose about the prompt), JSON (when JSON
output was asked; conforming to the schema when one was given) or one tool call (when the tool choice
forces a call; arguments valid for the tool's schema). ``max_tokens`` caps the text and sets the
finish reason to ``length``. Usage: prompt tokens are chars/4 of every message plus 4 per message
(plus the tool declarations); completion tokens are chars/4 of what was generated.

What the answer says depends only on the request (prose, JSON values and tool arguments draw from a
``random.Random`` seeded with ``simulator.text.prompt_seed`` of the conversation's turns, system
prompts left out, since gateways add their own, e.g. "Respond in JSON.") and on the drawn
length ``plan.output_tokens``; the target's own stream decides only faults (corruption). A
continuation request (``simulator.continuation``) is answered with the rest of the answer the
original request gets; a forced tool call is answered whole, as for the original request. A JSON
repair request (``core/normalize.py``) is answered without corruption.
"""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field, replace
from typing import Literal

from core.normalize import REPAIR_PREFIX
from simulator.behaviour import Plan
from simulator.continuation import Continuation, continuation_text
from simulator.corrupt import BREAKING, WRAPPING, corrupt_json_text, corrupt_text, corrupt_value
from simulator.judge import judge_reply
from simulator.text import CHARS_PER_TOKEN, compose, count_tokens, keywords, prompt_seed, prompt_tokens
from simulator.values import value_for_schema

ANY_TOOL = "*"
Finish = Literal["stop", "length", "tool"]


@dataclass(frozen=True)
class ToolSpec:
    """A declared tool: its name and the JSON Schema of its arguments."""

    name: str
    schema: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Ask:
    """What a request asks for, whatever its protocol."""

    model: str
    texts: tuple[str, ...]  # every message's text, system prompts included (prompt tokens)
    last_user: str
    stream: bool = False
    include_usage: bool = False
    json_asked: bool = False
    json_schema: dict | None = None
    tools: tuple[ToolSpec, ...] = ()
    forced_tool: str | None = None  # a tool name, or ANY_TOOL
    max_tokens: int | None = None
    tools_text: str = ""
    n: int = 1  # choices asked for (OpenAI's ``n``; each is the same answer here)
    continuation: Continuation | None = None  # set when the request asks to continue a partial answer
    turns: tuple[str, ...] = ()  # texts of the conversation turns without system prompts (seed the prose)
    thinking_budget: int | None = None  # Anthropic extended thinking asked for (tokens)
    system: str = ""  # the system prompt text as the protocol carries it (``GET /_sim/requests``)


@dataclass(frozen=True)
class ToolCall:
    """A tool call: ``args`` as an object, ``arguments`` as JSON text (unparseable if corrupted)."""

    id_suffix: str
    name: str
    args: dict
    arguments: str


@dataclass(frozen=True)
class Answer:
    """What the simulated model says."""

    text: str
    tool_call: ToolCall | None
    finish: Finish
    prompt_tokens: int
    completion_tokens: int
    corrupt_kind: str | None = None

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


def new_id(length: int = 24) -> str:
    """A random alphanumeric id suffix (ids do not use the scenario's random streams)."""
    return uuid.uuid4().hex[:length]


_FREE_OBJECT_KEYS = frozenset({"type", "title", "description", "additionalProperties"})


def _free_object(schema: dict) -> bool:
    """A schema for any JSON object (``{"type": "object"}``, no properties): how gateways express
    JSON mode as a forced tool (e.g. Anthropic's ``json_tool_call``)."""
    return (schema.get("type") == "object" and set(schema) <= _FREE_OBJECT_KEYS
            and schema.get("additionalProperties", True) is not False)


def _free_json(ask: Ask, plan: Plan, words: list[str], prose: random.Random) -> dict:
    """The JSON-mode answer without a schema: prose sized to 80% of ``max_tokens`` at most."""
    budget = plan.output_tokens if ask.max_tokens is None else min(plan.output_tokens,
                                                                    int(ask.max_tokens * 0.8) - 12)
    return {"answer": compose(words, max(5, budget), prose), "keywords": words[:3]}


def _tool_call(ask: Ask, plan: Plan, words: list[str], prose: random.Random, rng: random.Random) -> ToolCall:
    """The forced call; a free-form object tool gets the JSON-mode answer (the same as JSON mode)."""
    spec = next((t for t in ask.tools if t.name == ask.forced_tool), ask.tools[0])
    schema = spec.schema or {"type": "object", "properties": {}}
    args = _free_json(ask, plan, words, prose) if _free_object(schema) else value_for_schema(schema, words, prose)
    args = args if isinstance(args, dict) else {"value": args}
    kind = plan.corrupt_kind
    if kind is None or kind in WRAPPING:
        return ToolCall(new_id(), spec.name, args, json.dumps(args))
    arguments = corrupt_json_text(args, kind, rng)
    return ToolCall(new_id(), spec.name, corrupt_value(args, kind, rng), arguments)


def _json_text(ask: Ask, plan: Plan, words: list[str], prose: random.Random, rng: random.Random) -> str:
    """A JSON answer. Like a model in JSON mode it ends with a complete object inside the output
    cap (prose sized to 80% of ``max_tokens`` at most); only a corruption kind breaks it."""
    value = value_for_schema(ask.json_schema, words, prose) if ask.json_schema else _free_json(ask, plan, words, prose)
    if plan.corrupt_kind:
        return corrupt_json_text(value, plan.corrupt_kind, rng)
    return json.dumps(value)


def _cap(text: str, max_tokens: int | None) -> tuple[str, Finish]:
    if max_tokens is not None and count_tokens(text) > max_tokens:
        return text[: max(0, max_tokens) * CHARS_PER_TOKEN], "length"
    return text, "stop"


def _fresh(ask: Ask, plan: Plan, rng: random.Random) -> Answer:
    """The answer to a request that is not a continuation (``rng``: the target's stream, faults only)."""
    words = keywords(ask.last_user)
    prose = random.Random(prompt_seed(ask.turns))
    prompt = prompt_tokens(list(ask.texts), ask.tools_text)
    kind = plan.corrupt_kind
    if ask.forced_tool and ask.tools:
        call = _tool_call(ask, plan, words, prose, rng)
        used = count_tokens(call.name) + count_tokens(call.arguments) + 5
        return Answer("", call, "tool", prompt, used, kind)
    if ask.json_asked:
        text = _json_text(ask, plan, words, prose, rng)
    else:
        text = judge_reply(ask.last_user) or compose(words, plan.output_tokens, prose)
        text = corrupt_text(text, kind, rng) if kind else text
    text, finish = _cap(text, ask.max_tokens)
    return Answer(text, None, finish, prompt, count_tokens(text), kind)


def _continued(ask: Ask, cont: Continuation, plan: Plan, rng: random.Random) -> Answer:
    """The rest of the original request's answer (a corruption of this plan applies to the rest)."""
    original = replace(ask, turns=cont.turns, last_user=cont.last_user, continuation=None,
                       max_tokens=ask.max_tokens if ask.json_asked else None)  # a text cap only truncates
    prompt = prompt_tokens(list(ask.texts), ask.tools_text)
    if ask.forced_tool and ask.tools:
        return replace(_fresh(original, plan, rng), prompt_tokens=prompt)
    canonical = _fresh(original, replace(plan, corrupt_kind=None), rng).text
    words = keywords(cont.last_user)
    more = max(5, plan.output_tokens - count_tokens(cont.partial))
    text = continuation_text(canonical, cont, plan.overlap_chars,
                             lambda: compose(words, more, random.Random(prompt_seed((*cont.turns, cont.partial)))))
    kind = plan.corrupt_kind
    text = corrupt_text(text, kind, rng) if kind and text else text
    text, finish = _cap(text, ask.max_tokens)
    return Answer(text, None, finish, prompt, count_tokens(text), kind)


def build_answer(ask: Ask, plan: Plan, rng: random.Random) -> Answer:
    """The answer to ``ask`` under ``plan``; ``rng`` (the target's stream) draws only corruption.
    A repair request (the last user turn starts with :data:`core.normalize.REPAIR_PREFIX`) is
    answered without the target's corruption, as a model asked to fix its answer usually does."""
    if ask.last_user.startswith(REPAIR_PREFIX):
        plan = replace(plan, corrupt_kind=None)
    if ask.continuation is not None:
        return _continued(ask, ask.continuation, plan, rng)
    return _fresh(ask, plan, rng)


def is_breaking(kind: str | None) -> bool:
    """True for corruption kinds that make JSON unparseable."""
    return kind in BREAKING
