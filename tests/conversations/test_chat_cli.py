"""``switchyard chat``'s session loop with scripted input: who answered each turn, pin moves, commands."""

from __future__ import annotations

from rich.console import Console

from tests.configs import sim_config
from tests.conversations.conftest import conversation_worker, new_id
from tests.conversations.test_failover import CLAUDE, _down
from tests.integration.test_request_path import PRIMARY, SECOND
from worker.chat_cli import chat_session


async def test_chat_session_shows_the_answering_target_and_pin_moves(temporal_env, db_url, sim) -> None:
    cid = new_id()
    lines = iter(["Where is my refill order NW-48213?", "/view", "FAIL", "It was due on Monday.", "/transcript",
                  "/close resolved"])
    console = Console(record=True, width=200)

    async def ask() -> str:
        line = next(lines)
        if line == "FAIL":
            await _down(sim, PRIMARY, SECOND)
            line = next(lines)
        return line

    async with conversation_worker(temporal_env.client, sim_config(sim.base_url), db_url) as w:
        code = await chat_session(w.conv, console, ask, cid, system="You are a pharmacy support agent.")
        view = await w.conv.view(cid)
        stored = await w.conv.transcript(cid)
    out = console.export_text()
    assert code == 0
    assert f"{PRIMARY} (turn 1" in out and f"{CLAUDE} (turn 2" in out
    assert f"pin moved {PRIMARY} -> {CLAUDE} (failover)" in out and "Overloaded" in out
    assert "pin history" in out and "closed, 2 turn(s)" in out
    assert view.status == "closed"
    assert [e.role for e in stored] == ["system", "user", "assistant", "user", "assistant"]
