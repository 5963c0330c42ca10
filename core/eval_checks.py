"""Eval cases and the checks that score one answer (``switchyard eval``, drills).

A case is one line of a JSONL file::

    {"id": "refill-1", "prompt": "Where is my refill order NW-48213?", "system": "You are ...",
     "max_tokens": 200, "json": false,                     # true: JSON mode (response_format json_object)
     "schema": {"type": "object", ...},                    # JSON Schema of the answer (response_format json_schema)
     "expected": "exact answer text",                      # optional: exact match (whitespace-trimmed)
     "checks": {"contains": ["NW-48213", "refill"],        # every item must occur (case-insensitive)
                "not_contains": ["sorry"],
                "regex": "order\\s+NW-\\d+",               # re.search, case-insensitive
                "json_keys": ["order_id", "status"],       # the answer parses as a JSON object with them
                "min_chars": 20, "max_chars": 2000}}

Scoring of one answer, 0..1 (:func:`check_score`): each ``expected``, each ``contains`` /
``not_contains`` item, ``regex``, each ``json_keys`` key (plus "parses as JSON") and each length
bound is one check; the score is the share passed. A case without checks is scored by an LLM judge
(:func:`judge_prompt` / :func:`parse_judge_score`: a 1-10 score read back as 0.1..1.0) when one is
configured, else by the answer heuristics of ``core/quality.py`` (1 without quality flags, 0 with).

Pure and deterministic; raises :class:`CaseError` (naming the line and field) for bad input.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.chat import ChatMessage, ChatRequest

_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)
_SCORE = re.compile(r"score\s*(?:is|[:=])?\s*\**\s*(\d+(?:\.\d+)?)\s*(?:/\s*10|out of 10)?", re.IGNORECASE)

#: The judge's instructions; the simulator recognises the first line (``simulator/judge.py``).
JUDGE_HEADER = "You are an evaluator of answers written by an AI assistant."


class CaseError(ValueError):
    """A JSONL case file line that is not a valid case; the message names the line and field."""


class Checks(BaseModel):
    """The structured checks of one case (see module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contains: list[str] = Field(default_factory=list)
    not_contains: list[str] = Field(default_factory=list)
    regex: str | None = None
    json_keys: list[str] = Field(default_factory=list)
    min_chars: int | None = Field(default=None, ge=0)
    max_chars: int | None = Field(default=None, ge=1)

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"not a regular expression: {e}") from None
        return v

    def count(self) -> int:
        """How many single checks this block holds (``json_keys`` adds one for parsing)."""
        return (len(self.contains) + len(self.not_contains) + (self.regex is not None)
                + (len(self.json_keys) + 1 if self.json_keys else 0)
                + (self.min_chars is not None) + (self.max_chars is not None))


class EvalCase(BaseModel):
    """One test prompt with its optional expected output and checks (see module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = ""
    prompt: str = Field(min_length=1)
    system: str | None = None
    max_tokens: int = Field(default=300, ge=1, le=32_000)
    json_mode: bool = Field(default=False, alias="json")
    json_schema: dict | None = Field(default=None, alias="schema")
    expected: str | None = None
    checks: Checks = Field(default_factory=Checks)

    def has_checks(self) -> bool:
        """True when the case is scored by checks (``expected`` or a check), not by a judge."""
        return self.expected is not None or self.checks.count() > 0

    def request(self) -> ChatRequest:
        """The chat request of this case."""
        msgs = ([ChatMessage(role="system", content=self.system)] if self.system else []) + [
            ChatMessage(role="user", content=self.prompt)]
        fmt = {"type": "json_object"} if self.json_mode else None
        if self.json_schema is not None:
            fmt = {"type": "json_schema", "json_schema": {"name": "answer", "schema": self.json_schema}}
        return ChatRequest(messages=msgs, max_tokens=self.max_tokens, response_format=fmt)


def parse_cases(text: str) -> list[EvalCase]:
    """Cases from JSONL text (blank lines and ``#`` comments skipped); a case without ``id`` gets
    ``case-<line>``. Raises :class:`CaseError` for bad JSON or fields, and for no case at all."""
    cases: list[EvalCase] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            raw = json.loads(line)
            case = EvalCase.model_validate(raw)
        except json.JSONDecodeError as e:
            raise CaseError(f"line {n}: not JSON: {e.msg}") from None
        except ValidationError as e:
            err = e.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "(case)"
            raise CaseError(f"line {n}: {where}: {err['msg']}") from None
        cases.append(case if case.id else case.model_copy(update={"id": f"case-{n}"}))
    if not cases:
        raise CaseError("no cases in the file")
    return cases


def _json_object(text: str) -> dict | None:
    m = _FENCE.match(text)
    try:
        value = json.loads(m.group(1) if m else text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def check_results(case: EvalCase, text: str) -> dict[str, bool]:
    """Each single check of ``case`` on the answer ``text`` -> passed (in case order)."""
    low = text.lower()
    c = case.checks
    out: dict[str, bool] = {}
    if case.expected is not None:
        out["expected"] = text.strip() == case.expected.strip()
    out |= {f"contains:{s}": s.lower() in low for s in c.contains}
    out |= {f"not_contains:{s}": s.lower() not in low for s in c.not_contains}
    if c.regex is not None:
        out["regex"] = re.search(c.regex, text, re.IGNORECASE) is not None
    if c.json_keys:
        obj = _json_object(text)
        out["json"] = obj is not None
        out |= {f"json_key:{k}": obj is not None and k in obj for k in c.json_keys}
    if c.min_chars is not None:
        out["min_chars"] = len(text) >= c.min_chars
    if c.max_chars is not None:
        out["max_chars"] = len(text) <= c.max_chars
    return out


def check_score(case: EvalCase, text: str) -> float | None:
    """Share of ``case``'s checks the answer passes, 0..1; ``None`` when the case has none."""
    results = check_results(case, text)
    return sum(results.values()) / len(results) if results else None


def judge_prompt(case: EvalCase, answer: str) -> ChatRequest:
    """The judge's request: the question and answer, asking for ``Score: N`` with N in 1..10."""
    body = (f"{JUDGE_HEADER}\nRate how well the answer serves the question, from 1 (wrong, empty or off "
            f"topic) to 10 (complete and correct). Reply with one line \"Score: N\" and one sentence why.\n"
            f"<question>\n{case.prompt}\n</question>\n<answer>\n{answer}\n</answer>")
    return ChatRequest(messages=[ChatMessage(role="user", content=body)], max_tokens=60, temperature=0.0)


def parse_judge_score(text: str) -> float | None:
    """The judge's score as 0.1..1.0 (``Score: 7`` -> 0.7, clamped to 1..10); ``None`` when the
    reply holds no score."""
    m = _SCORE.search(text or "")
    if m is None:
        return None
    return min(max(float(m.group(1)), 1.0), 10.0) / 10.0
