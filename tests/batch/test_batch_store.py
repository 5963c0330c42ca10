"""Batch storage on the real database: loading is once per id, recording is idempotent per
(batch, item, round), a later round's result wins, pages follow the cursor and the byte budget."""

from __future__ import annotations

import json

import pytest

from activities.storage.batches import BatchNotFound, BatchStore
from core.batch import BeginInput, ItemOutcome, PageInput
from core.batch_file import parse_lines
from core.request import AttemptRecord
from tests.batch.helpers import item_rows, result_rows
from worker.batch_client import BatchClient


def _items(n: int) -> list:
    return parse_lines([json.dumps({"id": f"k{i}", "template": "Hi {x}", "variables": {"x": "y" * 100 * i}})
                        for i in range(1, n + 1)], "support_reply")


def _out(batch_id: str, n: int, status: str, round_no: int = 0) -> ItemOutcome:
    done = status == "done"
    return ItemOutcome(batch_id=batch_id, n=n, round=round_no, workflow_id=f"batch-{batch_id}/doc-{n}",
                       status=status, cost_usd=0.01 if done else 0.0, error_class=None if done else "AllTargetsFailed",
                       attempts=[AttemptRecord(seq=1, target="openai/gpt-4o@us-east")])


async def test_load_once_record_idempotently_and_later_rounds_win(engine) -> None:
    store = BatchStore(engine)
    info, created = await store.load("store-1", _items(5), source="f.jsonl", task_type="support_reply")
    again, created_again = await store.load("store-1", _items(2))
    assert created and not created_again and again.total == info.total == 5

    batch = [(_out("store-1", 1, "done"), "text 1"), (_out("store-1", 2, "failed"), None)]
    await store.record(batch)
    await store.record(batch)  # a re-run activity writes the same rows
    await store.record([(_out("store-1", 2, "done", round_no=1), "text 2")])
    await store.record([(_out("store-1", 2, "failed", round_no=0), None)])  # a stale round changes nothing

    rows = await result_rows(engine, "store-1")
    assert [(r.n, r.round, r.status) for r in rows] == [(1, 0, "done"), (2, 0, "failed"), (2, 1, "done")]
    items = {i.n: (i.status, i.round) for i in await item_rows(engine, "store-1")}
    assert items == {1: ("done", 0), 2: ("done", 1), 3: ("pending", 0), 4: ("pending", 0), 5: ("pending", 0)}
    counts = await store.begin(BeginInput(batch_id="store-1", mode="pending", round=0))
    assert (counts.total, counts.to_run, counts.done, counts.failed) == (5, 3, 2, 0)
    assert abs(counts.cost_usd - 0.02) < 1e-9
    results = await store.results("store-1")
    assert [(r.n, r.key, r.status, r.text) for r in results[:2]] == [(1, "k1", "done", "text 1"),
                                                                      (2, "k2", "done", "text 2")]


async def test_pages_follow_the_cursor_status_and_byte_budget(engine) -> None:
    store = BatchStore(engine)
    await store.load("store-2", _items(6))
    await store.record([(_out("store-2", 2, "failed"), None), (_out("store-2", 5, "failed"), None)])
    page = await store.page(PageInput(batch_id="store-2", mode="pending", after_n=1, limit=10))
    assert [i.n for i in page.items] == [3, 4, 6] and page.items[0].tenant == "default"
    assert page.items[0].task_type == "support_reply" and page.items[0].request.messages[0].text().startswith("Hi y")
    failed = await store.page(PageInput(batch_id="store-2", mode="failed", after_n=0, limit=10))
    assert [i.n for i in failed.items] == [2, 5]
    small = await store.page(PageInput(batch_id="store-2", mode="pending", after_n=0, limit=10, max_bytes=1))
    assert [i.n for i in small.items] == [1]  # always at least one item


async def test_a_batch_is_found_by_its_id_or_its_workflow_id(engine, temporal_env) -> None:
    store = BatchStore(engine)
    await store.load("resolve-1", _items(1))
    await store.load("batch-resolve-2", _items(1))  # a file named batch*.jsonl gives such ids
    bc = BatchClient(temporal_env.client, store, "unused")
    assert await bc.resolve("resolve-1") == "resolve-1"
    assert await bc.resolve("batch-resolve-1") == "resolve-1"
    assert await bc.resolve("batch-resolve-2") == "batch-resolve-2"
    assert await bc.resolve("batch-batch-resolve-2") == "batch-resolve-2"
    with pytest.raises(BatchNotFound):
        await bc.resolve("batch-nothing")
