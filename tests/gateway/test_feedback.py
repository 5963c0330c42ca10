"""``POST /v1/feedback``: a thumbs-down on a gateway answer is stored with the outcome it judges."""

from __future__ import annotations

import sqlalchemy as sa

from activities.storage.health_tables import feedback
from tests.gateway.conftest import PRIMARY, chat


async def test_thumbs_down_is_stored_with_the_answering_outcome(gw_open, engine) -> None:
    r = await gw_open.http.post("/v1/chat/completions", json=chat())
    assert r.status_code == 200
    wf = r.headers["x-switchyard-workflow-id"]
    fb = await gw_open.http.post("/v1/feedback", json={"request_id": wf, "rating": "down", "comment": "wrong order"})
    assert fb.status_code == 200 and fb.json()["target"] == PRIMARY and fb.json()["rating"] == "down"
    again = await gw_open.http.post("/v1/feedback", json={"request_id": wf, "rating": "up"})
    assert again.status_code == 200
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(feedback.c.positive, feedback.c.target, feedback.c.seq)
                                   .where(feedback.c.workflow_id == wf))).all()
    assert [tuple(x) for x in rows] == [(True, PRIMARY, 1)]  # the later vote replaced the earlier one


async def test_unknown_request_and_bad_rating_are_rejected(gw_open) -> None:
    missing = await gw_open.http.post("/v1/feedback", json={"request_id": "req-default-nope", "rating": "up"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "request_not_found"
    bad = await gw_open.http.post("/v1/feedback", json={"request_id": "x", "rating": "meh"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "rating"
