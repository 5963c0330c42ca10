"""``switchyard submit``: one request through the running stack, answer and trace printed."""

from __future__ import annotations

from rich.console import Console

from activities.storage.engine import make_engine
from activities.storage.payloads import PayloadStore
from core.chat import ChatMessage, ChatRequest
from core.request import RequestInput, RequestResult
from worker.client import connect
from worker.config_loader import ConfigHolder
from worker.render import print_result, trace_table
from worker.runtime import open_streams
from worker.settings import Settings
from worker.submit import RequestFailed, SwitchyardClient


def build_input(prompt: str, *, task_type: str | None, system: str | None, tenant: str, origin: str | None,
                idempotency_key: str | None, max_tokens: int | None) -> RequestInput:
    """The :class:`RequestInput` for a one-message request from the command line."""
    messages = ([ChatMessage(role="system", content=system)] if system else []) + [
        ChatMessage(role="user", content=prompt)]
    return RequestInput(request=ChatRequest(messages=messages, max_tokens=max_tokens), task_type=task_type,
                        tenant=tenant, origin_region=origin, idempotency_key=idempotency_key)


async def submit_one(settings: Settings, console: Console, prompt: str, *, task_type: str | None,
                     system: str | None, tenant: str, origin: str | None, idempotency_key: str | None,
                     max_tokens: int | None, as_json: bool, stream: bool = False) -> int:
    """Submit and print; returns the exit code (0 answered, 1 failed). ``stream``: print the
    answer's text as it is generated (``SwitchyardClient.stream``), then the trace."""
    inp = build_input(prompt, task_type=task_type, system=system, tenant=tenant, origin=origin,
                      idempotency_key=idempotency_key, max_tokens=max_tokens)
    engine = make_engine(settings.db_url())
    publisher = reader = None
    try:
        if stream:
            publisher, reader = open_streams(ConfigHolder(settings.config_path()), engine)
        sy = SwitchyardClient(await connect(settings), settings.task_queue, PayloadStore(engine), reader)
        result = await (_print_stream(sy, inp, console) if stream else sy.submit(inp, eager=False))
    except RequestFailed as e:
        if as_json:
            console.print_json(e.failure.model_dump_json())
        else:
            console.print(f"[red]{e.failure.error_class}[/] ({e.failure.status}) in {e.workflow_id}: "
                          f"{e.failure.message}")
            if e.failure.trace.attempts:
                console.print(trace_table(e.failure.trace))
        return 1
    finally:
        if reader is not None and reader.feed is not None:
            await reader.feed.aclose()
        if publisher is not None and publisher.shared is not None:
            await publisher.shared.aclose()
        await engine.dispose()
    if as_json:
        console.print_json(result.model_dump_json())
    else:
        console.print(f"workflow {result.workflow_id}")
        print_result(console, result, show_answer=not stream)
    return 0


async def _print_stream(sy: SwitchyardClient, inp: RequestInput, console: Console) -> RequestResult:
    """Print the text as it arrives; the final result (``RequestFailed`` after a partial answer)."""
    result = None
    try:
        async for upd in sy.stream(inp, eager=False):
            if upd.text:
                console.out(upd.text, end="", highlight=False)
            result = upd.result or result
    finally:
        console.out("")
    assert result is not None
    return result
