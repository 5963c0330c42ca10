"""Scenario files: the scripted world the provider simulator replays.

Format: ``/work/shared/scenarios/README.md`` (vendored as ``simulator/scenarios/README.md``). Shape::

    name, source, summary          strings
    time_scale                     incident seconds per real second (> 0, default 1)
    seed                           int; every random draw derives from it
    baseline                       Behaviour: normal behaviour of every target
    targets                        {"provider/model@region": Behaviour overrides or {}}; provider is the
                                   wire protocol: openai | anthropic | gemini
    task_profiles                  {task_type: {target: {quality: 0..1}}} (a step's ``task_quality``
                                   overrides it from then on: a model getting worse at one task)
    timeline                       [{at: duration, target: id | "*", set: Behaviour, reset: bool}]

Units: ``at`` is a duration with a unit (``1500ms``, ``30s``, ``10m``, ``2h``, compounds such as
``1h30m``) on the *incident* clock; every ``*_ms`` value is real milliseconds; shares and rates are
0..1; distributions are ``{median, p99}`` (a bare number means a constant).

:func:`load_scenario` raises :class:`ScenarioError` whose message names each bad field by path, e.g.
``timeline[2].set.error_rate: Input should be less than or equal to 1``.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

PROTOCOLS = ("openai", "anthropic", "gemini")
CorruptKind = Literal["foreign_script", "repetition", "empty", "truncated", "off_topic", "invalid_json",
                      "preamble", "signoff", "json_fence"]
CORRUPT_KINDS: tuple[str, ...] = CorruptKind.__args__  # type: ignore[attr-defined]
#: Kinds drawn when a step sets ``corrupt_share`` without ``corrupt_kind`` (the wrappings only when named).
DEFAULT_CORRUPT_KINDS: tuple[str, ...] = CORRUPT_KINDS[:6]
StreamFault = Literal["cut", "stall", "error_event", "malformed", "no_final", "tool_cut"]
STREAM_FAULTS: tuple[str, ...] = StreamFault.__args__  # type: ignore[attr-defined]

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_TARGET_RE = re.compile(r"^(?P<provider>[a-z]+)/(?P<model>[^@\s]+)@(?P<region>[A-Za-z0-9._-]+)$")


class ScenarioError(ValueError):
    """A scenario file that cannot be read or does not match the format; the message names each field."""


def parse_duration(value: Any) -> float:
    """Seconds in a duration string such as ``1500ms``, ``30s``, ``10m``, ``2h`` or ``1h30m``."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a duration such as '30s', '10m', '2h', got {value!r}")
    if isinstance(value, int | float):
        if value == 0:
            return 0.0
        raise ValueError(f"a duration needs a unit (ms, s, m, h): got {value!r}; write e.g. '{value}s'")
    text = value.strip()
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"expected a duration such as '30s', '10m', '2h', '1500ms', got {value!r}")
    return total


def format_duration(seconds: float) -> str:
    """Short human form of an incident time, e.g. ``1h2m3s`` or ``12.5s``."""
    seconds = max(0.0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    out = (f"{int(hours)}h" if hours else "") + (f"{int(minutes)}m" if minutes or hours else "")
    return out + f"{round(secs, 3):g}s"


def parse_target_id(target: str) -> tuple[str, str, str]:
    """Split ``provider/model@region`` into its three parts; raises ValueError if malformed."""
    match = _TARGET_RE.match(target)
    if not match:
        raise ValueError(f"target id {target!r} is not 'provider/model@region'")
    if match.group("provider") not in PROTOCOLS:
        raise ValueError(f"target {target!r}: provider must be one of {', '.join(PROTOCOLS)}")
    return match.group("provider"), match.group("model"), match.group("region")


def _constant_distribution(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"median": value, "p99": value}
    return value


def _str_values(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): (v if isinstance(v, str) else str(v)) for k, v in value.items()}
    return value


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Duration = Annotated[float, BeforeValidator(parse_duration)]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Distribution(_Strict):
    """A positive quantity drawn from a lognormal fitted to its median and 99th percentile."""

    median: float = Field(ge=0.0)
    p99: float = Field(ge=0.0)

    @model_validator(mode="after")
    def _p99_not_below_median(self) -> Distribution:
        if self.p99 < self.median:
            raise ValueError(f"p99 ({self.p99}) must be >= median ({self.median})")
        return self


Dist = Annotated[Distribution, BeforeValidator(_constant_distribution)]


class ErrorSpec(_Strict):
    """One scripted error answer: HTTP status, weight among the step's errors, optional body and headers."""

    status: int = Field(ge=200, le=599)
    share: float = Field(default=1.0, gt=0.0)
    body: Any = None
    headers: Annotated[dict[str, str] | None, BeforeValidator(_str_values)] = None


class Behaviour(_Strict):
    """How a target behaves; every key optional (unset keys keep the value they had)."""

    error_rate: Share | None = None
    errors: list[ErrorSpec] | None = None
    latency_ms: Dist | None = None
    ttft_ms: Dist | None = None
    latency_factor: float | None = Field(default=None, gt=0.0)
    stall_ms: float | None = Field(default=None, ge=0.0)
    hang_share: Share | None = None
    reset_share: Share | None = None
    stream_cut_share: Share | None = None
    stream_cut_after_chunks: int | None = Field(default=None, ge=0)
    tokens_per_s: float | None = Field(default=None, gt=0.0)  # streaming pace (tokens per real second)
    stream_fault: StreamFault | None = None
    stream_fault_share: Share | None = None  # default 1 when ``stream_fault`` is set
    stream_fault_after_tokens: int | None = Field(default=None, ge=0)
    continuation_overlap_chars: int | None = Field(default=None, ge=0)  # OpenAI-protocol rescue restatement
    output_tokens: Dist | None = None
    output_tokens_factor: float | None = Field(default=None, gt=0.0)
    corrupt_share: Share | None = None
    corrupt_kind: Annotated[list[CorruptKind] | None, BeforeValidator(_as_list)] = None
    rate_limit_rpm: int | None = Field(default=None, ge=1)
    task_quality: dict[str, Share] | None = None  # task type -> quality, over ``task_profiles``


class TaskQuality(_Strict):
    """Share of a target's answers for one task type that pass the task's check."""

    quality: Share


class StepChange(_Strict):
    """A change to one target (or ``"*"``: all): ``set`` some keys and/or ``reset`` to its baseline."""

    target: str
    set_: Behaviour | None = Field(default=None, alias="set")
    reset: bool = False

    @model_validator(mode="after")
    def _does_something(self) -> StepChange:
        if self.set_ is None and not self.reset:
            raise ValueError("a step needs 'set' or 'reset: true'")
        return self


class Step(StepChange):
    """A timeline step: a change applied from incident time ``at`` (seconds) on."""

    at: Duration

    @property
    def at_s(self) -> float:
        """Incident time of the step in seconds (the same as ``at``, named for its unit)."""
        return self.at


class Scenario(_Strict):
    """A whole scenario file (see the module docstring for the shape)."""

    name: str = Field(min_length=1)
    source: str = "synthetic"
    summary: str = ""
    time_scale: float = Field(default=1.0, gt=0.0)
    seed: int = 0
    baseline: Behaviour = Behaviour()
    targets: dict[str, Behaviour | None] = Field(min_length=1)
    task_profiles: dict[str, dict[str, TaskQuality]] = {}
    timeline: list[Step] = []

    @model_validator(mode="after")
    def _references_are_known(self) -> Scenario:
        problems = [f"targets.{t}: {e}" for t in self.targets if (e := _target_problem(t))]
        for i, step in enumerate(self.timeline):
            if step.target != "*" and step.target not in self.targets:
                problems.append(f"timeline[{i}].target: unknown target {step.target!r}")
        for task, per_target in self.task_profiles.items():
            problems += [f"task_profiles.{task}.{t}: unknown target {t!r}" for t in per_target
                         if t not in self.targets]
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def target_base(self, target: str) -> Behaviour:
        """The target's normal behaviour: the baseline with the target's own overrides on top."""
        own = self.targets.get(target) or Behaviour()
        merged = self.baseline.model_dump(exclude_unset=True) | own.model_dump(exclude_unset=True)
        return Behaviour.model_validate(merged)

    def ordered_steps(self) -> list[Step]:
        """Timeline steps in order of ``at`` (file order among equal times)."""
        return sorted(self.timeline, key=lambda s: s.at)


def _target_problem(target: str) -> str | None:
    try:
        parse_target_id(target)
    except ValueError as exc:
        return str(exc)
    return None


def format_validation_error(exc: ValidationError) -> str:
    """One line per error, each starting with the field path (``timeline[2].set.error_rate``)."""
    lines = []
    for err in exc.errors():
        path = ""
        for part in err["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] not in ("value_error", "missing") and "input" in err:
            msg += f" (got {err['input']!r})"
        lines.append(f"{path}: {msg}" if path else msg)
    return "\n".join(lines)


def parse_scenario(data: Any, origin: str = "<scenario>") -> Scenario:
    """Validate already-parsed YAML/JSON data; raises :class:`ScenarioError` naming the bad fields."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{origin}: a scenario is a mapping, got {type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(f"{origin} is not a valid scenario:\n{format_validation_error(exc)}") from None


def bundled_scenarios() -> dict[str, Path]:
    """Scenario files shipped in ``simulator/scenarios``, by bare name (file name without ``.yaml``)."""
    root = resources.files("simulator.scenarios")
    return {Path(f.name).stem: Path(str(f)) for f in root.iterdir() if f.name.endswith(".yaml")}


def resolve_scenario(name_or_path: str | Path) -> Path:
    """A path as given if it exists, else the bundled scenario of that bare name."""
    path = Path(name_or_path)
    if path.exists():
        return path
    bundled = bundled_scenarios()
    key = path.name.removesuffix(".yaml")
    if key in bundled:
        return bundled[key]
    raise ScenarioError(f"no scenario file {str(name_or_path)!r}; bundled: {', '.join(sorted(bundled))}")


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read and validate a scenario file (or a bundled one by bare name, e.g. ``basic-primary-down``)."""
    path = resolve_scenario(name_or_path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    return parse_scenario(data, str(path))
