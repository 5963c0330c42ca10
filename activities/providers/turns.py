"""Conversation shaping shared by the Anthropic and Gemini translations (providers.md §4.1).

Rules, in the order they apply:

1. **System and developer messages are hoisted**, every one, in their original order (LiteLLM's
   rule; Portkey keeps only the first, which §0 #19 says not to copy). A system message that comes
   after the first user/assistant/tool message loses its position; a trace note records each such
   hoist (§4.1 "Policy note").
2. Each remaining message becomes one :class:`Turn` (``user`` or ``assistant``; ``tool`` results
   become ``user`` turns) whose blocks are already in the target protocol's shape.
3. Turns without blocks are dropped (empty text parts are never sent).
4. **Consecutive same-role turns are merged** into one turn; in a merged user turn the tool-result
   blocks come first (Anthropic requires them at the start of the turn after the tool call; Gemini
   requires user/model alternation).
5. **A conversation must start with a user turn**: when it starts with the assistant, or holds
   nothing but system messages, a minimal user turn ``"."`` (LiteLLM's filler) is prepended.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.chat import ChatMessage

#: The text of the minimal user turn prepended when a conversation does not start with the user.
FILLER_TEXT = "."

Block = dict[str, Any]


@dataclass
class Turn:
    """One protocol turn: ``role`` is ``user`` or ``assistant``; ``blocks`` are protocol parts."""

    role: str
    blocks: list[Block] = field(default_factory=list)


def hoist_system(messages: list[ChatMessage], notes: list[str], protocol: str) -> tuple[list[str], list[ChatMessage]]:
    """Split ``system``/``developer`` messages off: ``(system texts in order, the other messages)``.

    Empty system texts are dropped; every system message after the first non-system message adds a
    trace note ("hoisted")."""
    system: list[str] = []
    rest: list[ChatMessage] = []
    for i, msg in enumerate(messages):
        if msg.role not in ("system", "developer"):
            rest.append(msg)
            continue
        if rest:
            notes.append(f"{protocol}: {msg.role} message at position {i} hoisted into the system prompt")
        if msg.text():
            system.append(msg.text())
    return system, rest


def shape_turns(turns: list[Turn], *, is_result: Callable[[Block], bool], filler: Block,
                notes: list[str], protocol: str) -> list[Turn]:
    """Apply rules 3-5: drop empty turns, merge same-role neighbours (results first), start with user."""
    merged: list[Turn] = []
    for turn in turns:
        if not turn.blocks:
            continue
        if merged and merged[-1].role == turn.role:
            merged[-1].blocks.extend(turn.blocks)
        else:
            merged.append(Turn(turn.role, list(turn.blocks)))
    for turn in merged:
        if turn.role == "user":
            turn.blocks.sort(key=lambda b: not is_result(b))     # stable: results first, order kept
    if not merged or merged[0].role != "user":
        merged.insert(0, Turn("user", [filler]))
        notes.append(f"{protocol}: conversation did not start with a user turn; prepended a minimal one")
    return merged
