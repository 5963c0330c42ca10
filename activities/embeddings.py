"""The embed activity: every input of one request embedded by one target, in its wire format.

- ``openai`` protocol: ``POST {base_url}/embeddings`` with ``{model, input: [...], dimensions?}``
  (OpenAI API reference, "Create embeddings"; also vLLM, Ollama, llama.cpp servers).
- ``gemini``: ``POST {base_url}/v1beta/models/{model}:batchEmbedContents`` with one ``{model, content:
  {parts: [{text}]}, outputDimensionality?}`` per input (Gemini API reference, "Embeddings").
- ``anthropic`` has no embeddings endpoint: such a target is a configuration error, reported as
  ``InvalidRequest`` so the walk moves on.

Errors are classified like chat calls (``core/classify.py``) and raised as ``ApplicationError``
with :class:`core.attempt.AttemptFailure` details, so ``workflows/chain.walk_plan`` fails over the
same way. One outcome row per call (prompt tokens, cost at the target's input price). The vectors
go to the payload table; the result carries the reference, the model and the dimensions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

import httpx
from temporalio import activity
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory

from activities.storage.outcomes import OutcomeRow, OutcomeStore
from activities.storage.payloads import PayloadStore
from core.attempt import AttemptFailure, AttemptResult
from core.chat import Usage
from core.classify import classify_http
from core.config import ConfigSource, ProviderConfig, TargetConfig
from core.embeddings import EmbedCall, EmbeddingPayload
from core.errors import POLICIES, ErrorClass
from core.names import EMBED_ACTIVITY
from core.tokens import estimate_text_tokens

PAYLOAD_KIND = "embeddings"


class EmbedFailed(Exception):
    """A failed call: its class, HTTP status and message."""

    def __init__(self, cls: ErrorClass, message: str, status: int | None = None,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.cls, self.status, self.message, self.retry_after_s = cls, status, message, retry_after_s


def request_for(target: TargetConfig, provider: ProviderConfig, key: str | None, inputs: list[str],
                dimensions: int | None) -> tuple[str, dict[str, str], dict[str, Any]]:
    """``(url, headers, body)`` of one embeddings call. Raises :class:`EmbedFailed` for a protocol
    without embeddings."""
    base = provider.base_url.replace("{region}", target.region).rstrip("/")
    headers = {"content-type": "application/json", **provider.headers}
    if provider.protocol == "openai":
        if key:
            headers["authorization"] = f"Bearer {key}"
        body: dict[str, Any] = {"model": target.model, "input": inputs, "encoding_format": "float"}
        if dimensions:
            body["dimensions"] = dimensions
        return f"{base}/embeddings", headers, body
    if provider.protocol == "gemini":
        if key:
            headers["x-goog-api-key"] = key
        extra = {"outputDimensionality": dimensions} if dimensions else {}
        reqs = [{"model": f"models/{target.model}", "content": {"parts": [{"text": t}]}, **extra} for t in inputs]
        return f"{base}/v1beta/models/{target.model}:batchEmbedContents", headers, {"requests": reqs}
    raise EmbedFailed(ErrorClass.INVALID_REQUEST, f"{target.id}: the {provider.protocol} protocol has no "
                                                  "embeddings endpoint")


def parse_vectors(protocol: str, data: Any, count: int) -> tuple[list[list[float]], int | None]:
    """``(vectors in input order, prompt tokens or None)``; raises :class:`EmbedFailed` for a body
    that is not what the protocol promises (wrong count, ragged dimensions)."""
    try:
        if protocol == "openai":
            rows = sorted(data["data"], key=lambda d: d["index"])
            vectors = [[float(x) for x in d["embedding"]] for d in rows]
            used = (data.get("usage") or {}).get("prompt_tokens")
        else:
            vectors = [[float(x) for x in e["values"]] for e in data["embeddings"]]
            used = None
    except (KeyError, TypeError, ValueError) as e:
        raise EmbedFailed(ErrorClass.MALFORMED_RESPONSE, f"unexpected embeddings body ({type(e).__name__})") from None
    if len(vectors) != count or len({len(v) for v in vectors}) != 1:
        raise EmbedFailed(ErrorClass.MALFORMED_RESPONSE, f"expected {count} vectors of one size, got "
                                                         f"{[len(v) for v in vectors][:5]}")
    return vectors, used


async def post_embeddings(http: httpx.AsyncClient, protocol: str, url: str, headers: dict[str, str],
                          body: dict[str, Any], count: int, timeout_s: float) -> tuple[list[list[float]], int | None]:
    """POST one embeddings call; ``(vectors, prompt tokens or None)`` as :func:`parse_vectors`.
    Raises :class:`EmbedFailed` classified like chat calls (timeout, connect, HTTP status)."""
    try:
        r = await http.post(url, headers=headers, json=body, timeout=timeout_s)
    except httpx.TimeoutException:
        raise EmbedFailed(ErrorClass.TIMEOUT, f"no answer within {timeout_s:g} s") from None
    except httpx.HTTPError as e:
        raise EmbedFailed(ErrorClass.CONNECT, f"{type(e).__name__}: {e}") from None
    try:
        data: Any = r.json()
    except ValueError:
        data = r.text[:500]
    if r.status_code >= 300:
        c = classify_http(protocol, r.status_code, r.headers, data, now=time.time())
        raise EmbedFailed(c.error_class, c.message, r.status_code, c.retry_after_s)
    return parse_vectors(protocol, data, count)


class EmbeddingActivities:
    """The embed activity with its collaborators (``env``: where provider keys are read)."""

    def __init__(self, configs: ConfigSource, http: httpx.AsyncClient, outcomes: OutcomeStore,
                 payloads: PayloadStore, *, env: Mapping[str, str] | None = None) -> None:
        self._configs, self._http, self._outcomes, self._payloads = configs, http, outcomes, payloads
        self._env = env if env is not None else os.environ

    @activity.defn(name=EMBED_ACTIVITY)
    async def embed(self, inp: EmbedCall) -> AttemptResult:
        """Embed ``inp.inputs`` on ``inp.target``; returns an ``AttemptResult`` whose ``response_ref``
        names the stored :class:`core.embeddings.EmbeddingPayload`. Raises ``ApplicationError``
        typed with the error class."""
        cfg, _ = self._configs.current()
        target = cfg.target(inp.target)
        provider = cfg.providers[target.provider]
        started = time.perf_counter()
        try_no = activity.info().attempt
        try:
            key = self._env.get(provider.api_key_env) if provider.api_key_env else None
            if provider.api_key_env and not key:
                raise EmbedFailed(ErrorClass.AUTH, f"environment variable {provider.api_key_env} is not set")
            url, headers, body = request_for(target, provider, key, inp.inputs, inp.dimensions)
            vectors, used = await post_embeddings(self._http, provider.protocol, url, headers, body,
                                                       len(inp.inputs), inp.timeout_s)
        except EmbedFailed as e:
            raise await self._failed(inp, target, try_no, started, e) from None
        latency = (time.perf_counter() - started) * 1000
        tokens = used if used is not None else sum(estimate_text_tokens(t) for t in inp.inputs)
        cost = tokens * target.price.input / 1e6
        payload = EmbeddingPayload(target=target.id, model=target.model, dimensions=len(vectors[0]),
                                   prompt_tokens=tokens, vectors=vectors)
        ref = await self._payloads.put(inp.workflow_id, PAYLOAD_KIND, payload.model_dump_json().encode())
        await self._outcomes.record(self._row(inp, target, try_no, "ok", latency, prompt_tokens=tokens,
                                              tokens_estimated=used is None, cost_usd=cost))
        return AttemptResult(target=target.id, response_ref=ref, latency_ms=latency, notes=[
                                 f"{len(vectors)} vectors of {payload.dimensions} dimensions by {target.model}"],
                             usage=Usage(prompt_tokens=tokens, total_tokens=tokens, estimated=used is None),
                             cost_usd=cost, try_no=try_no)

    async def _failed(self, inp: EmbedCall, target: TargetConfig, try_no: int, started: float,
                      e: EmbedFailed) -> ApplicationError:
        latency = (time.perf_counter() - started) * 1000
        pol = POLICIES[e.cls]
        await self._outcomes.record(self._row(inp, target, try_no, e.cls.value, latency, http_status=e.status,
                                              retry_after_s=e.retry_after_s, message=e.message[:500],
                                              counts_against_health=pol.counts_against_health))
        retry = pol.retry_same_target and (e.retry_after_s is None or e.retry_after_s <= 2.0)
        details = AttemptFailure(target=target.id, error_class=e.cls.value, status=e.status, message=e.message[:500],
                                 latency_ms=latency, retry_after_s=e.retry_after_s, try_no=try_no)
        return ApplicationError(f"{target.id}: {e.cls.value}" + (f" {e.status}" if e.status else "")
                                + f": {e.message[:200]}", details.model_dump(mode="json"), type=e.cls.value,
                                non_retryable=not retry, category=ApplicationErrorCategory.BENIGN)

    @staticmethod
    def _row(inp: EmbedCall, target: TargetConfig, try_no: int, status: str, latency: float,
             **fields: Any) -> OutcomeRow:
        return OutcomeRow(workflow_id=inp.workflow_id, run_id=inp.run_id, seq=inp.seq, try_no=try_no,
                          target=target.id, provider=target.provider, model=target.model, region=target.region,
                          task_type=inp.task_type, tenant=inp.tenant, status_class=status, latency_ms=latency,
                          created_at=time.time(), **fields)
