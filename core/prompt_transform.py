"""Prompt transformation: a small fast model rewrites a route's system prompt for a target family.

Opt-in per route (``prompts.transform``)::

    transform:
      by: openai/local-llama-3.1-8b@local   # the target that writes the rewrites (a small fast model)
      use: pinned | draft                   # pinned (default): only reviewed, pinned text is sent;
                                            # draft: a fresh rewrite is sent from the next request on
      only: ["claude-*", gemini]            # optional: variant-style keys of the targets to rewrite for
      max_tokens: 800                       # cap of the rewrite call (tokens)

A rewrite is keyed by ``(route, family, source hash)``: ``family`` is the target's
``provider/model`` (every region of a model shares it), the hash is of the variant's system
*template* for that target, before variables are filled in (:func:`source_hash`), so per-request
variable values never cause more rewrites; the rewrite keeps the ``{name}`` placeholders (one that
names an undeclared variable is stored as ``failed``) and is rendered like the original. The first
attempt that meets a key with no rewrite starts one *in the background* and proceeds with the
original text; no request waits on a model call. Statuses: ``pending`` (being written), ``draft``
(written, not reviewed), ``pinned`` (reviewed: the text sent), ``rejected`` (never sent; not
rewritten again), ``failed`` (the call failed; retried after :data:`RETRY_FAILED_S`). Review with
``switchyard prompts list|show|pin|reject``.

Pure: the key, the instruction and the decision of what to send; the store and the call live in
``activities/prompt_rewrites.py``.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.chat import ChatMessage, ChatRequest

RewriteStatus = Literal["pending", "draft", "pinned", "rejected", "failed"]
STATUSES: tuple[str, ...] = RewriteStatus.__args__  # type: ignore[attr-defined]
#: A ``pending`` row older than this (s) was left by a process that died mid-rewrite: take it over.
STALE_PENDING_S = 300.0
#: A ``failed`` rewrite is tried again after this many seconds.
RETRY_FAILED_S = 600.0


class TransformConfig(BaseModel):
    """A route's prompt transformation (see module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: str
    use: Literal["pinned", "draft"] = "pinned"
    only: list[str] = Field(default_factory=list)
    max_tokens: int = Field(default=800, ge=16, le=8192)


def source_hash(text: str) -> str:
    """First 16 hex digits of the SHA-256 of the source prompt (the rewrite's key part)."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def rewrite_id(route: str, family: str, digest: str) -> str:
    """The stored rewrite's id: 12 hex digits of the hash of ``route|family|digest``."""
    return hashlib.sha256(f"{route}|{family}|{digest}".encode()).hexdigest()[:12]


def family_of(target_id: str) -> str:
    """The rewrite family of a target: its ``provider/model`` (regions share a rewrite)."""
    return target_id.rpartition("@")[0] or target_id


def usable(status: str, use: str) -> bool:
    """Whether a rewrite in ``status`` is sent under the route's ``use`` policy."""
    return status == "pinned" or (use == "draft" and status == "draft")


def needs_rewrite(status: str | None, age_s: float) -> bool:
    """Whether an attempt that meets this key should start a rewrite: none yet, a ``pending`` one
    abandoned for :data:`STALE_PENDING_S`, or a ``failed`` one older than :data:`RETRY_FAILED_S`."""
    if status is None:
        return True
    if status == "pending":
        return age_s > STALE_PENDING_S
    if status == "failed":
        return age_s > RETRY_FAILED_S
    return False


def rewrite_request(source: str, family: str, max_tokens: int) -> ChatRequest:
    """The request the small model gets: rewrite ``source`` for a model of ``family``, keeping its
    meaning, constraints, output format and any ``{name}`` placeholders, answering with the text only."""
    instruction = (
        "You adapt system prompts between language model families. Rewrite the system prompt below so "
        f"that a model of the family {family} follows it as well as the original's author intended. Keep "
        "every instruction, constraint, output format and placeholder; do not add new requirements. "
        "Answer with the rewritten system prompt only, without any preamble or comment.")
    return ChatRequest(messages=[ChatMessage(role="system", content=instruction),
                                 ChatMessage(role="user", content=source)],
                       max_tokens=max_tokens, temperature=0.0)
