"""OpenAI Chat Completions shapes: the canonical request and response format inside Switchyard.

Every caller (Temporal client, CLI, gateway, batch, conversation) speaks OpenAI's Chat Completions
format (https://platform.openai.com/docs/api-reference/chat, field list in ``shared/providers.md``
section 1.1). Provider adapters translate *from* :class:`ChatRequest` to their wire protocol and
*back* to :class:`ChatResponse`. Models accept unknown fields (``extra="allow"``) so a parameter
this module does not name still reaches OpenAI-compatible targets; adapters for other protocols
drop or map them and note it in the routing trace.

Pure data, no I/O: importable inside workflows.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "developer", "user", "assistant", "tool", "function"]

#: OpenAI's finish reasons (``choices[].finish_reason``); every adapter maps to one of these.
FinishReason = Literal["stop", "length", "tool_calls", "content_filter", "function_call"]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class FunctionCall(_Open):
    """``tool_calls[].function``: ``arguments`` is a JSON *string*, as OpenAI sends it."""

    name: str
    arguments: str = ""


class ToolCall(_Open):
    """One assistant tool call: ``{id, type: "function", function: {name, arguments}}``."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(_Open):
    """One message of ``messages[]``.

    ``content`` is a string, a list of content parts (``{type: "text", text}``,
    ``{type: "image_url", image_url: {url}}``), or ``None`` (assistant turns with tool calls).
    """

    role: Role
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[ToolCall] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        """The message's text: the string content, or its text parts joined by newlines."""
        if self.content is None:
            return ""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")


class ChatRequest(_Open):
    """A Chat Completions request body (``POST /v1/chat/completions``).

    ``model`` is optional here: inside Switchyard the route chooses the model; the gateway uses
    the field to pick the route. Token caps are in tokens.
    """

    model: str | None = None
    messages: list[ChatMessage] = Field(min_length=1)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int | None = Field(default=None, ge=1)
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    stream: bool | None = None
    stream_options: dict[str, Any] | None = None
    user: str | None = None
    metadata: dict[str, str] | None = None

    def output_cap(self) -> int | None:
        """The requested output cap in tokens: ``max_completion_tokens``, else ``max_tokens``."""
        return self.max_completion_tokens or self.max_tokens

    def wants_json(self) -> bool:
        """True when ``response_format`` asks for JSON (``json_object`` or ``json_schema``)."""
        kind = (self.response_format or {}).get("type")
        return kind in ("json_object", "json_schema")


class ResponseMessage(_Open):
    """``choices[].message`` of a response."""

    role: Literal["assistant"] = "assistant"
    content: str | None = None
    refusal: str | None = None
    tool_calls: list[ToolCall] | None = None


class Choice(_Open):
    index: int = 0
    message: ResponseMessage
    finish_reason: FinishReason | None = "stop"
    logprobs: dict[str, Any] | None = None


class PromptTokensDetails(_Open):
    cached_tokens: int = 0


class CompletionTokensDetails(_Open):
    reasoning_tokens: int = 0


class Usage(_Open):
    """Token usage in OpenAI's arithmetic (see ``shared/providers.md`` section 4.2 "Usage").

    ``prompt_tokens`` includes cached tokens once; ``completion_tokens`` includes reasoning tokens.
    ``estimated`` is our own field: True when the provider gave no counts and we estimated them.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    prompt_tokens_details: PromptTokensDetails | None = None
    completion_tokens_details: CompletionTokensDetails | None = None
    estimated: bool = False


class ChatResponse(_Open):
    """A ``chat.completion`` object, as OpenAI returns it; ``model`` is the model that answered."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage = Field(default_factory=Usage)
    system_fingerprint: str | None = None

    def text(self) -> str:
        """The first choice's text content ('' when there is none)."""
        if not self.choices:
            return ""
        return self.choices[0].message.content or ""
