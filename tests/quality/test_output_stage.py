"""``OutputStage`` on its own, with the real payload store: the repair call's failure paths stay
bounded (one call at most, then the answer is reported invalid), and a repair is never made when
the request already used it."""

from __future__ import annotations

import asyncio

import pytest

from activities.normalizing import OutputStage, steps_column
from activities.providers.base import AdapterResult, ProviderError
from activities.storage.payloads import PayloadStore
from core.chat import ChatMessage, ChatRequest, ChatResponse, Choice, ResponseMessage, Usage
from core.errors import ErrorClass
from core.normalize_config import NormalizeConfig

REQ = ChatRequest(messages=[ChatMessage(role="user", content="order JSON?")], response_format={"type": "json_object"})
CFG = NormalizeConfig(repair=True, strip_preamble=True)


def _result(text: str) -> AdapterResult:
    return AdapterResult(ChatResponse(id="x", created=0, model="m", usage=Usage(prompt_tokens=10, completion_tokens=5,
                                                                              total_tokens=15),
                                      choices=[Choice(message=ResponseMessage(content=text))]))


class Recall:
    """Counts the repair calls; answers with ``answer`` or raises ``error``."""

    def __init__(self, answer: str | None = None, error: Exception | None = None) -> None:
        self.calls = 0
        self.answer, self.error = answer, error

    async def __call__(self, req: ChatRequest) -> AdapterResult:
        self.calls += 1
        if self.error is not None:
            raise self.error
        await asyncio.sleep(0)
        return _result(self.answer or "")


async def _apply(engine, text: str, recall: Recall, *, allowed: bool = True, budget_s: float = 5.0):
    return await OutputStage(PayloadStore(engine)).apply(
        CFG, REQ, _result(text), workflow_id="wf-stage", target="t", repair_allowed=allowed, recall=recall,
        repair_budget_s=budget_s, price=lambda u: u.total_tokens * 1e-6)


async def test_failed_repair_call_is_not_retried(engine) -> None:
    recall = Recall(error=ProviderError(ErrorClass.SERVER_ERROR, "boom", status=500))
    out = await _apply(engine, '{"sku": ', recall)
    assert recall.calls == 1 and out.invalid == ["repair call failed: ServerError: boom"]
    assert out.record.repair is not None and not out.record.repair.ok and steps_column(out.record) == "repair"


async def test_still_invalid_after_repair_is_reported_not_repaired_again(engine) -> None:
    recall = Recall(answer="still not json")
    out = await _apply(engine, '{"sku": ', recall)
    assert recall.calls == 1 and out.invalid[0].startswith("not valid JSON")
    assert out.result.response.usage.total_tokens == 30  # both calls billed


async def test_slow_repair_call_is_cut_at_the_budget(engine) -> None:
    class Slow(Recall):
        async def __call__(self, req: ChatRequest) -> AdapterResult:
            self.calls += 1
            await asyncio.sleep(5)
            raise AssertionError("not reached")
    recall = Slow()
    out = await _apply(engine, '{"sku": ', recall, budget_s=0.2)
    assert recall.calls == 1 and out.invalid[0].startswith("repair call failed: no answer within")


async def test_no_repair_when_the_request_used_it(engine) -> None:
    recall = Recall(answer='{"sku": "A"}')
    out = await _apply(engine, '{"sku": ', recall, allowed=False)
    assert recall.calls == 0 and out.invalid and out.record.repair is None and out.record.raw_ref is None


async def test_successful_repair_and_raw_payload(engine) -> None:
    recall = Recall(answer='Sure! Here is the JSON:\n```json\n{"sku": "A"}\n```')
    out = await _apply(engine, 'Certainly!\n{"sku": ', recall)
    assert recall.calls == 1 and out.invalid == [] and out.result.response.text() == '{"sku": "A"}'
    assert [c.step for c in out.record.changes][-1].startswith("repair.")
    raw = ChatResponse.model_validate_json(await PayloadStore(engine).get(out.record.raw_ref))
    assert raw.text() == 'Certainly!\n{"sku": '
    assert out.repair_cost_usd == pytest.approx(15e-6)
