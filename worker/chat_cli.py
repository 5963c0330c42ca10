"""``switchyard chat``: an interactive terminal conversation on ``ConversationWorkflow``.

Each line you type is one turn (``ConversationClient.send``); the reply is printed under the
target that answered it, with the failovers, latency and cost of the turn, and a highlighted line
whenever the conversation's pin moves (and why). Commands: ``/view`` (pin and pin history),
``/transcript`` (the whole stored transcript), ``/close [reason]`` (end it for good), ``/quit``
(leave; the conversation stays open until its idle timeout and ``--id`` resumes it), ``/help``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from rich.console import Console
from rich.prompt import Prompt
from rich.table import Table

from activities.storage.conversations import ConversationStore
from activities.storage.engine import make_engine
from activities.storage.payloads import PayloadStore
from core.chat import ChatMessage, ChatRequest
from core.conversation import ConversationConfig, ConversationView, TurnResult
from core.ids import uuid7
from worker.client import connect
from worker.config_loader import ConfigHolder
from worker.conversations import ConversationClient, TurnFailed, stream_turn
from worker.runtime import open_streams
from worker.settings import Settings
from worker.stream_reader import StreamReader

HELP = ("/view: pin and pin history   /transcript: whole transcript   /close [reason]: end the conversation   "
        "/quit: leave it open   /help")

Ask = Callable[[], Awaitable[str]]


def print_turn(console: Console, turn: TurnResult, *, streamed: bool = False) -> None:
    """The reply (unless it was streamed already) under the target that answered, the turn's
    routing summary and any pin move."""
    t = turn.trace
    rescued = f", {t.rescues} rescue(s)" if t.rescues else ""
    console.print(f"[bold green]{turn.pinned_target}[/] [dim](turn {turn.turn}, {t.failovers} failover(s){rescued}, "
                  f"{t.latency_ms:.0f} ms, ${t.cost_usd:.6f})[/]")
    if not streamed:
        console.print(turn.text() or f"(answer stored as {turn.response_ref})", markup=False, highlight=False)
    move = turn.pin_move
    if move and move.kind != "initial":
        console.print(f"[yellow]pin moved {move.from_target} -> {move.to_target} ({move.kind}): {move.reason}[/]")
    for a in t.attempts:
        if a.error_class:
            console.print(f"[dim]  {a.target}: {a.error_class} {a.status or ''} {a.message[:80]}[/]")


def print_view(console: Console, view: ConversationView) -> None:
    """Status, pin, preferred target and the pin history as a table."""
    console.print(f"{view.workflow_id}: {view.status}, {view.turns} turn(s), pinned to "
                  f"[bold]{view.pinned_target or '-'}[/] (preferred {view.preferred_target or '-'}), run {view.run_no}")
    table = Table(title="pin history")
    for col in ("turn", "kind", "from", "to", "reason"):
        table.add_column(col)
    for m in view.pin_history:
        table.add_row(str(m.turn), m.kind, m.from_target or "-", m.to_target, m.reason[:100])
    console.print(table)


async def chat_session(conv: ConversationClient, console: Console, ask: Ask, conversation_id: str, *,
                       system: str | None = None, max_tokens: int | None = None,
                       reader: StreamReader | None = None) -> int:
    """Run the read-send-print loop until ``/quit``, ``/close`` or end of input; returns the exit code.
    ``system`` is sent with the first turn of a conversation that has none yet. With a ``reader``
    each reply is printed as it is generated (``worker.conversations.stream_turn``)."""
    view = await conv.view(conversation_id)
    console.print(f"conversation [bold]{conversation_id}[/] ({conv.workflow_id(conversation_id)}); {HELP}")
    if view is not None:
        print_view(console, view)
    needs_system = bool(system) and (view is None or view.turns == 0)
    while True:
        try:
            line = (await ask()).strip()
        except (EOFError, KeyboardInterrupt):
            return 0
        if not line:
            continue
        if line.startswith("/"):
            done = await _command(conv, console, conversation_id, line)
            if done:
                return 0
            continue
        messages = ([ChatMessage(role="system", content=system)] if needs_system else []) + [
            ChatMessage(role="user", content=line)]
        try:
            turn = await _send(conv, console, conversation_id, ChatRequest(messages=messages, max_tokens=max_tokens),
                               reader)
        except TurnFailed as e:
            console.print(f"[red]{e.failure.error_class}[/] ({e.failure.status}): {e.failure.message}")
            continue
        needs_system = False
        print_turn(console, turn, streamed=reader is not None)


async def _send(conv: ConversationClient, console: Console, conversation_id: str, req: ChatRequest,
                reader: StreamReader | None) -> TurnResult:
    if reader is None:
        return await conv.send(conversation_id, req)
    try:
        return await stream_turn(conv, reader, conversation_id, req,
                                 lambda text: console.out(text, end="", highlight=False))
    finally:
        console.out("")


async def _command(conv: ConversationClient, console: Console, conversation_id: str, line: str) -> bool:
    """Run one slash command; True when the session should end."""
    name, _, arg = line.partition(" ")
    if name in ("/quit", "/exit"):
        return True
    if name == "/close":
        view = await conv.close(conversation_id, reason=arg.strip() or "closed from switchyard chat")
        print_view(console, view)
        return True
    if name == "/view":
        view = await conv.view(conversation_id)
        if view is None:
            console.print("(no conversation yet)")
        else:
            print_view(console, view)
    elif name == "/transcript":
        for e in await conv.transcript(conversation_id):
            who = e.target or e.role
            console.print(f"[dim]{e.turn}.{e.idx}[/] [bold]{who}[/]: ", end="")
            console.print(e.message.text() if e.message else "", markup=False, highlight=False)
    else:
        console.print(HELP)
    return False


async def run_chat(settings: Settings, console: Console, *, conversation_id: str | None, task_type: str | None,
                   tenant: str, return_after_s: float | None, idle_timeout_s: float, system: str | None,
                   max_tokens: int | None) -> int:
    """``switchyard chat``: connect, then :func:`chat_session` reading lines from the terminal.
    The conversation settings apply when this session starts the conversation."""
    config = ConversationConfig(task_type=task_type, tenant=tenant, return_after_s=return_after_s,
                                idle_timeout_s=idle_timeout_s)
    engine = make_engine(settings.db_url())
    publisher, reader = open_streams(ConfigHolder(settings.config_path()), engine)
    try:
        conv = ConversationClient(await connect(settings), settings.task_queue, payloads=PayloadStore(engine),
                                  store=ConversationStore(engine), defaults=config)

        async def ask() -> str:
            return await asyncio.to_thread(Prompt.ask, "[bold cyan]you[/]", console=console)
        return await chat_session(conv, console, ask, conversation_id or f"chat-{uuid7().hex[:12]}",
                                  system=system, max_tokens=max_tokens, reader=reader)
    finally:
        if reader.feed is not None:
            await reader.feed.aclose()
        if publisher.shared is not None:
            await publisher.shared.aclose()
        await engine.dispose()
