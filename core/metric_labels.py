"""Bounded metric label values, so a metric's series count cannot grow with traffic.

Prometheus keeps one series per label combination; an unbounded label (tenant names from
headers, ids) grows memory without bound. :class:`LabelCap` passes the first ``limit`` distinct
values through and maps the rest to ``"other"``.
"""

from __future__ import annotations


class LabelCap:
    """First ``limit`` distinct values as they are, later ones as ``other`` (per process)."""

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def __call__(self, value: str) -> str:
        if value in self._seen:
            return value
        if len(self._seen) < self.limit:
            self._seen.add(value)
            return value
        return "other"


TENANTS = LabelCap(200)  # the process's tenant label values (activities and workflows share it)
