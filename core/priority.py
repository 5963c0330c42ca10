"""Request priority: the ``x-switchyard-priority`` names, Temporal's priority keys, shedding order.

Names (lowest shed first) and the Temporal priority key each maps to (1 highest .. 5 lowest,
Temporal's ``Priority.priority_key``; 3 is Temporal's default)::

    critical -> 1   high -> 2   normal -> 3   low -> 4   batch -> 5

The four interactive classes follow Google SRE's criticality classes (CRITICAL_PLUS, CRITICAL,
SHEDDABLE_PLUS, SHEDDABLE; ``shared/RESILIENCE.md`` 3.2); ``batch`` is the batch workflow's
traffic, which yields to every interactive request at shared limits (DESIGN.md, "Batches").
Pure: importable inside workflows.
"""

from __future__ import annotations

from typing import Literal

PriorityName = Literal["critical", "high", "normal", "low", "batch"]

#: Temporal priority key of each name.
KEYS: dict[str, int] = {"critical": 1, "high": 2, "normal": 3, "low": 4, "batch": 5}
NAMES: dict[int, str] = {v: k for k, v in KEYS.items()}
DEFAULT: PriorityName = "normal"


class InvalidPriority(ValueError):
    """A priority that is neither a name of :data:`KEYS` nor an integer 1..5."""


def parse_priority(raw: str) -> int:
    """The Temporal priority key (1..5) of ``raw``: a name (``high``) or a digit (``2``).

    Raises :class:`InvalidPriority` naming the accepted values."""
    value = raw.strip().lower()
    if value in KEYS:
        return KEYS[value]
    if value in ("1", "2", "3", "4", "5"):
        return int(value)
    raise InvalidPriority(f"invalid priority {raw[:20]!r}: expected one of {', '.join(KEYS)} or an integer "
                          "from 1 (highest) to 5")


def priority_name(key: int | None) -> str:
    """The name of a Temporal priority key (``None``: :data:`DEFAULT`)."""
    return NAMES.get(key or KEYS[DEFAULT], DEFAULT)
