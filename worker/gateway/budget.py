"""Money budgets at the gateway: reserve before the workflow starts, settle after the answer.

:func:`admit` prices the request's upper-bound estimate (``core.budgets.estimate_usd`` over the
route's chain) and reserves it on every matching ``budgets:`` rule through the shared ledger
(``activities/storage/budget_ledger.py``): past a hard cap it raises a 429 in OpenAI's shape
(``type: insufficient_quota``, ``code: budget_exceeded``, ``Retry-After`` until the period ends),
past a soft cap the request runs with ``prefer_cheaper`` (cheapest healthy targets first) and the
response says ``x-switchyard-budget: soft``. :func:`settle_after` releases the estimate and adds
the request's cost once the response is sent (a Starlette background task; for a failure, right
away): the outcome rows of its request workflow, else (a conversation turn) the trace's
``x-switchyard-cost-usd``, else the estimate (a streamed conversation turn). A ledger
that cannot be reached refuses nothing: the request runs unbudgeted and the error is logged
(budgets protect money; an outage of the ledger must not stop traffic).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time

from sqlalchemy.exc import SQLAlchemyError
from starlette.background import BackgroundTask
from starlette.responses import Response

from activities import metrics
from activities.storage.budget_ledger import Admission, BudgetExceeded, BudgetLedger
from core.budgets import estimate_usd
from core.chains import expand_chain
from core.config import SwitchyardConfig
from core.tokens import estimate_prompt_tokens
from worker.gateway.errors import GatewayError
from worker.gateway.headers import COST, WORKFLOW_ID
from worker.gateway.inputs import GatewayRequest
from worker.gateway.state import Gateway

log = logging.getLogger("switchyard.gateway")
_pending: set[asyncio.Task[None]] = set()


async def admit(gw: Gateway, cfg: SwitchyardConfig, greq: GatewayRequest) -> tuple[GatewayRequest, Admission | None]:
    """``(request to run, admission)``; raises :class:`GatewayError` 429 past a hard cap."""
    if not cfg.budgets:
        return greq, None
    req = greq.inp.request
    prices = [t.price for group in expand_chain(cfg, greq.route) for t in group]
    est = estimate_usd(estimate_prompt_tokens(req), req.output_cap(), prices)
    values = {"tenant": greq.inp.tenant, "key": greq.inp.metadata.get("key_id"), "route": greq.route}
    now = time.time()
    try:
        adm = await BudgetLedger(gw.services.engine).admit(cfg.budgets, values, est, now)
    except BudgetExceeded as e:
        metrics.record_shed(greq.route, "budget", greq.inp.metadata.get("priority", "normal"))
        raise GatewayError(429, f"Budget exceeded: {e}. It resets at "
                                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(e.resets_at))}.",
                           code="budget_exceeded", type_="insufficient_quota",
                           retry_after_s=max(1.0, e.resets_at - now)) from None
    except (SQLAlchemyError, OSError) as e:
        log.error("budget ledger unreachable, request runs unbudgeted: %s", e)
        return greq, None
    if adm.soft:
        greq = dataclasses.replace(greq, inp=greq.inp.model_copy(update={"prefer_cheaper": True}))
    return greq, adm


def soft_headers(adm: Admission | None) -> dict[str, str]:
    """``x-switchyard-budget: soft`` when a soft cap was passed."""
    return {"x-switchyard-budget": "soft"} if adm is not None and adm.soft else {}


async def _settle(gw: Gateway, adm: Admission, workflow_id: str | None, cost: str | None) -> None:
    try:
        await BudgetLedger(gw.services.engine).settle(adm, workflow_id, time.time(),
                                                      None if cost is None else float(cost))
    except (SQLAlchemyError, OSError) as e:
        log.error("budget settlement of %s failed: %s", workflow_id, e)


def settle_after(gw: Gateway, adm: Admission | None, response: Response) -> Response:
    """Settle once ``response`` is sent (its ``x-switchyard-workflow-id`` names the request)."""
    if adm is not None:
        response.background = BackgroundTask(_settle, gw, adm, response.headers.get(WORKFLOW_ID),
                                             response.headers.get(COST))
    return response


def settle_now(gw: Gateway, adm: Admission | None, err: GatewayError) -> None:
    """Settle a failed request in the background (its workflow id is in the error's headers)."""
    if adm is None:
        return
    headers = err.headers or {}
    task = asyncio.get_running_loop().create_task(_settle(gw, adm, headers.get(WORKFLOW_ID), headers.get(COST)))
    _pending.add(task)
    task.add_done_callback(_pending.discard)
