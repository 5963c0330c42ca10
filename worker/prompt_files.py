"""Read the ``system_file`` prompts a config names (``core/prompt_variants.py``) into ``system``.

Runs on the raw YAML mapping before validation: each ``routes.X.prompts.system_file`` and
``routes.X.prompts.variants.Y.system_file`` is read (UTF-8, relative to the config file's folder)
and its text put into the sibling ``system`` field, unless that is set too (a config error:
one or the other). The path stays in ``system_file`` so the audit shows where the text came from.
Returns every problem as ``"path: message"``, e.g.
``routes.support_reply.prompts.variants.anthropic.system_file: (file) No such file or directory``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _read(block: Any, path: str, base_dir: Path) -> list[str]:
    if not isinstance(block, dict) or not block.get("system_file"):
        return []
    if block.get("system") is not None:
        return [f"{path}.system_file: give either system or system_file, not both"]
    file = base_dir / str(block["system_file"])
    try:
        block["system"] = file.read_text(encoding="utf-8").strip()
    except OSError as e:
        return [f"{path}.system_file: (file) {e.strerror}: {file}"]
    return []


def read_prompt_files(data: dict[str, Any], base_dir: Path) -> list[str]:
    """Fill ``system`` from ``system_file`` in every route's prompts (see module docstring), in place."""
    problems: list[str] = []
    routes = data.get("routes")
    for name, route in (routes.items() if isinstance(routes, dict) else []):
        prompts = route.get("prompts") if isinstance(route, dict) else None
        if not isinstance(prompts, dict):
            continue
        base = f"routes.{name}.prompts"
        problems += _read(prompts, base, base_dir)
        variants = prompts.get("variants")
        for key, variant in (variants.items() if isinstance(variants, dict) else []):
            problems += _read(variant, f"{base}.variants.{key}", base_dir)
    return problems
