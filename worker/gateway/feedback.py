"""``POST /v1/feedback``: thumbs up/down on an answer of this gateway (``worker/feedback.py``).

Body: ``{"request_id": "<x-switchyard-workflow-id of the answer>", "rating": "up" | "down",
"comment": "..."}`` (``workflow_id`` is accepted for ``request_id``). Authenticated like every
``/v1`` endpoint; a caller can only rate its own tenant's requests. Answers ``200`` with the stored
vote and the outcome it judges, ``404`` for an unknown or unanswered request, ``400`` for a bad body.
"""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from activities.storage.health import HealthStore, UnknownRequest
from worker.feedback import submit_feedback
from worker.gateway.auth import authenticate
from worker.gateway.body import read_body
from worker.gateway.errors import GatewayError
from worker.gateway.state import Gateway

RATINGS = {"up": True, "down": False}


def _parse(body: bytes) -> tuple[str, bool, str]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise GatewayError(400, "The body is not JSON.") from None
    if not isinstance(data, dict):
        raise GatewayError(400, "The body must be a JSON object.")
    wf = data.get("request_id") or data.get("workflow_id")
    if not isinstance(wf, str) or not wf:
        raise GatewayError(400, "`request_id` (the x-switchyard-workflow-id of the answer) is required.",
                           param="request_id")
    rating = data.get("rating")
    if rating not in RATINGS:
        raise GatewayError(400, 'The rating must be "up" or "down".', param="rating")
    comment = data.get("comment") or ""
    if not isinstance(comment, str):
        raise GatewayError(400, "`comment` must be a string.", param="comment")
    return wf, RATINGS[rating], comment


async def post_feedback(request: Request) -> Response:
    """Store one vote (see module docstring)."""
    gw: Gateway = request.app.state.gateway
    cfg, _ = gw.config()
    caller = await authenticate(request, gw, cfg)
    wf, positive, comment = _parse(await read_body(request, cfg.gateway.max_body_bytes))
    try:
        rec = await submit_feedback(gw.sy.client, HealthStore(gw.services.engine), wf, positive, comment,
                                    tenant=caller.tenant)
    except UnknownRequest as e:
        raise GatewayError(404, str(e), param="request_id", code="request_not_found") from None
    return JSONResponse({"object": "feedback", "request_id": rec.workflow_id, "rating": "up" if positive else "down",
                         "target": rec.target, "created": int(rec.created_at)})
