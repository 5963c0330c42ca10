"""Extended thinking (Anthropic) carried through the internal Chat Completions shape.

The internal request and message types are open models, so thinking rides in two extra fields:

- ``ChatRequest.thinking``: the caller's ``thinking`` object (``{"type": "enabled", "budget_tokens": N}``),
  sent to targets with the ``thinking`` capability and dropped, with a trace note, elsewhere;
- ``thinking_blocks`` on an assistant ``ChatMessage`` (history) or ``ResponseMessage`` (answer):
  the ``thinking`` / ``redacted_thinking`` blocks, signatures included, exactly as Anthropic sent
  them (its API requires them back unchanged in later turns of a tool-use loop).

Source: Anthropic, "Building with extended thinking" (thinking blocks, signatures, preserving them
in multi-turn tool use).
"""

from __future__ import annotations

from typing import Any

THINKING = "thinking"
BLOCKS = "thinking_blocks"
BLOCK_TYPES = ("thinking", "redacted_thinking")


def blocks_of(model: Any) -> list[dict[str, Any]]:
    """The thinking blocks an open model (message) carries, or ``[]``."""
    extra = getattr(model, "model_extra", None) or {}
    value = extra.get(BLOCKS)
    return [b for b in value if isinstance(b, dict) and b.get("type") in BLOCK_TYPES] if isinstance(value, list) else []


def thinking_of(request: Any) -> dict[str, Any] | None:
    """The request's ``thinking`` object when it asks for thinking, else ``None``."""
    value = (getattr(request, "model_extra", None) or {}).get(THINKING)
    return value if isinstance(value, dict) and value.get("type") == "enabled" else None
