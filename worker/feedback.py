"""User feedback on an answer: thumbs up or down, attached to the request by workflow id.

    record = await submit_feedback(client, store, "req-default-8f3c...", positive=False,
                                   comment="wrong order number")

The workflow must exist in Temporal and have answered (its ``ok`` outcome row is what the vote
judges); the vote is stored in ``feedback`` next to that outcome (``activities/storage/health.py``),
counted in the answering target's health (a warn-only signal, RESILIENCE.md R3.6) and read by the
learning layer. A later vote on the same request replaces the earlier one.
"""

from __future__ import annotations

import time

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from activities.storage.health import FeedbackRecord, HealthStore, UnknownRequest


async def submit_feedback(client: Client, store: HealthStore, workflow_id: str, positive: bool, comment: str = "",
                          *, tenant: str | None = None) -> FeedbackRecord:
    """Verify the request with Temporal, then store the vote. Raises :class:`UnknownRequest` when the
    workflow does not exist or has not answered (or, with ``tenant``, belongs to another tenant)."""
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as e:
        if e.status is RPCStatusCode.NOT_FOUND:
            raise UnknownRequest(f"no request workflow {workflow_id!r}") from None
        raise
    return await store.record_feedback(workflow_id, positive, comment, time.time(), tenant=tenant)
