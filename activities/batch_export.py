"""Batch export to a directory: one file per generated document, and ``results.jsonl``.

Layout of ``DIR``::

    docs/doc-00001.md     the answer text of item 1 (written when the item is done)
    results.jsonl         one line per item, in item order (written when the batch run ends,
                          or by ``switchyard batch export``)

A ``results.jsonl`` line: ``{"n", "id", "status", "round", "workflow_id", "target", "text",
"cost_usd", "latency_ms", "failovers", "attempts", "error_class", "error_status", "error_message"}``
(``id`` is the caller's key from the batch file; ``status`` is ``done``, ``failed`` or
``pending``; ``attempts`` is the routing trace's list of calls). Every file is written to a
temporary name and renamed, so a re-run activity or a crash never leaves a half-written or
duplicated file.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import TextIO

from activities.storage.batches import BatchStore, ResultRow


def doc_path(directory: Path, n: int) -> Path:
    """``DIR/docs/doc-<n, 5 digits>.md``."""
    return directory / "docs" / f"doc-{n:05d}.md"


def _atomic_write(path: Path, data: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(data, encoding="utf-8")
    os.replace(tmp, path)


def write_doc(directory: Path, n: int, text: str) -> Path:
    """Write one document's text; returns its path."""
    path = doc_path(directory, n)
    _atomic_write(path, text)
    return path


def result_line(row: ResultRow) -> dict[str, object]:
    """The ``results.jsonl`` object of one item (see module docstring)."""
    return {"n": row.n, "id": row.key, "status": row.status, "round": row.round, "workflow_id": row.workflow_id,
            "target": row.target, "text": row.text, "cost_usd": row.cost_usd, "latency_ms": row.latency_ms,
            "failovers": row.failovers, "attempts": [a.model_dump(exclude_defaults=True) for a in row.attempts],
            "error_class": row.error_class, "error_status": row.error_status, "error_message": row.error_message}


async def export_batch(store: BatchStore, batch_id: str, directory: Path, *, page: int = 1000) -> Path:
    """Write ``results.jsonl`` and every done item's document from the database, a page of rows at
    a time (file writes run in a thread, off the event loop); returns the JSONL path."""
    path = directory / "results.jsonl"
    directory.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    after = 0
    with tmp.open("w", encoding="utf-8") as f:
        while rows := await store.results(batch_id, after_n=after, limit=page):
            await asyncio.to_thread(_write_page, f, directory, rows)
            after = rows[-1].n
    os.replace(tmp, path)
    return path


def _write_page(f: TextIO, directory: Path, rows: list[ResultRow]) -> None:
    for row in rows:
        if row.status == "done" and row.text is not None:
            write_doc(directory, row.n, row.text)
        f.write(json.dumps(result_line(row), ensure_ascii=False) + "\n")
