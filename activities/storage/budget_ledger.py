"""The budget ledger: reserve an estimate against every matching rule, settle with the real cost.

Shared through the database, so several gateway processes enforce one cap: a reservation is one
conditional ``UPDATE ... SET reserved_usd = reserved_usd + :est WHERE spent_usd + reserved_usd +
:est <= :hard`` per rule, which the database serialises per row; a refused rule releases what the
request already reserved on the others. :meth:`BudgetLedger.settle` releases the estimate and
adds the cost the request's outcome rows record (the same figures ``switchyard cost`` sums).
A request that dies between the two leaves its estimate reserved until the period ends: the cap
errs on the side of refusing, never of overspending.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.budget_tables import budget_spend
from activities.storage.tables import outcomes
from activities.storage.upsert import upsert_stmt
from core.budgets import BudgetRule, period_bounds

b = budget_spend.c


class BudgetExceeded(Exception):
    """A hard cap would be passed. ``rule`` is the rule, ``name`` the value it matched, ``spent_usd``
    settled + reserved spend, ``resets_at`` unix s the period ends."""

    def __init__(self, rule: BudgetRule, name: str, spent_usd: float, resets_at: float) -> None:
        super().__init__(f"{rule.scope} {name!r} has spent ${spent_usd:.4f} of its {rule.period}ly budget of "
                         f"${rule.hard_usd:.2f}")
        self.rule, self.name, self.spent_usd, self.resets_at = rule, name, spent_usd, resets_at


@dataclass
class Admission:
    """What one request reserved: ``holds`` of (scope, name, period start); ``soft``: some rule is
    past its soft limit (the request should prefer cheaper targets)."""

    estimate_usd: float
    holds: list[tuple[str, str, float]] = field(default_factory=list)
    soft: list[str] = field(default_factory=list)


class BudgetLedger:
    """See module docstring."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def admit(self, rules: list[BudgetRule], values: dict[str, str | None], estimate_usd: float,
                    now: float) -> Admission:
        """Reserve ``estimate_usd`` on every rule matching ``values`` (scope -> tenant, key id, route).

        Raises :class:`BudgetExceeded` (nothing stays reserved) when a hard cap would be passed."""
        adm = Admission(estimate_usd=estimate_usd)
        matching = [(r, values[r.scope]) for r in rules if r.matches(values.get(r.scope))]
        if not matching:
            return adm
        async with self._engine.begin() as conn:
            for rule, name in matching:
                assert name is not None
                start, end = period_bounds(rule.period, now)
                key = (rule.scope, name, start)
                await conn.execute(upsert_stmt(conn, budget_spend, {
                    "scope": rule.scope, "name": name, "period_start": start, "spent_usd": 0.0, "reserved_usd": 0.0,
                    "updated_at": now}, ("scope", "name", "period_start"), update=[]))
                where = (b.scope == rule.scope, b.name == name, b.period_start == start)
                res = await conn.execute(sa.update(budget_spend).where(
                    *where, b.spent_usd + b.reserved_usd + estimate_usd <= rule.hard_usd).values(
                    reserved_usd=b.reserved_usd + estimate_usd, updated_at=now).returning(b.spent_usd, b.reserved_usd))
                row = res.first()
                if row is None:
                    spent = (await conn.execute(sa.select(b.spent_usd + b.reserved_usd).where(*where))).scalar()
                    raise BudgetExceeded(rule, name, float(spent or 0.0), end)
                adm.holds.append(key)
                if rule.soft_usd is not None and row.spent_usd + row.reserved_usd > rule.soft_usd:
                    adm.soft.append(f"{rule.scope} {name} past its soft budget of ${rule.soft_usd:.2f}")
        return adm

    async def settle(self, adm: Admission, workflow_id: str | None, now: float, cost_usd: float | None = None) -> float:
        """Release the reservation and add the request's cost: the sum of ``workflow_id``'s outcome
        rows for a request workflow (``req-...``), else ``cost_usd`` when the caller knows it (a
        conversation turn's trace; its rows cannot be told from the other turns'), else the
        estimate. Returns it (USD)."""
        if not adm.holds:
            return 0.0
        cost = adm.estimate_usd if cost_usd is None else cost_usd
        async with self._engine.begin() as conn:
            if workflow_id and workflow_id.startswith("req-"):
                cost = float((await conn.execute(sa.select(sa.func.coalesce(sa.func.sum(outcomes.c.cost_usd), 0.0))
                                                 .where(outcomes.c.workflow_id == workflow_id))).scalar() or 0.0)
            for scope, name, start in adm.holds:
                await conn.execute(sa.update(budget_spend).where(
                    b.scope == scope, b.name == name, b.period_start == start).values(
                    reserved_usd=sa.func.greatest(b.reserved_usd - adm.estimate_usd, 0.0)
                    if conn.dialect.name == "postgresql" else sa.func.max(b.reserved_usd - adm.estimate_usd, 0.0),
                    spent_usd=b.spent_usd + cost, updated_at=now))
        return cost

    async def spend(self, scope: str, name: str, period_start: float) -> tuple[float, float]:
        """``(spent, reserved)`` USD of one ledger row (0, 0 when it does not exist)."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(b.spent_usd, b.reserved_usd).where(
                b.scope == scope, b.name == name, b.period_start == period_start))).first()
        return (row.spent_usd, row.reserved_usd) if row else (0.0, 0.0)
