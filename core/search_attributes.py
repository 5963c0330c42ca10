"""Custom search attributes for auditing requests in the Temporal UI and with ``temporal workflow list``.

Within SQL visibility's slots (10 Keyword, 3 Int per namespace; ``shared/TEMPORAL.md`` section 7).
Example queries::

    temporal workflow list --query "FailoverCount > 0 AND StartTime > '2026-11-30T00:00:00Z'"
    temporal workflow list --query "TaskType = 'support_reply' AND Outcome = 'failed'"
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

TASK_TYPE = SearchAttributeKey.for_keyword("TaskType")
TENANT = SearchAttributeKey.for_keyword("Tenant")
FINAL_PROVIDER = SearchAttributeKey.for_keyword("FinalProvider")
FINAL_MODEL = SearchAttributeKey.for_keyword("FinalModel")
FINAL_TARGET = SearchAttributeKey.for_keyword("FinalTarget")  # provider/model@region
OUTCOME = SearchAttributeKey.for_keyword("Outcome")  # ok | failed | caller_error
PINNED_MODEL = SearchAttributeKey.for_keyword("PinnedModel")
FAILOVER_COUNT = SearchAttributeKey.for_int("FailoverCount")
LATENCY_MS = SearchAttributeKey.for_int("LatencyMs")

ALL = [TASK_TYPE, TENANT, FINAL_PROVIDER, FINAL_MODEL, FINAL_TARGET, OUTCOME, PINNED_MODEL, FAILOVER_COUNT, LATENCY_MS]


def dev_server_flags() -> list[str]:
    """``--search-attribute Name=Type`` flags for ``temporal server start-dev``."""
    kinds = {"KEYWORD": "Keyword", "INT": "Int"}
    out: list[str] = []
    for key in ALL:
        out += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}"]
    return out
