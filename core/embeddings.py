"""Embedding requests: the workflow input, one call's input, and the deterministic parts.

``EmbeddingWorkflow`` (``workflows/embedding.py``) walks the route's fallback chain of embedding
targets (capability ``embeddings``) like a chat request walks its chain, one local activity per
target (``activities/embeddings.py``). Every input of one request is embedded by **one** target:
a failover re-embeds all of them on the next target, so a response never mixes vectors of two
models. The vectors themselves never enter workflow history: the activity stores them in the
payload table and the result carries the reference (``EmbedResult.ref``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

MAX_INPUTS = 2048  # OpenAI's limit on inputs per embeddings request


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EmbeddingInput(_Model):
    """One embeddings request. ``inputs``: the texts, in order; ``dimensions``: the size the caller
    asked for (``None``: the target's native size); ``task_type``: the route."""

    inputs: list[str] = Field(min_length=1, max_length=MAX_INPUTS)
    task_type: str | None = None
    tenant: str = "default"
    dimensions: int | None = Field(default=None, ge=1, le=65_536)
    deadline_s: float | None = Field(default=None, gt=0, le=600)
    metadata: dict[str, str] = Field(default_factory=dict)


class EmbedCall(_Model):
    """What the workflow passes one embed activity (no secrets: the key is read in the activity)."""

    workflow_id: str
    run_id: str = ""
    seq: int
    target: str
    inputs: list[str]
    dimensions: int | None = None
    task_type: str
    tenant: str
    timeout_s: float


class EmbeddingPayload(_Model):
    """The stored answer of one embeddings request (payload table, referenced by the result's
    ``response_ref``): the target and model that made every vector, their ``dimensions``, and the
    vectors in input order."""

    target: str
    model: str
    dimensions: int
    prompt_tokens: int = 0  # as the provider counted them, else estimated (about 4 characters a token)
    vectors: list[list[float]]
