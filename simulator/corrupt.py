"""Silent output corruption (scenario key ``corrupt_kind``), applied to an answer with HTTP 200.

Kinds and effects:

- ``foreign_script``: a run of characters of another writing system in the middle of the text (the
  Anthropic 2025-08 incident: Thai or Chinese characters inside English answers).
- ``repetition``: one phrase repeated many times, as a looping decoder does.
- ``empty``: no text at all (usage still reports the prompt).
- ``truncated``: the text stops mid-sentence, without its final part (finish reason still "stop").
- ``off_topic``: fluent text unrelated to the prompt.
- ``invalid_json``: text that is not parseable JSON (an unterminated object).
- ``preamble``, ``signoff``, ``json_fence``: the answer wrapped the way chatty models wrap it: an
  announcing first line ("Sure! Here is the answer:"), a closing line ("Let me know if you have any
  other questions!"), or a markdown code fence around JSON (Switchyard's output normalisation,
  ``core/normalize.py``, removes each). Tool-call arguments are left as they are.

For JSON answers, ``foreign_script``, ``repetition`` and ``off_topic`` change string values inside
still-valid JSON; the other kinds break the JSON text. Tool-call arguments given as objects
(Anthropic ``input``, Gemini ``args``) cannot be unparseable, so there the breaking kinds drop every
argument (``{}``, which fails the tool's schema).
"""

from __future__ import annotations

import json
import random
from typing import Any

from simulator.text import count_tokens, off_topic

FOREIGN_RUNS = ("สวัสดีครับ ข้อมูลสำคัญ", "数据处理结果如下", "Привет, данные обработаны", "مرحبا بالعالم",
                "こんにちは世界のデータ")
BREAKING = frozenset({"empty", "truncated", "invalid_json"})
PREAMBLE = "Sure! Here is the answer:\n\n"
SIGNOFF = "\n\nLet me know if you have any other questions!"
WRAPPING = frozenset({"preamble", "signoff", "json_fence"})


def wrap_text(text: str, kind: str) -> str:
    """``text`` with the wrapping ``kind`` (``preamble``, ``signoff``, ``json_fence``) around it."""
    if kind == "preamble":
        return PREAMBLE + text
    if kind == "signoff":
        return text + SIGNOFF
    return f"```json\n{text}\n```"


def corrupt_text(text: str, kind: str, rng: random.Random) -> str:
    """``text`` with the corruption ``kind`` applied."""
    if kind in WRAPPING:
        return wrap_text(text, kind)
    if kind == "empty":
        return ""
    if kind == "off_topic":
        return off_topic(max(count_tokens(text), 8), rng)
    if kind == "invalid_json":
        return _break_json(text)
    words = text.split(" ")
    if kind == "truncated":
        keep = max(1, int(len(words) * rng.uniform(0.3, 0.6)))
        last = words[keep - 1]
        return " ".join(words[: keep - 1] + [last[: max(1, len(last) // 2)]]).rstrip(".")
    middle = max(1, len(words) // 2)
    if kind == "foreign_script":
        return " ".join(words[:middle] + [rng.choice(FOREIGN_RUNS)] + words[middle:])
    if kind == "repetition":
        loop = " ".join(words[max(0, middle - 4): middle]) or text or "the the"
        return " ".join(words[:middle]) + (" " + loop) * 12
    raise ValueError(f"unknown corrupt_kind {kind!r}")


def _break_json(text: str) -> str:
    """Unparseable JSON that still looks like the start of the intended answer."""
    stripped = text.strip()
    if stripped.startswith(("{", "[")):
        return stripped[: max(2, len(stripped) * 2 // 3)].rstrip("}]") + ', "'
    return '{"answer": "' + text.replace('"', "'")


def corrupt_value(value: Any, kind: str, rng: random.Random) -> Any:
    """A JSON value with every string leaf corrupted (``foreign_script``, ``repetition``,
    ``off_topic``), or ``{}`` for the kinds that would make JSON text unparseable."""
    if kind in BREAKING:
        return {}
    if kind in WRAPPING:
        return value
    if isinstance(value, str):
        return corrupt_text(value or "value", kind, rng)
    if isinstance(value, dict):
        return {k: corrupt_value(v, kind, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [corrupt_value(v, kind, rng) for v in value]
    return value


def corrupt_json_text(value: Any, kind: str, rng: random.Random) -> str:
    """JSON answer text for ``value`` after corruption ``kind``."""
    if kind in WRAPPING:
        return wrap_text(json.dumps(value, ensure_ascii=False), kind)
    if kind in BREAKING:
        return corrupt_text(json.dumps(value, ensure_ascii=False), kind, rng)
    return json.dumps(corrupt_value(value, kind, rng), ensure_ascii=False)
