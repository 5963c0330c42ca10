"""The batch file format (JSONL) and its template substitution.

One JSON object per line; blank lines are skipped (line numbers still count). Each line is one
document to generate, given either as a **template** (one user message, plus an optional
``system`` prompt) or as full OpenAI-style **messages**, with **variables** substituted into every
text::

    {"id": "acme-881", "task_type": "support_reply", "system": "You answer for {company}.",
     "template": "Write to {customer_name} about order {order}.",
     "variables": {"company": "Northwind", "customer_name": "Ana", "order": "NW-48213"}, "max_tokens": 300}
    {"messages": [{"role": "system", "content": "Summarise clauses plainly."},
                  {"role": "user", "content": "Clause {clause_no}: {clause_text}"}],
     "variables": {"clause_no": "12.2", "clause_text": "..."}, "task_type": "contract_clause_summary"}

Fields: ``id`` (optional caller key, <= 200 characters, echoed in the export), ``task_type``
(optional: the file's default, then the config's default route), ``template`` xor ``messages``,
``system`` (template form only), ``variables`` (name -> string, number or boolean), and the request
parameters ``max_tokens``, ``temperature``, ``response_format``, ``metadata``. Unknown fields are
rejected, so a misspelt one does not pass silently.

Substitution: ``{name}`` (a Python identifier) is replaced by the variable's value; ``{{`` and
``}}`` are literal braces; any other brace text (JSON examples in a prompt) is left alone. A
placeholder without a value is an error, so nothing is sent with a hole in it. Unused variables
are allowed.

Every bad line is reported with its number (:class:`BatchFileError`); nothing is loaded unless the
whole file is good. Pure: no I/O (the caller reads the file).
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.chat import ChatMessage, ChatRequest

#: A rendered request larger than this (bytes of JSON) is rejected: it would travel as a Temporal
#: payload (the child's input) and Temporal warns at 512 KB, rejects at 2 MB (TEMPORAL.md section 4).
MAX_ITEM_BYTES = 256 * 1024
#: At most this many bad lines are listed in one error (the count of all of them is given).
MAX_REPORTED_ERRORS = 20

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")

Scalar = str | int | float | bool


class BatchFileError(ValueError):
    """The file has bad lines; ``problems`` is ``[(line number, message), ...]`` (1-based; 0 for
    the file as a whole, e.g. an empty file)."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        shown = "\n".join(f"  line {n}: {msg}" if n else f"  {msg}" for n, msg in problems[:MAX_REPORTED_ERRORS])
        more = len(problems) - MAX_REPORTED_ERRORS
        super().__init__(f"{len(problems)} bad line(s):\n{shown}" + (f"\n  ... and {more} more" if more > 0 else ""))


class BatchLine(BaseModel):
    """One line of the file as written (before substitution); see the module docstring."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, min_length=1, max_length=200)
    task_type: str | None = None
    template: str | None = None
    system: str | None = None
    messages: list[ChatMessage] | None = Field(default=None, min_length=1)
    variables: dict[str, Scalar] = Field(default_factory=dict)
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    response_format: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> BatchLine:
        if (self.template is None) == (self.messages is None):
            raise ValueError("give exactly one of 'template' or 'messages'")
        if self.system is not None and self.messages is not None:
            raise ValueError("'system' goes with 'template'; with 'messages' put a system message first")
        return self


class BatchItemSpec(BaseModel):
    """One rendered item: its 1-based number ``n`` (the line's position among items, not the line
    number), the caller's ``key``, the task type and the request to send."""

    n: int
    key: str | None = None
    task_type: str | None = None
    request: ChatRequest


class MissingVariable(ValueError):
    """A ``{name}`` placeholder has no value."""


def substitute(text: str, variables: dict[str, Scalar]) -> str:
    """``text`` with every ``{name}`` replaced (see module docstring); raises :class:`MissingVariable`."""

    def repl(m: re.Match[str]) -> str:
        token = m.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = m.group(1)
        if name not in variables:
            raise MissingVariable(f"template variable {{{name}}} has no value in 'variables'")
        value = variables[name]
        return str(value).lower() if isinstance(value, bool) else str(value)

    return _PLACEHOLDER.sub(repl, text)


def render(line: BatchLine, n: int, default_task_type: str | None = None) -> BatchItemSpec:
    """The item of one parsed line; raises :class:`MissingVariable` or ``ValueError`` (too large)."""
    v = line.variables
    if line.template is not None:
        messages = ([ChatMessage(role="system", content=substitute(line.system, v))] if line.system else []) + [
            ChatMessage(role="user", content=substitute(line.template, v))]
    else:
        messages = [_render_message(m, v) for m in line.messages or []]
    request = ChatRequest(messages=messages, max_tokens=line.max_tokens, temperature=line.temperature,
                          response_format=line.response_format, metadata=line.metadata)
    size = len(request.model_dump_json(exclude_none=True).encode())
    if size > MAX_ITEM_BYTES:
        raise ValueError(f"rendered request is {size} bytes, over the {MAX_ITEM_BYTES}-byte item limit; "
                         "split the document")
    return BatchItemSpec(n=n, key=line.id, task_type=line.task_type or default_task_type, request=request)


def _render_message(m: ChatMessage, v: dict[str, Scalar]) -> ChatMessage:
    if isinstance(m.content, str):
        return m.model_copy(update={"content": substitute(m.content, v)})
    if isinstance(m.content, list):
        parts = [{**p, "text": substitute(p["text"], v)} if p.get("type") == "text" and isinstance(
            p.get("text"), str) else p for p in m.content]
        return m.model_copy(update={"content": parts})
    return m


def parse_lines(lines: list[str], default_task_type: str | None = None,
                routes: Collection[str] | None = None) -> list[BatchItemSpec]:
    """Parse and render every line; raises :class:`BatchFileError` listing every bad line, or when
    the file holds no item at all. Items are numbered 1, 2, ... in file order. ``routes``: the
    route names of the config the workers run, when known; an item whose task type names none of
    them is a bad line (it could never be answered, and retrying it would not help)."""
    items: list[BatchItemSpec] = []
    problems: list[tuple[int, str]] = []
    keys: dict[str, int] = {}
    for lineno, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            line = BatchLine.model_validate(json.loads(raw))
            item = render(line, len(items) + 1, default_task_type)
        except json.JSONDecodeError as e:
            problems.append((lineno, f"not valid JSON: {e.msg} at column {e.colno}"))
            continue
        except ValidationError as e:
            problems.append((lineno, _validation_message(e)))
            continue
        except ValueError as e:
            problems.append((lineno, str(e)))
            continue
        if routes is not None and item.task_type is not None and item.task_type not in routes:
            problems.append((lineno, f"unknown task type {item.task_type!r} (routes: {', '.join(sorted(routes))})"))
            continue
        if item.key is not None and item.key in keys:
            problems.append((lineno, f"duplicate id {item.key!r} (first on line {keys[item.key]})"))
            continue
        if item.key is not None:
            keys[item.key] = lineno
        items.append(item)
    if not items and not problems:
        problems.append((0, "the file holds no items"))  # line 0: the file as a whole
    if problems:
        raise BatchFileError(problems)
    return items


def _validation_message(e: ValidationError) -> str:
    out = []
    for err in e.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"].removeprefix("Value error, ")
        out.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(out)
