"""What output normalisation did to an answer, as it appears in the routing trace.

:class:`Normalization` is set on ``RoutingTrace.normalization`` (and ``AttemptResult``) when a route
has a ``normalize:`` block: every step that changed the answer (:class:`Change`), where the raw
answer is kept (``raw_ref``: a stored payload, ``activities/storage/payloads.py``, so the audit
shows raw and normalised without the raw text in workflow history), and the JSON repair call if
one was made (:class:`Repair`, at most one per request).

Pure data: importable inside workflows.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Change(BaseModel):
    """One normalisation step that changed the answer: ``step`` (the config key), what it did,
    and the answer's length in chars before and after."""

    step: str
    detail: str
    chars_before: int
    chars_after: int


class Repair(BaseModel):
    """The one repair call of a JSON answer invalid for its schema: the ``errors`` that caused it,
    whether the repaired answer is valid (``ok``), the errors left (``errors_after``), and the
    call's latency (ms) and cost (USD, also in the attempt's cost)."""

    target: str
    errors: list[str] = Field(default_factory=list)
    ok: bool = False
    errors_after: list[str] = Field(default_factory=list)
    latency_ms: float = 0.0
    cost_usd: float = 0.0


class Normalization(BaseModel):
    """See module docstring. ``raw_chars``: length of the answer as the target wrote it;
    ``skipped``: why nothing was applied (a streamed answer the client already holds)."""

    changes: list[Change] = Field(default_factory=list)
    raw_ref: str | None = None
    raw_chars: int = 0
    repair: Repair | None = None
    skipped: str | None = None
