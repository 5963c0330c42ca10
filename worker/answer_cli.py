"""``switchyard answer WORKFLOW_ID``: audit one answered request: which prompt each target got, and
the answer raw and normalised.

Reads the request workflow's result from Temporal (its routing trace) and, when the route's
output normalisation changed the answer, the raw answer from the payload store in ``DATABASE_URL``
(``trace.normalization.raw_ref``, ``activities/normalizing.py``). Prints one line per attempt
(target, error class, prompt variant, rewrite id), each normalisation step, the JSON repair call if
one was made, then the raw and the delivered text. ``--json`` prints the trace as JSON instead.
"""

from __future__ import annotations

from rich.console import Console
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError

from activities.storage.engine import make_engine
from activities.storage.payloads import PayloadNotFound, PayloadStore
from core.chat import ChatResponse
from core.quality_trace import Normalization
from core.request import RequestResult
from worker.client import connect
from worker.settings import Settings


async def _raw_text(settings: Settings, ref: str) -> str | None:
    """The text of a stored ``chat.completion`` payload (a raw answer, or a large delivered one)."""
    engine = make_engine(settings.db_url())
    try:
        return ChatResponse.model_validate_json(await PayloadStore(engine).get(ref)).text()
    except PayloadNotFound:
        return None
    finally:
        await engine.dispose()


def _print_normalization(console: Console, norm: Normalization | None) -> None:
    if norm is None:
        console.print("normalisation: not configured on this route")
        return
    if norm.skipped:
        console.print(f"normalisation: skipped ({norm.skipped})", highlight=False)
    for c in norm.changes:
        console.print(f"  {c.step}: {c.detail} ({c.chars_before} -> {c.chars_after} chars)", highlight=False)
    if norm.repair is not None:
        r = norm.repair
        console.print(f"  repair on {r.target}: {'ok' if r.ok else 'still invalid'} in {r.latency_ms:.0f} ms, "
                      f"${r.cost_usd:.6f}; errors before: {'; '.join(r.errors)[:300]}"
                      + (f"; after: {'; '.join(r.errors_after)[:300]}" if r.errors_after else ""), highlight=False)


async def show_answer(settings: Settings, console: Console, workflow_id: str, as_json: bool = False) -> int:
    """Print the audit of one request (see module docstring); returns the exit code (1: the
    workflow is unknown or did not answer)."""
    client = await connect(settings)
    try:
        result = await client.get_workflow_handle(workflow_id, result_type=RequestResult).result()
    except (WorkflowFailureError, RPCError) as e:
        console.print(f"[red]error:[/] {workflow_id}: no answer ({e})", highlight=False)
        return 1
    trace = result.trace
    if as_json:
        print(trace.model_dump_json(indent=2))
        return 0
    console.print(f"[bold]{workflow_id}[/] route {trace.route}, answered by {trace.target_used}", highlight=False)
    for a in trace.attempts:
        rewrite = f", rewrite {a.rewrite}" if a.rewrite else ""
        console.print(f"  attempt {a.seq}.{a.try_no} {a.target}: {a.error_class or 'ok'}, "
                      f"variant {a.variant or '-'}{rewrite}", highlight=False)
    _print_normalization(console, trace.normalization)
    norm = trace.normalization
    raw = await _raw_text(settings, norm.raw_ref) if norm is not None and norm.raw_ref else None
    if raw is not None:
        console.rule("raw")
        print(raw)
    delivered = result.response.text() if result.response is not None else (
        await _raw_text(settings, result.response_ref) if result.response_ref else None)
    if delivered is not None:
        console.rule("delivered")
        print(delivered)
    return 0
