"""Continuation (rescue) requests: recognised per protocol and answered with the rest of the answer.

Switchyard rescues a stream cut after its first token by sending the next target the conversation
plus the partial answer (``core/rescue.py``, ``shared/STREAMING.md`` "Commit point"). A real model
continues its partial answer; so does the simulator. Recognition, on the raw request body:

- Anthropic: the last message has role ``assistant`` and only text (a prefill). The partial is its
  text with trailing whitespace stripped (the API rejects a final assistant turn ending in whitespace).
- Gemini: the last ``contents`` entry has role ``model`` and only text parts; stripped the same way.
- OpenAI: the last message is a ``user`` turn whose text is exactly
  :data:`core.rescue.CONTINUE_INSTRUCTION` and the one before is an ``assistant`` turn, whose text is
  the partial (as sent).

The answer (:func:`continuation_text`) is the rest of the *canonical* answer, the one the original
request (without the partial and the instruction) gets, which depends only on the prompt
(``simulator.text.prompt_seed``): for a prefill exactly what follows the partial (leading whitespace
included); for OpenAI the same preceded by a restatement of the partial's last
``continuation_overlap_chars`` characters (real models often restate; Switchyard trims it). A
partial that is not a prefix of the canonical answer is continued with other prose on the topic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.rescue import CONTINUE_INSTRUCTION


@dataclass(frozen=True)
class Continuation:
    """A request that asks to continue ``partial``; ``turns``/``last_user`` are the original request's
    (its conversation texts without the partial and the instruction, see ``Ask.turns``);
    ``restates``: the OpenAI-protocol style, whose answer starts by repeating the end of the partial."""

    partial: str
    restates: bool
    turns: tuple[str, ...]
    last_user: str


def _plain_text(content: Any, part_types: tuple[str | None, ...]) -> str | None:
    """Text of a content value made only of text (a string, or parts/blocks with ``text`` and a type
    in ``part_types``), else None."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list) or not content:
        return None
    pieces = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") not in part_types or not isinstance(part.get("text"), str):
            return None
        pieces.append(part["text"])
    return "".join(pieces)


def anthropic_partial(messages: list) -> str | None:
    """The prefill of an Anthropic Messages request (trailing whitespace stripped), or None."""
    last = messages[-1] if messages else None
    if not isinstance(last, dict) or last.get("role") != "assistant":
        return None
    text = _plain_text(last.get("content"), ("text",))
    return None if text is None else text.rstrip()


def gemini_partial(contents: list) -> str | None:
    """The trailing ``model`` turn of a Gemini request (trailing whitespace stripped), or None."""
    last = contents[-1] if contents else None
    if not isinstance(last, dict) or last.get("role") != "model":
        return None
    parts = last.get("parts")
    if not isinstance(parts, list) or not parts:
        return None
    if not all(isinstance(p, dict) and isinstance(p.get("text"), str) for p in parts):
        return None
    return "".join(p["text"] for p in parts).rstrip()


def openai_partial(messages: list) -> str | None:
    """The assistant turn before a trailing :data:`CONTINUE_INSTRUCTION` user turn, or None."""
    if len(messages) < 2 or not all(isinstance(m, dict) for m in messages[-2:]):
        return None
    ask, said = messages[-1], messages[-2]
    if ask.get("role") != "user" or _plain_text(ask.get("content"), ("text",)) != CONTINUE_INSTRUCTION:
        return None
    if said.get("role") != "assistant":
        return None
    return _plain_text(said.get("content"), ("text",))


def _rest(canonical: str, partial: str, prose: Callable[[], str]) -> str:
    if canonical.startswith(partial):
        return canonical[len(partial):]
    stripped = partial.rstrip()
    if canonical.startswith(stripped):  # the partial's own trailing whitespace already ends it
        return canonical[len(stripped):].lstrip()
    return ("" if not partial or partial[-1].isspace() else " ") + prose()


def continuation_text(canonical: str, cont: Continuation, overlap_chars: int, prose: Callable[[], str]) -> str:
    """The text a continuation is answered with: the rest of ``canonical`` after ``cont.partial``
    (``prose()`` when the partial is not a prefix of it), preceded for the OpenAI style by the last
    ``overlap_chars`` characters of the partial."""
    rest = _rest(canonical, cont.partial, prose)
    if not cont.restates or overlap_chars <= 0:
        return rest
    return cont.partial[-overlap_chars:] + rest
