"""Token estimates for planning (context-window fit) and for providers that report no usage.

Heuristic: about 4 characters per token for English text (OpenAI's published rule of thumb,
https://help.openai.com/en/articles/4936856), plus 4 tokens of framing per message (OpenAI
cookbook, "How to count tokens with tiktoken": 3-4 per message), plus 85 tokens per image (the
low-detail image cost in OpenAI's vision guide). An estimate, flagged as such wherever it is used.
"""

from __future__ import annotations

import math

from core.chat import ChatMessage, ChatRequest

CHARS_PER_TOKEN = 4.0
PER_MESSAGE = 4
PER_IMAGE = 85


def estimate_text_tokens(text: str) -> int:
    """Estimated tokens in a piece of text (0 for empty text)."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def estimate_message_tokens(msg: ChatMessage) -> int:
    """Estimated prompt tokens of one message, tool calls and images included."""
    n = PER_MESSAGE + estimate_text_tokens(msg.text())
    if isinstance(msg.content, list):
        n += PER_IMAGE * sum(1 for p in msg.content if p.get("type") == "image_url")
    for call in msg.tool_calls or []:
        n += estimate_text_tokens(call.function.name) + estimate_text_tokens(call.function.arguments)
    return n


def estimate_prompt_tokens(req: ChatRequest) -> int:
    """Estimated prompt tokens of a whole request: messages plus tool declarations."""
    n = 3 + sum(estimate_message_tokens(m) for m in req.messages)
    for tool in req.tools or []:
        n += estimate_text_tokens(str(tool))
    return n
