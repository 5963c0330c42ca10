"""Run an embeddings request as an ``EmbeddingWorkflow`` and load its vectors.

:func:`embed` starts the workflow (eagerly, from a process that hosts a worker: the gateway) and
returns ``(RequestResult, EmbeddingPayload)``; raises :class:`worker.submit.RequestFailed` when the
walk ended without vectors, like a chat request.
"""

from __future__ import annotations

import uuid

from temporalio.client import Client, WorkflowFailureError
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError

from activities.storage.payloads import PayloadStore
from core import search_attributes as sa
from core.embeddings import EmbeddingInput, EmbeddingPayload
from core.names import EMBEDDING_WORKFLOW
from core.request import RequestFailure, RequestResult
from worker.submit import TASK_TIMEOUT, RequestFailed


async def embed(client: Client, task_queue: str, payloads: PayloadStore,
                inp: EmbeddingInput) -> tuple[RequestResult, EmbeddingPayload]:
    """See module docstring."""
    attrs = TypedSearchAttributes([SearchAttributePair(sa.TASK_TYPE, inp.task_type or "default"),
                                   SearchAttributePair(sa.TENANT, inp.tenant)])
    handle = await client.start_workflow(
        EMBEDDING_WORKFLOW, inp, id=f"emb-{uuid.uuid4().hex}", task_queue=task_queue, result_type=RequestResult,
        task_timeout=TASK_TIMEOUT, search_attributes=attrs, request_eager_start=True,
        static_summary=f"{inp.task_type or 'default'} embeddings ({len(inp.inputs)} inputs) for tenant {inp.tenant}")
    try:
        result = await handle.result()
    except WorkflowFailureError as e:
        if isinstance(e.cause, ApplicationError) and e.cause.details:
            raise RequestFailed(handle.id, RequestFailure.model_validate(e.cause.details[0])) from None
        raise
    assert result.response_ref is not None
    return result, EmbeddingPayload.model_validate_json(await payloads.get(result.response_ref))
