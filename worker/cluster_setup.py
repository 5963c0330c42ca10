"""Register Switchyard's search attributes on any Temporal cluster (idempotent).

The embedded dev server gets them at start (``--search-attribute``); an existing self-hosted
cluster gets them here through the operator service (``switchyard setup``). Temporal Cloud does
not allow the operator call: create them there with ``tcld namespace search-attributes add`` or
the Cloud UI, using the names and types :func:`wanted` lists.
"""

from __future__ import annotations

from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client

from core import search_attributes as sa


def wanted() -> dict[str, int]:
    """Search attribute name -> indexed value type number."""
    return {key.name: int(key.indexed_value_type) for key in sa.ALL}


async def ensure_search_attributes(client: Client) -> list[str]:
    """Add the missing search attributes to the client's namespace; returns the names added."""
    ns = client.namespace
    listing = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=ns))
    missing = {k: v for k, v in wanted().items() if k not in listing.custom_attributes}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=ns, search_attributes=missing))
    return sorted(missing)
