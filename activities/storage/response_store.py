"""Save and resolve stored Responses API answers (``stored_responses``), tenant-scoped."""

from __future__ import annotations

import json
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.response_tables import stored_responses
from activities.storage.upsert import upsert_stmt
from core.chat import ChatMessage

RETAIN_S = 30 * 86_400.0  # OpenAI keeps stored responses 30 days


class ResponseStore:
    """See module docstring."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def save(self, rid: str, tenant: str, workflow_id: str, messages: list[ChatMessage],
                   body: dict[str, Any], now: float | None = None) -> None:
        """Store (or overwrite, for a retried key) the answer ``rid`` and its chat chain."""
        now = time.time() if now is None else now
        row = {"id": rid, "tenant": tenant, "workflow_id": workflow_id, "created_at": now,
               "messages": json.dumps([m.model_dump(mode="json", exclude_none=True) for m in messages]),
               "body": json.dumps(body), "expires_at": now + RETAIN_S}
        async with self._engine.begin() as conn:
            await conn.execute(upsert_stmt(conn, stored_responses, row, ("id",)))

    async def chain(self, rid: str, tenant: str, now: float | None = None) -> list[ChatMessage] | None:
        """The chat chain of ``rid`` for ``tenant``; ``None`` when it does not exist, expired or
        belongs to another tenant (indistinguishable on purpose)."""
        now = time.time() if now is None else now
        q = sa.select(stored_responses.c.messages).where(stored_responses.c.id == rid,
                                                         stored_responses.c.tenant == tenant,
                                                         stored_responses.c.expires_at > now)
        async with self._engine.connect() as conn:
            raw = (await conn.execute(q)).scalar()
        return None if raw is None else [ChatMessage.model_validate(m) for m in json.loads(raw)]
