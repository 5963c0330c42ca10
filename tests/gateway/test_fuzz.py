"""Fuzzing: malformed requests never get a 5xx, never reach a workflow, and the server stays up.

1. schemathesis generates requests from the gateway's own OpenAPI document (``/openapi.json``), in
   *negative* mode (bodies, headers and paths that violate the schema) and a smaller *positive*
   batch (valid but odd requests, which do run as workflows against the simulator), sent over
   loopback to uvicorn; ``derandomize`` keeps the run reproducible.
2. hypothesis generates raw bodies (arbitrary bytes, arbitrary JSON values, objects with wrong
   field types) sent in process; none may start a workflow.
After both, ``/healthz`` answers and a normal request still succeeds.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from core.chat import ChatRequest
from tests.gateway.conftest import GatewayUnderTest, chat
from worker.gateway.openapi import openapi_schema
from worker.gateway.server import serve_app

SETTINGS = {"deadline": None, "derandomize": True, "database": None, "phases": [Phase.generate],
            "suppress_health_check": list(HealthCheck)}
#: (path, method, generation mode, examples)
PLAN = [("/v1/chat/completions", "POST", schemathesis.GenerationMode.NEGATIVE, 100),
        ("/v1/chat/completions", "POST", schemathesis.GenerationMode.POSITIVE, 20),
        ("/v1/models", "GET", schemathesis.GenerationMode.NEGATIVE, 20),
        ("/v1/models/{model}", "GET", schemathesis.GenerationMode.NEGATIVE, 20)]


def run_schemathesis(base_url: str) -> tuple[int, list[str]]:
    """Send every generated case; returns (cases sent, descriptions of 5xx answers)."""
    schema = schemathesis.openapi.from_dict(openapi_schema())
    sent: list[int] = []
    failures: list[str] = []
    with requests.Session() as session:
        for path, method, mode, n in PLAN:
            _fuzz(schema[path][method].as_strategy(generation_mode=mode), n, base_url, session, sent, failures)
    return len(sent), failures


def _fuzz(strategy: Any, n: int, base_url: str, session: requests.Session, sent: list[int],
          failures: list[str]) -> None:
    @settings(max_examples=n, **SETTINGS)
    @given(strategy)
    def send(case: schemathesis.Case) -> None:
        resp = case.call(base_url=base_url, session=session, timeout=60)
        sent.append(resp.status_code)
        if resp.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path} -> {resp.status_code}: {resp.text[:300]} "
                            f"(body {str(case.body)[:200]!r}, headers {case.headers})")
    send()


async def test_schemathesis_cases_never_get_a_5xx_and_the_server_stays_up(gw_open: GatewayUnderTest) -> None:
    async with serve_app(gw_open.app, port=0) as url:
        sent, failures = await asyncio.to_thread(run_schemathesis, url)
    assert sent >= 100
    assert failures == []
    assert (await gw_open.http.get("/healthz")).status_code == 200
    assert (await gw_open.http.post("/v1/chat/completions", json=chat())).status_code == 200


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
                     lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                     max_leaves=12)
_wrong_fields = st.fixed_dictionaries({}, optional={
    "model": _json, "messages": _json, "temperature": _json, "max_tokens": _json, "stream": _json,
    "stream_options": _json, "metadata": _json, "tools": _json, "n": _json})


def collect_bodies() -> list[bytes]:
    """Raw bodies from hypothesis: bytes, JSON values, and objects whose known fields have any type."""
    bodies: list[bytes] = []

    @settings(max_examples=150, **SETTINGS)
    @given(st.one_of(st.binary(max_size=200), _json.map(lambda v: json.dumps(v).encode()),
                     _wrong_fields.map(lambda v: json.dumps(v).encode())))
    def collect(body: bytes) -> None:
        bodies.append(body)
    collect()
    return bodies


def _valid(body: bytes) -> bool:
    """True for the rare generated body that is a well-formed request (it may run)."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return False
    try:
        ChatRequest.model_validate_json(body, strict=True)
    except ValueError:
        return False
    return isinstance(data, dict)


async def test_hypothesis_raw_bodies_are_4xx_and_start_no_workflow(gw_open: GatewayUnderTest) -> None:
    bodies = collect_bodies()
    invalid = [b for b in bodies if not _valid(b)]
    assert len(invalid) >= 100
    for body in invalid:
        r = await gw_open.http.post("/v1/chat/completions", content=body, headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
        assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert gw_open.started == []
    assert (await gw_open.http.post("/v1/chat/completions", json=chat())).status_code == 200
