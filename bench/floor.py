"""The bare floor for ``bench/overhead.py``: a workflow that runs one local activity returning a string.

Defined in its own module (not ``__main__``) so the workflow sandbox can re-import it.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench.echo")
async def echo(text: str) -> str:
    """Return ``text``: no I/O, so the workflow's latency is Temporal's own."""
    return text


@workflow.defn(name="BenchFloorWorkflow")
class FloorWorkflow:
    """One local activity, nothing else (the measured floor in ``shared/TEMPORAL.md`` section 0),
    in the default workflow sandbox."""

    @workflow.run
    async def run(self, text: str) -> str:
        return await workflow.execute_local_activity("bench.echo", text,
                                                     start_to_close_timeout=timedelta(seconds=5))


@workflow.defn(name="BenchFloorUnsandboxedWorkflow", sandboxed=False)
class UnsandboxedFloorWorkflow:
    """The same floor outside the sandbox, like ``AIRequestWorkflow`` (like-for-like comparison)."""

    @workflow.run
    async def run(self, text: str) -> str:
        return await workflow.execute_local_activity("bench.echo", text,
                                                     start_to_close_timeout=timedelta(seconds=5))
