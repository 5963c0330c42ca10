"""The prompt an attempt sends: the route's variant for the target, or its stored rewrite.

:meth:`PromptStage.prepare` runs in the attempt activity before the provider call:

1. the route's variant for this target (``core/prompt_variants.py``);
2. with ``prompts.transform``: the stored rewrite of the variant's system template for the target's
   family (one indexed read). A usable one (pinned; or draft under ``use: draft``) is sent instead.
   When there is none yet, a rewrite is claimed and written **in the background** by the small
   model (``transform.by``) through the same provider adapters; this request goes on with the
   original text and never waits for it. Its cost (USD), latency (ms) and tokens are stored with it.

The background task outlives the activity (not the process: a rewrite left ``pending`` by a dead
process is taken over after ``core.prompt_transform.STALE_PENDING_S``). ``drain()`` waits for the
running ones (worker shutdown, tests).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from activities.providers.base import ProviderCall, ProviderError
from activities.providers.registry import adapter_for
from activities.storage.prompt_rewrites import RewriteStore
from core.chat import ChatRequest
from core.config import RouteConfig, SwitchyardConfig
from core.prompt_transform import family_of, needs_rewrite, rewrite_id, rewrite_request, source_hash, usable
from core.prompt_variants import PromptsConfig, apply_prompt, template_fields, variant_matches
from core.usage import cost_usd

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """The request to send, the variant name and the id of the rewrite sent (``None``: none)."""

    request: ChatRequest
    variant: str | None = None
    rewrite: str | None = None


class PromptStage:
    """Variants and stored rewrites for the attempt activity (collaborators injected).

    ``env``: where the small model's key is read; ``clock``: unix seconds."""

    def __init__(self, store: RewriteStore, http: httpx.AsyncClient, env: Mapping[str, str], *,
                 clock=time.time) -> None:
        self._store = store
        self._http = http
        self._env = env
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()

    async def prepare(self, cfg: SwitchyardConfig, route_name: str, request: ChatRequest, target_id: str) -> Prepared:
        """What to send to ``target_id`` on route ``route_name`` (see module docstring)."""
        route: RouteConfig | None = cfg.routes.get(route_name)
        prompts = route.prompts if route is not None else None
        shaped = apply_prompt(prompts, request, target_id)
        if prompts is None or prompts.transform is None or shaped.template is None \
                or not _transformed_for(prompts, target_id, cfg):
            return Prepared(shaped.request, shaped.variant)
        family, digest = family_of(target_id), source_hash(shaped.template)
        row = await self._store.get(route_name, family, digest)
        if row is not None and row.text and usable(row.status, prompts.transform.use):
            try:
                sent = apply_prompt(prompts, request, target_id, system_override=row.text)
            except (KeyError, ValueError, IndexError):  # an edited rewrite with a bad placeholder
                return Prepared(shaped.request, shaped.variant)
            return Prepared(sent.request, shaped.variant, row.id)
        now = self._clock()
        if row is not None and not needs_rewrite(row.status, now - row.updated_at):
            return Prepared(shaped.request, shaped.variant)  # written, being written, or rejected
        if await self._store.claim(route_name, family, digest, shaped.template, prompts.transform.by, now):
            task = asyncio.create_task(self._rewrite(cfg, prompts, rewrite_id(route_name, family, digest),
                                                     shaped.template, family))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return Prepared(shaped.request, shaped.variant)

    async def drain(self) -> None:
        """Wait for the rewrites being written."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _rewrite(self, cfg: SwitchyardConfig, prompts: PromptsConfig, rid: str, source: str,
                       family: str) -> None:
        """Write one rewrite with the small model and store it (``draft``) or why it failed."""
        assert prompts.transform is not None
        small = cfg.target(prompts.transform.by)
        provider = cfg.providers[small.provider]
        key = self._env.get(provider.api_key_env) if provider.api_key_env else None
        call = ProviderCall(small, provider, key, rewrite_request(source, family, prompts.transform.max_tokens),
                            small.timeout_s)
        started = time.perf_counter()
        fields = {"status": "failed", "text": None, "cost_usd": 0.0, "prompt_tokens": 0, "completion_tokens": 0}
        try:
            async with asyncio.timeout(small.timeout_s):
                res = await adapter_for(provider.protocol).complete(self._http, call)
            usage = res.response.usage
            text = res.response.text().strip()
            fields.update(cost_usd=cost_usd(usage, small.price), prompt_tokens=usage.prompt_tokens,
                          completion_tokens=usage.completion_tokens)
            error = _unusable(text, prompts)
            if not error:
                fields.update(status="draft", text=text)
        except ProviderError as e:
            error = f"{e.error_class.value}: {e.message}"
        except TimeoutError:
            error = f"no answer within {small.timeout_s:g} s"
        except Exception as e:  # noqa: BLE001 - a background task must record, never raise into the loop
            log.exception("prompt rewrite %s failed", rid)
            error = f"{type(e).__name__}: {e}"
        await self._store.finish(rid, latency_ms=(time.perf_counter() - started) * 1000.0, error=error,
                                 now=self._clock(), **fields)  # type: ignore[arg-type]


def _transformed_for(prompts: PromptsConfig, target_id: str, cfg: SwitchyardConfig) -> bool:
    """Whether the route rewrites prompts for this target: not for the small model itself, and
    only for targets ``transform.only`` names (empty: every target)."""
    assert prompts.transform is not None
    if target_id == prompts.transform.by:
        return False
    if not prompts.transform.only:
        return True
    t = cfg.target(target_id)
    return any(variant_matches(k, t.id, t.provider, t.model) is not None for k in prompts.transform.only)


def _unusable(text: str, prompts: PromptsConfig) -> str:
    """Why a rewrite cannot be stored as a draft ('' when it can): empty, or a placeholder that is
    malformed or names an undeclared variable."""
    if not text:
        return "the small model answered with no text"
    try:
        unknown = sorted(set(template_fields(text)) - set(prompts.variables))
    except ValueError as e:
        return f"rewrite has a malformed placeholder: {e}"
    return f"rewrite names undeclared variable(s): {', '.join(unknown)}" if unknown else ""
