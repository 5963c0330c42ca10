"""BatchWorkflow on the real dev server and database, with the simulator over loopback.

An in-process batch worker on its own queue; the crash test (worker killed with SIGKILL) lives in
``test_batch_crash.py``.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.api.sdk.v1 import WorkflowMetadata

from core.batch import item_workflow_id
from tests.batch.helpers import (
    DOOMED,
    PRIMARY,
    batch_worker,
    config,
    item_rows,
    outcome_rows,
    result_rows,
    sim_apply,
    sim_calls,
    sim_reset,
    write_batch,
)


async def test_batch_records_every_item_fails_some_and_retry_reruns_only_those(
        temporal_env, db_url, engine, sim, tmp_path) -> None:
    doomed = {4, 11, 12, 25}
    for t in DOOMED:
        await sim_apply(sim.base_url, t, error_rate=1.0, errors=[{"status": 500, "share": 1.0}])
    path = write_batch(tmp_path / "docs.jsonl", 30, doomed)
    out = tmp_path / "out"
    async with batch_worker(temporal_env.client, config(sim.base_url), db_url) as rig:
        info, created = await rig.client.load(path, job="wf-retry")
        assert created and info.total == 30
        await rig.client.start(info.batch_id, concurrency=5, items_per_run=7, export_dir=out)
        summary = await rig.client.wait(info.batch_id)
        progress = await rig.client.progress(info.batch_id)

        assert (summary.total, summary.done, summary.failed, summary.ran) == (30, 26, 4, 30)
        assert summary.runs >= 5  # 30 items, 7 per run: continue-as-new at least 4 times
        assert progress.state == "completed" and (progress.done, progress.failed, progress.in_flight) == (26, 4, 0)
        rows = await result_rows(engine, info.batch_id)
        assert [r.n for r in rows] == list(range(1, 31))
        failed = [r for r in rows if r.status == "failed"]
        assert {r.n for r in failed} == doomed
        for r in failed:
            attempts = json.loads(r.attempts)
            assert r.error_class == "AllTargetsFailed"
            assert [(a["target"], a["status"]) for a in attempts] == [(t, 500) for t in DOOMED for _ in (1, 2)]
        ok = [r for r in rows if r.status == "done"]
        assert all(r.target == PRIMARY and r.text and r.cost_usd > 0 for r in ok)
        assert summary.cost_usd == sum(r.cost_usd for r in ok)
        lines = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
        assert [x["n"] for x in lines] == list(range(1, 31)) and lines[0]["id"] == "cust-1"
        assert (out / "docs" / "doc-00001.md").read_text() == ok[0].text
        assert not (out / "docs" / "doc-00004.md").exists()

        await sim_reset(sim.base_url)
        before = await sim_calls(sim.base_url)
        await rig.client.retry_failed(info.batch_id, concurrency=3, export_dir=out)
        again = await rig.client.wait(info.batch_id)
        after = await sim_calls(sim.base_url)

    assert (again.done, again.failed, again.ran) == (30, 0, 4)
    assert after[DOOMED[0]] - before[DOOMED[0]] == 4 and after[PRIMARY] == before[PRIMARY]
    items = await item_rows(engine, info.batch_id)
    assert all(i.status == "done" for i in items)
    assert {i.n: i.workflow_id for i in items if i.round == 1} == {
        n: item_workflow_id(info.batch_id, n, 1) for n in doomed}
    rows = await result_rows(engine, info.batch_id)
    assert len(rows) == 34  # round 0 for all 30, round 1 for the 4 retried
    assert (out / "docs" / "doc-00004.md").exists()
    outs = await outcome_rows(engine, f"batch-{info.batch_id}/")
    by_wf: dict[str, int] = {}
    for o in outs:
        by_wf[o.workflow_id] = by_wf.get(o.workflow_id, 0) + 1
    assert by_wf[item_workflow_id(info.batch_id, 4)] == 4 and by_wf[item_workflow_id(info.batch_id, 4, 1)] == 1
    assert sum(by_wf.values()) == 26 + 4 * 4 + 4


async def test_progress_query_counts_match_the_database_while_running(
        temporal_env, db_url, engine, sim, tmp_path) -> None:
    await sim_apply(sim.base_url, PRIMARY, latency_ms={"median": 250, "p99": 300})
    path = write_batch(tmp_path / "docs.jsonl", 24)
    samples = []
    async with batch_worker(temporal_env.client, config(sim.base_url), db_url) as rig:
        info, _ = await rig.client.load(path, job="wf-progress")
        handle = await rig.client.start(info.batch_id, concurrency=4, items_per_run=10)
        result = asyncio.create_task(handle.result())
        while not result.done():
            await asyncio.sleep(0.1)
            p = await rig.client.progress(info.batch_id)
            db = await rig.client.store.counts(info.batch_id)
            if p.state == "starting":
                assert (p.total, p.started, p.in_flight) == (0, 0, 0)
                continue
            samples.append(p)
            assert (p.total, p.to_run, p.mode) == (24, 24, "pending")
            assert p.started == p.finished + p.in_flight and p.in_flight <= 4
            assert p.finished == p.done + p.failed and p.failed == 0
            assert p.done <= db.done  # the row is written before the workflow counts it
            assert p.cost_usd <= db.cost_usd + 1e-12
        summary = await result
        meta = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        final = await rig.client.progress(info.batch_id)
    assert any(0 < s.finished < 24 and s.in_flight == 4 for s in samples)
    assert any(s.state == "draining" for s in samples)
    assert [s.finished for s in samples] == sorted(s.finished for s in samples)
    assert (final.state, final.finished, final.done, final.in_flight) == ("completed", 24, 24, 0)
    assert final.cost_usd == pytest.approx(summary.cost_usd) and summary.runs == 3
    assert meta.current_details.startswith("**completed**: 24/24 finished")


async def test_a_cpu_targeted_batch_worker_still_finishes_every_item(temporal_env, db_url, engine, sim,
                                                                      tmp_path) -> None:
    # SWITCHYARD_BATCH_TARGET_CPU (what `up` sets): Temporal's resource-based slot supplier with at
    # least one slot of each kind, so a batch slows down on a busy machine but never stalls.
    path = write_batch(tmp_path / "docs.jsonl", 12)
    async with batch_worker(temporal_env.client, config(sim.base_url), db_url, target_cpu=0.05) as rig:
        info, _ = await rig.client.load(path, job="cpu-target")
        await rig.client.start(info.batch_id, concurrency=4)
        summary = await asyncio.wait_for(rig.client.wait(info.batch_id), 120)
    assert (summary.done, summary.failed) == (12, 0)
    assert [r.n for r in await result_rows(engine, info.batch_id) if r.status == "done"] == list(range(1, 13))
