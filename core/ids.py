"""Workflow id scheme (``shared/TEMPORAL.md`` recommendation 13).

- request: ``req-<uuid7>``, or ``req-<tenant>-<idempotency key>`` when the caller supplies a key, so
  a retried submission attaches to the same execution instead of running twice;
- conversation: ``conv-<tenant>-<conversation id>``; batch: ``batch-<job>``, item ``batch-<job>/doc-<n>``.

Keys are restricted to ``[A-Za-z0-9._:-]``; anything else becomes ``_`` and, when changed, a short
hash of the original is appended so two different keys never collide.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid

_SAFE = re.compile(r"[^A-Za-z0-9._:\-]")


def uuid7() -> uuid.UUID:
    """A time-ordered UUID version 7 (RFC 9562 section 5.7): 48-bit unix ms + 74 random bits.

    Not for workflow code (reads the clock and ``os.urandom``)."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | (rand >> 68 & 0xFFF) << 64 | 0b10 << 62 | (
        rand & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def safe_key(key: str, max_len: int = 200) -> str:
    """``key`` made safe for an id (see module docstring)."""
    cleaned = _SAFE.sub("_", key)[:max_len]
    if cleaned != key:
        cleaned += "-" + hashlib.sha256(key.encode()).hexdigest()[:10]
    return cleaned


def request_workflow_id(tenant: str = "default", idempotency_key: str | None = None) -> str:
    """``req-<uuid7>`` or, with a key, ``req-<tenant>-<key>`` (scoped by tenant)."""
    if idempotency_key:
        return f"req-{safe_key(tenant, 60)}-{safe_key(idempotency_key)}"
    return f"req-{uuid7().hex}"


def conversation_workflow_id(tenant: str, conversation_id: str) -> str:
    """``conv-<tenant>-<conversation id>``: one workflow per conversation, scoped by tenant."""
    if not conversation_id:
        raise ValueError("a conversation id must not be empty")
    return f"conv-{safe_key(tenant, 60)}-{safe_key(conversation_id)}"
