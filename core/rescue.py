"""Rescue of a stream cut after its first token: the continuation request and the glue.

A rescue (``shared/STREAMING.md`` "Commit point", step 2) sends the next target the conversation
plus the partial answer and asks it to continue. How the partial answer travels depends on the
target's wire protocol:

- **Anthropic**: a trailing ``assistant`` message is a prefill the model continues natively
  (Anthropic Messages API, "Prefill Claude's response"); the API rejects a final assistant turn
  that ends in whitespace, so trailing whitespace is cut off the prefill and the continuation is
  glued after the full partial (:func:`prefill_text`).
- **Gemini**: a trailing ``model`` turn in ``contents`` is continued the same way.
- **OpenAI protocol** (OpenAI, Mistral, vLLM, Ollama, llama.cpp): no prefill; the partial answer is
  sent as an ``assistant`` turn followed by a ``user`` turn holding :data:`CONTINUE_INSTRUCTION`,
  and any text the model repeats is trimmed (:func:`trim_overlap`).

Everything here is pure string and message work: importable inside workflows.
"""

from __future__ import annotations

from core.chat import ChatMessage, ChatRequest

#: The user turn that asks an OpenAI-protocol target to continue its own (partial) last turn.
#: The simulator recognises it (``simulator/continuation.py``), as a real model follows it.
CONTINUE_INSTRUCTION = ("Your previous reply was cut off. Continue it exactly where it stopped: do not "
                        "repeat anything already written, do not add a preamble, output only the rest.")

#: Shortest repeated text that is trimmed as overlap (chars). Shorter coincidences (a space, one
#: letter) are far more often a legitimate continuation than a repetition.
MIN_OVERLAP_CHARS = 4


def prefill_text(partial: str) -> str:
    """The partial answer as an Anthropic/Gemini prefill: trailing whitespace removed (Anthropic
    rejects a final assistant turn ending in whitespace). The model continues after the stripped
    text; :func:`glue_after_prefill` restores the whitespace."""
    return partial.rstrip()


def glue_after_prefill(partial: str, continuation: str) -> str:
    """The continuation text to forward after ``partial`` when ``prefill_text(partial)`` was sent:
    the whitespace cut off the prefill is consumed from the continuation's start (the model usually
    re-emits it), so nothing is doubled or lost."""
    if partial == partial.rstrip():
        return continuation
    return continuation.lstrip()


def trim_overlap(sent: str, new: str, *, min_chars: int = MIN_OVERLAP_CHARS) -> str:
    """``new`` without the longest suffix of ``sent`` that is also a prefix of ``new`` (when that
    overlap is at least ``min_chars`` long, or is the whole of ``new``'s start matching all of
    ``sent``). Example: ``trim_overlap("The key point is", "point is that")`` -> ``" that"``."""
    longest = min(len(sent), len(new))
    for n in range(longest, min_chars - 1, -1):
        if sent.endswith(new[:n]):
            return new[n:]
    return new


def continuation_messages(messages: list[ChatMessage], partial: str, protocol: str) -> list[ChatMessage]:
    """The messages of a rescue call for a target speaking ``protocol``: the original messages plus
    the partial answer as the model's own turn (prefill for ``anthropic``/``gemini``; for ``openai``
    followed by :data:`CONTINUE_INSTRUCTION`)."""
    if protocol in ("anthropic", "gemini"):
        return [*messages, ChatMessage(role="assistant", content=prefill_text(partial))]
    return [*messages, ChatMessage(role="assistant", content=partial),
            ChatMessage(role="user", content=CONTINUE_INSTRUCTION)]


def continuation_request(request: ChatRequest, partial: str, protocol: str) -> ChatRequest:
    """``request`` turned into the rescue call for ``protocol`` (see :func:`continuation_messages`)."""
    return request.model_copy(update={"messages": continuation_messages(list(request.messages), partial, protocol)})


def is_continuation(messages: list[ChatMessage]) -> bool:
    """Whether ``messages`` end in an OpenAI-protocol continuation request (assistant turn, then
    :data:`CONTINUE_INSTRUCTION`)."""
    return (len(messages) >= 2 and messages[-1].role == "user" and messages[-1].text() == CONTINUE_INSTRUCTION
            and messages[-2].role == "assistant")
