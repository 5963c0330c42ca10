"""``switchyard keys create|list|revoke``: gateway API keys in ``DATABASE_URL`` (or the embedded SQLite).

``create TENANT`` prints the key once (only its SHA-256 is stored; ``activities/storage/api_keys.py``);
``list`` shows key ids, tenants, labels and whether each is revoked; ``revoke KEY_ID`` stops a key
(other gateway processes notice within ``gateway.key_cache_s`` seconds). Each command applies the
migrations first, so it works on a fresh ``SWITCHYARD_HOME``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from activities.storage.api_keys import ApiKeyStore, InvalidTenant
from worker.cli_db import migrated_engine
from worker.render import cli_console
from worker.settings import Settings

keys_app = typer.Typer(help="Gateway API keys (one tenant per key, stored hashed).", no_args_is_help=True)
console = cli_console()
T = TypeVar("T")


def _with_store(fn: Callable[[ApiKeyStore], Awaitable[T]]) -> T:
    async def _run() -> T:
        async with migrated_engine(Settings()) as engine:
            return await fn(ApiKeyStore(engine))
    return asyncio.run(_run())


@keys_app.command("create")
def create(tenant: Annotated[str, typer.Argument(help="Tenant the key acts for.")],
           name: Annotated[str, typer.Option(help="A label, e.g. the app using the key.")] = "") -> None:
    """Create a key for TENANT and print it (shown this once only)."""
    try:
        created = _with_store(lambda store: store.create(tenant, name))
    except InvalidTenant as e:
        cli_console(stderr=True).print(f"[red]error:[/] {e}", highlight=False)
        raise typer.Exit(2) from None
    console.print(f"key id {created.key_id} for tenant {created.tenant}; store the key now, it is not shown again:")
    print(created.key)


@keys_app.command("list")
def list_keys(tenant: Annotated[str | None, typer.Option(help="Only this tenant's keys.")] = None) -> None:
    """List keys (ids, tenants, labels, state); never the keys themselves."""
    rows = _with_store(lambda store: store.list_keys(tenant))
    table = Table(title=f"{len(rows)} gateway key(s)")
    for col in ("key id", "tenant", "name", "created", "state"):
        table.add_column(col)
    for r in rows:
        state = f"revoked {_when(r.revoked_at)}" if r.revoked_at else "active"
        table.add_row(r.key_id, r.tenant, r.name, _when(r.created_at), state)
    console.print(table)


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key id shown by `create` and `list`.")]) -> None:
    """Revoke a key; exit 1 if no active key has this id."""
    if not _with_store(lambda store: store.revoke(key_id)):
        cli_console(stderr=True).print(f"[red]error:[/] no active key with id {key_id!r}", highlight=False)
        raise typer.Exit(1)
    console.print(f"revoked {key_id}")


def _when(ts: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts)) if ts else ""
