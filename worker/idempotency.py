"""One Idempotency-Key, one request: a key reused with a different request is refused.

Payment APIs set the rule (Stripe: "the idempotency layer compares incoming parameters to those of
the original request and errors unless they're the same"): attaching to the first execution would
hand the second caller an answer to a question it did not ask. The request's fingerprint
(:func:`fingerprint`: SHA-256 of the request body, route and tenant, without the transport-only
``stream``/``stream_options``, so a streamed retry of a non-streamed request still matches) is
stored in the workflow's memo at start; a keyed start that attached to an existing execution
compares it (:func:`check_same_request`, one describe call, keyed requests only).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from temporalio.client import WorkflowHandle

from core.request import RequestInput

MEMO_KEY = "request_sha256"


class IdempotencyConflict(Exception):
    """The key already names an execution of a different request."""

    def __init__(self, workflow_id: str) -> None:
        super().__init__(f"Idempotency-Key already used for a different request (execution {workflow_id}); "
                         "use a new key for a new request.")
        self.workflow_id = workflow_id


def fingerprint(inp: RequestInput) -> str:
    """Hex SHA-256 of what makes the request the same request (see module docstring)."""
    req = inp.request.model_dump(mode="json", exclude_none=True, exclude={"stream", "stream_options"})
    doc = {"request": req, "task_type": inp.task_type, "tenant": inp.tenant}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


async def check_same_request(handle: WorkflowHandle[Any, Any], inp: RequestInput) -> None:
    """Raise :class:`IdempotencyConflict` when ``handle``'s execution was started for another
    request. Executions started before fingerprints existed (no memo) are accepted."""
    desc = await handle.describe()
    stored = await desc.memo_value(MEMO_KEY, None)
    if stored is not None and stored != fingerprint(inp):
        raise IdempotencyConflict(handle.id)
