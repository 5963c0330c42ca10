"""``ApiKeyStore`` on the real database (PostgreSQL when available, else SQLite): hashed storage,
tenant checks, revocation and the verification cache's bound on staleness."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from activities.storage.api_keys import ApiKeyStore, InvalidTenant, api_keys, key_hash, key_id_of


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_keys_are_stored_hashed_and_verify_to_their_tenant(engine) -> None:
    store = ApiKeyStore(engine)
    a, b = await store.create("acme", name="refills"), await store.create("globex")
    assert a.key.startswith("sy-") and key_id_of(a.key) == a.key_id and a.key != b.key
    assert await store.verify(a.key) == "acme" and await store.verify(b.key) == "globex"
    async with engine.connect() as conn:
        rows = {r.key_id: r for r in (await conn.execute(sa.select(api_keys))).all()}
    assert rows[a.key_id].key_hash == key_hash(a.key) and a.key not in tuple(rows[a.key_id])
    assert rows[a.key_id].name == "refills" and rows[a.key_id].revoked_at is None
    for bad in ("", "sy-", a.key + "0", a.key[:-1] + ("1" if a.key[-1] != "1" else "2"), a.key.upper(),
                f"sy-{a.key_id}-" + "0" * 48):
        assert await store.verify(bad) is None
    listed = await store.list_keys("acme")  # the database is shared by the session: other acme keys may exist
    assert a.key_id in {k.key_id for k in listed} and b.key_id not in {k.key_id for k in listed}
    assert {k.tenant for k in listed} == {"acme"}


async def test_tenant_names_are_checked(engine) -> None:
    store = ApiKeyStore(engine)
    for bad in ("", "two words", "-leading", "x" * 101, "ünï"):
        with pytest.raises(InvalidTenant):
            await store.create(bad)


async def test_revocation_is_immediate_here_and_within_the_cache_time_elsewhere(engine) -> None:
    clock = Clock()
    here, elsewhere = ApiKeyStore(engine, cache_s=5, clock=clock), ApiKeyStore(engine, cache_s=5, clock=clock)
    created = await here.create("acme")
    assert await elsewhere.verify(created.key) == "acme"  # cached in the other process from now on
    assert await here.revoke(created.key_id) and not await here.revoke(created.key_id)
    assert await here.verify(created.key) is None
    clock.now += 4.9
    assert await elsewhere.verify(created.key) == "acme"  # still inside the documented window
    clock.now += 0.2
    assert await elsewhere.verify(created.key) is None
    info = {k.key_id: k for k in await here.list_keys("acme")}[created.key_id]
    assert info.revoked_at == pytest.approx(clock.now - 5.1)
