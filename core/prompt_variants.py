"""Prompt variants per target or model family: a route's system prompt and few-shot examples.

Config shape (a route's ``prompts:`` block; ``docs/QUALITY.md``)::

    prompts:
      system: "You answer {company}'s customers. Be brief."     # default for every target (variant "default")
      few_shot: [{user: "...", assistant: "..."}]
      variables: {company: "Acme"}                             # defaults; request metadata overrides
      placement: prefix | replace                              # the caller's own system message(s)
      variants:                                                # key: which targets it is for
        anthropic/claude-3-5-sonnet@us-east: {system: "..."}   #   an exact target id
        "claude-*": {system_file: prompts/claude.txt}          #   a model-name glob
        gemini: {system: "...", few_shot: [...]}               #   a provider name
      transform: {by: openai/local-llama-3.1-8b@local}         # optional, core/prompt_transform.py

A variant is chosen per attempt for the target being called (:func:`select_variant`): exact target
id first, then ``provider/model``, then the first model-name glob that matches (config order), then
the provider name; none -> the route's own ``system``/``few_shot`` (variant ``"default"``), and a
route without any of these leaves the request unchanged (variant ``None``). A variant's missing
``system`` or ``few_shot`` falls back to the route's.

Placement (:func:`apply_prompt`): ``prefix`` (default) puts the route's system text first as its own
system message and keeps the caller's system messages after it; ``replace`` drops the caller's
system/developer messages. Few-shot examples go in as user/assistant turns right after the system
messages, before the conversation. Templates use ``{name}`` (``{{``/``}}`` for literal braces);
every name must be declared in ``variables`` (:func:`template_problems`, run at config load; the
error names the field, e.g. ``routes.support_reply.prompts.variants.anthropic.system``). Values:
the declared default, overridden by the request's ``metadata[name]``.

``system_file`` is read by the config loader (``worker/prompt_files.py``), relative to the config
file, into ``system``; core stays pure (no I/O).
"""

from __future__ import annotations

import fnmatch
import string
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.chat import ChatMessage, ChatRequest
from core.prompt_transform import TransformConfig

if TYPE_CHECKING:
    from core.config import SwitchyardConfig

DEFAULT_VARIANT = "default"
_FORMATTER = string.Formatter()


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FewShot(_Strict):
    """One example exchange: the user's message and the answer the model should give."""

    user: str
    assistant: str


class PromptVariant(_Strict):
    """The prompt for some targets: ``system`` text (or ``system_file``, read at load into
    ``system``) and ``few_shot`` examples; ``None`` fields fall back to the route's."""

    system: str | None = None
    system_file: str | None = None
    few_shot: list[FewShot] | None = None


class PromptsConfig(_Strict):
    """A route's prompt policy (see module docstring)."""

    system: str | None = None
    system_file: str | None = None
    few_shot: list[FewShot] = Field(default_factory=list)
    variables: dict[str, str] = Field(default_factory=dict)
    placement: Literal["prefix", "replace"] = "prefix"
    variants: dict[str, PromptVariant] = Field(default_factory=dict)
    transform: TransformConfig | None = None


class Prompted(BaseModel):
    """What :func:`apply_prompt` did: the request to send, the variant name (``None``: the route
    has no prompts) and the variant's system *template* before rendering and before any rewrite
    (``None`` when the route sets no system text): the source a transformation rewrites."""

    model_config = ConfigDict(frozen=True)

    request: ChatRequest
    variant: str | None = None
    template: str | None = None


def template_fields(text: str) -> list[str]:
    """The ``{name}`` fields of a template, in order; raises ``ValueError`` for a malformed one
    (an unmatched brace, a positional ``{}``, attribute or index access)."""
    names: list[str] = []
    for _, field, _, _ in _FORMATTER.parse(text):
        if field is None:
            continue
        if not field.isidentifier():
            raise ValueError(f"template field {{{field}}} is not a plain name (use {{{{ and }}}} for braces)")
        names.append(field)
    return names


def _templates(p: PromptsConfig) -> Iterator[tuple[str, str]]:
    """``(field path below prompts, text)`` of every template of a route."""
    if p.system is not None:
        yield "system", p.system
    for i, ex in enumerate(p.few_shot):
        yield f"few_shot[{i}].user", ex.user
    for key, v in p.variants.items():
        if v.system is not None:
            yield f"variants.{key}.system", v.system
        for i, ex in enumerate(v.few_shot or []):
            yield f"variants.{key}.few_shot[{i}].user", ex.user


def template_problems(p: PromptsConfig) -> list[tuple[str, str]]:
    """``(path below prompts, message)`` for every template naming an undeclared variable or
    malformed, and every ``system_file`` the loader did not read (a config parsed from text)."""
    problems: list[tuple[str, str]] = []
    for path, text in _templates(p):
        try:
            names = template_fields(text)
        except ValueError as e:
            problems.append((path, str(e)))
            continue
        for name in dict.fromkeys(names):
            if name not in p.variables:
                declared = ", ".join(sorted(p.variables)) or "none"
                problems.append((path, f"unknown variable {{{name}}} (declared in variables: {declared})"))
    if p.system_file and p.system is None:
        problems.append(("system_file", "not read: give the config as a file so the path can be resolved"))
    for key, v in p.variants.items():
        if v.system_file and v.system is None:
            problems.append((f"variants.{key}.system_file",
                             "not read: give the config as a file so the path can be resolved"))
    return problems


def prompt_problems(cfg: SwitchyardConfig, route: str, p: PromptsConfig | None) -> list[tuple[str, str]]:
    """``(path, message)`` problems of a route's ``prompts`` block, paths from the root
    (``routes.X.prompts.variants.Y.system``): template problems (:func:`template_problems`), variant
    keys that match no target, a ``transform.by`` that is no target id."""
    if p is None:
        return []
    base = f"routes.{route}.prompts"
    out = [(f"{base}.{path}", msg) for path, msg in template_problems(p)]
    ids = [(t.id, t.provider, t.model) for t in cfg.targets]
    for key in p.variants:
        if not any(variant_matches(key, *t) is not None for t in ids):
            out.append((f"{base}.variants.{key}", "matches no target (expected a target id, provider/model, "
                                                  "a model glob such as 'claude-*', or a provider name)"))
    if p.transform is not None:
        if p.transform.by not in {t[0] for t in ids}:
            out.append((f"{base}.transform.by", f"no target {p.transform.by!r} (a target id provider/model@region)"))
        for i, key in enumerate(p.transform.only):
            if not any(variant_matches(key, *t) is not None for t in ids):
                out.append((f"{base}.transform.only[{i}]", f"{key!r} matches no target"))
    return out


def variant_matches(key: str, target_id: str, provider: str, model: str) -> int | None:
    """How specifically variant ``key`` names the target (0: exact id, 1: ``provider/model``,
    2: model glob, 3: provider name), or ``None`` when it does not."""
    if key == target_id:
        return 0
    if key == f"{provider}/{model}":
        return 1
    if any(c in key for c in "*?[") and fnmatch.fnmatchcase(model, key):
        return 2
    if key == provider:
        return 3
    return None


def select_variant(p: PromptsConfig, target_id: str) -> tuple[str | None, PromptVariant | None]:
    """``(name, variant)`` for the target ``provider/model@region``: the most specific key that
    matches (config order breaks ties), else ``("default", None)`` when the route has its own
    system text or few-shot examples, else ``(None, None)``."""
    provider, _, rest = target_id.partition("/")
    model = rest.rpartition("@")[0] or rest
    best: tuple[int, str] | None = None
    for key in p.variants:
        rank = variant_matches(key, target_id, provider, model)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, key)
    if best is not None:
        return best[1], p.variants[best[1]]
    if p.system is not None or p.few_shot:
        return DEFAULT_VARIANT, None
    return None, None


def render(text: str, variables: Mapping[str, str], metadata: Mapping[str, str] | None) -> str:
    """``text`` with each ``{name}`` replaced: ``metadata[name]`` if the request set it, else the
    declared default (every name is declared: checked at config load)."""
    values = {**variables, **{k: v for k, v in (metadata or {}).items() if k in variables}}
    return text.format_map(values)


def apply_prompt(p: PromptsConfig | None, request: ChatRequest, target_id: str, *,
                 system_override: str | None = None) -> Prompted:
    """The request as sent to ``target_id`` under the route's prompts (see module docstring).
    ``system_override``: a template sent instead of the variant's system text (a stored rewrite
    of it, ``core/prompt_transform.py``), rendered with the same variables."""
    if p is None:
        return Prompted(request=request)
    name, variant = select_variant(p, target_id)
    if name is None:
        return Prompted(request=request)
    template = variant.system if variant is not None and variant.system is not None else p.system
    shots = variant.few_shot if variant is not None and variant.few_shot is not None else p.few_shot
    meta = request.metadata
    sent = system_override if system_override is not None and template is not None else template
    text = render(sent, p.variables, meta) if sent is not None else None
    head = [m for m in request.messages if m.role in ("system", "developer")]
    body = [m for m in request.messages if m.role not in ("system", "developer")]
    if p.placement == "replace" and text is not None:
        head = []
    examples: list[ChatMessage] = []
    for ex in shots:
        examples += [ChatMessage(role="user", content=render(ex.user, p.variables, meta)),
                     ChatMessage(role="assistant", content=ex.assistant)]
    own = [ChatMessage(role="system", content=text)] if text is not None else []
    messages = own + head + examples + body
    return Prompted(request=request.model_copy(update={"messages": messages}), variant=name, template=template)
