"""A step's ``task_quality`` overrides the scenario's task profile from then on (live or scripted)."""

from __future__ import annotations

import httpx
import yaml

from simulator.server import run_simulator

A = "openai/gpt-4o@us-east"
SCENARIO = {
    "name": "task-quality", "seed": 3, "baseline": {"latency_ms": 5, "ttft_ms": 2},
    "targets": {A: {}, "gemini/gemini-2.0-flash@us-central": {}},
    "task_profiles": {"summary": {A: {"quality": 0.95}}, "extract": {A: {"quality": 0.9}}},
    "timeline": [{"at": "1h", "target": A, "set": {"task_quality": {"extract": 0.2}}}],
}


async def test_live_and_scripted_task_quality_steps(tmp_path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    async with run_simulator(str(path), port=0) as sim:
        assert sim.world.quality("summary", A) == 0.95 and sim.world.quality("other", A) is None
        async with httpx.AsyncClient() as c:
            step = {"target": A, "set": {"task_quality": {"summary": 0.5}}}
            r = await c.post(f"{sim.base_url}/_sim/apply", json=step)
            assert r.status_code == 200
            assert r.json()["state"]["targets"][A]["task_quality"] == {"summary": 0.5}
            bad = await c.post(f"{sim.base_url}/_sim/apply", json={"target": A, "set": {"task_quality": {"x": 2}}})
            assert bad.status_code == 422 and "task_quality" in bad.json()["error"]
        assert sim.world.quality("summary", A) == 0.5
        assert sim.world.quality("extract", A) == 0.9          # untouched task keeps its profile
        sim.world.reset(at=3600.0)                              # the scripted step at 1h
        assert sim.world.quality("extract", A) == 0.2 and sim.world.quality("summary", A) == 0.95
