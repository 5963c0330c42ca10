"""``DrillWorkflow``: an eval run or a failover drill of one route, through real request workflows.

Steps: ``prepare`` (activity: the route's targets, cases, judge and thresholds from the live
config) -> for each target, each case as a child ``AIRequestWorkflow`` forced to that target
(``RequestInput.force_target``: the plan holds only it, health and cooldowns aside, no cache), at
most ``parallel`` in flight -> score each answer (pure ``core/drill.py``: checks, else the judge,
a child request forced to the judge target, else the answer heuristics) -> build the report
(summaries, a drill's pass/fail per backup) -> ``record`` (activity: the drill results and the
per-target scores learning reads).

Every call is a real request with its own outcome rows, health effects and audit trail in the
Temporal UI; child ids are ``<drill id>/<target>/<case id>`` (``.../judge`` for the judge's call).
A drill's request that the target does not answer scores 0 and counts against its success rate.

With ``live_share`` the drill sends nothing itself: for each backup in turn it opens a window
(activity ``open_window``) in which that share of the route's live requests put the backup first
(planning reads the window), sleeps ``live_s`` on a durable timer, and reads the window's live
outcomes of the primary and the backup (activity ``measure``), then compares them the same way.

Deterministic: time from ``workflow.now()``; I/O only through activities and child workflows.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from core import search_attributes as sa
    from core.canary import LiveDrill
    from core.drill import (
        TRIAL_TENANT,
        MeasureInput,
        Sample,
        TargetSummary,
        TrialInput,
        TrialReport,
        TrialSpec,
        answered_sample,
        build_report,
        failed_sample,
        live_report,
        with_judge,
    )
    from core.eval_checks import EvalCase, judge_prompt, parse_judge_score
    from core.names import (
        DRILL_MEASURE_ACTIVITY,
        DRILL_OPEN_WINDOW_ACTIVITY,
        DRILL_PREPARE_ACTIVITY,
        DRILL_RECORD_ACTIVITY,
        DRILL_WORKFLOW,
        REQUEST_WORKFLOW,
    )
    from core.request import RequestFailure, RequestInput, RequestResult
    from workflows.options import DRILL_OPTIONS

#: Workflow task timeout of the child requests (``shared/TEMPORAL.md`` recommendation 3).
CHILD_TASK_TIMEOUT = timedelta(seconds=30)


@workflow.defn(name=DRILL_WORKFLOW)
class DrillWorkflow:
    """Input :class:`core.drill.TrialInput`; result :class:`core.drill.TrialReport`. Fails with a
    non-retryable ``InvalidRequest`` for an unknown route or target (from ``prepare``)."""

    @workflow.run
    async def run(self, inp: TrialInput) -> TrialReport:
        spec = await workflow.execute_activity(
            DRILL_PREPARE_ACTIVITY, inp, result_type=TrialSpec,
            **DRILL_OPTIONS.kwargs())
        info = workflow.info()
        if spec.live_share:
            report = await self._live(spec, info.workflow_id)
        else:
            workflow.set_current_details(f"{spec.kind} of **{spec.route}**: {len(spec.targets)} targets x "
                                         f"{len(spec.cases)} cases")
            jobs = [(t, c) for t in spec.targets for c in spec.cases]
            samples: list[Sample] = []
            for i in range(0, len(jobs), spec.parallel):
                samples += await asyncio.gather(*(self._sample(spec, t, c) for t, c in jobs[i:i + spec.parallel]))
            report = build_report(spec, samples, info.workflow_id, workflow.now().timestamp())
        await workflow.execute_activity(DRILL_RECORD_ACTIVITY, report, **DRILL_OPTIONS.kwargs())
        workflow.set_current_details(_details(report))
        return report

    async def _live(self, spec: TrialSpec, run_id: str) -> TrialReport:
        """A drill on live traffic: each backup in turn gets a window of ``live_s`` seconds in
        which ``live_share`` of the route's requests try it first; then the window's outcomes."""
        windows = []
        for backup in spec.targets[1:]:
            start = workflow.now().timestamp()
            window = LiveDrill(run_id=run_id, route=spec.route, target=backup, share=spec.live_share or 0.0,
                               starts_at=start, ends_at=start + spec.live_s)
            workflow.set_current_details(f"live drill of **{spec.route}**: {window.share:.0%} of live requests "
                                         f"to {backup} for {spec.live_s:g} s")
            await workflow.execute_activity(DRILL_OPEN_WINDOW_ACTIVITY, window, **DRILL_OPTIONS.kwargs())
            await workflow.sleep(spec.live_s)
            primary, measured = await workflow.execute_activity(
                DRILL_MEASURE_ACTIVITY, MeasureInput(route=spec.route, primary=spec.primary, backup=backup,
                                                     start=start, end=window.ends_at),
                result_type=list[TargetSummary], **DRILL_OPTIONS.kwargs())
            windows.append((primary, measured))
        return live_report(spec, windows, run_id, workflow.now().timestamp())

    async def _sample(self, spec: TrialSpec, target: str, case: EvalCase) -> Sample:
        wid = f"{workflow.info().workflow_id}/{target}/{case.id}"
        try:
            res = await self._request(spec, RequestInput(request=case.request(), task_type=spec.route,
                                                         tenant=TRIAL_TENANT, force_target=target,
                                                         metadata={"trial": spec.kind}), wid)
        except ApplicationError as err:
            return failed_sample(case, target, wid, err.type or "Unknown")
        attempt = res.trace.attempts[-1] if res.trace.attempts else None
        sample = answered_sample(case, target, wid, res.response, attempt.latency_ms if attempt else 0.0)
        if sample.scored_by != "heuristics" or spec.judge_target is None or res.response is None:
            return sample
        judge = RequestInput(request=judge_prompt(case, res.response.text()), task_type=spec.route,
                             tenant=TRIAL_TENANT, force_target=spec.judge_target, metadata={"trial": "judge"})
        try:
            verdict = await self._request(spec, judge, f"{wid}/judge")
        except ApplicationError:
            return sample  # no judge answer: the heuristics' score stands
        return with_judge(sample, parse_judge_score(verdict.response.text() if verdict.response else ""))

    async def _request(self, spec: TrialSpec, req: RequestInput, wid: str) -> RequestResult:
        """One child request; raises ``ApplicationError`` (type = the caller-facing class) when
        no target answered."""
        try:
            return await workflow.execute_child_workflow(
                REQUEST_WORKFLOW, req, id=wid, result_type=RequestResult, task_timeout=CHILD_TASK_TIMEOUT,
                search_attributes=TypedSearchAttributes([SearchAttributePair(sa.TASK_TYPE, spec.route),
                                                         SearchAttributePair(sa.TENANT, TRIAL_TENANT)]),
                static_summary=f"{spec.kind} request forced to {req.force_target}")
        except ChildWorkflowError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                if cause.details:
                    failure = RequestFailure.model_validate(cause.details[0])
                    raise ApplicationError(failure.message, type=failure.error_class) from None
                raise ApplicationError(cause.message, type=cause.type or "Unknown") from None
            raise ApplicationError(str(err), type="Unknown") from None


def _details(report: TrialReport) -> str:
    if report.kind == "eval":
        return "Eval ranking: " + ", ".join(f"{s.rank}. {s.target} ({s.mean_score:.2f})" for s in report.summaries)
    if report.passed:
        return f"Drill **passed**: {len(report.verdicts)} backup(s) within thresholds."
    return "Drill **failed**: " + "; ".join(f"{v.target}: {', '.join(v.reasons)}"
                                            for v in report.verdicts if not v.passed)
