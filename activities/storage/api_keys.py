"""Gateway API keys: one tenant per key, stored hashed, looked up by a public key id.

A key reads ``sy-<key id: 12 hex>-<secret: 48 hex>`` (24 random bytes of secret, 192 bits, from
``secrets``). The table keeps the key id, the tenant, a label and the SHA-256 of the whole key,
never the key itself: ``switchyard keys create TENANT`` prints it once. A plain hash (no slow KDF)
is enough because the secret is random and long, not a password (OWASP's guidance on API keys).

Verification costs no query on the hot path: a key id's row is cached for ``cache_s`` seconds
(``gateway.key_cache_s``), so a revocation reaches other gateway processes within that time (at
once in the process that revoked it). Unknown ids are cached too, bounded, so random keys cannot
turn every request into a database read.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from activities.storage.tables import metadata

api_keys = sa.Table(
    "gateway_api_keys", metadata,
    sa.Column("key_id", sa.String(32), primary_key=True),
    sa.Column("tenant", sa.String(100), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False),  # sha256 hex of the whole key
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", sa.Float, nullable=False),  # unix seconds
    sa.Column("revoked_at", sa.Float, nullable=True),  # unix seconds; NULL while the key is valid
    sa.Index("ix_gateway_api_keys_tenant", "tenant"),
)

_KEY = re.compile(r"^sy-([0-9a-f]{12})-([0-9a-f]{48})$")
_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,99}$")
#: Most key ids (known or not) remembered by one process before the cache is cleared.
CACHE_MAX = 10_000


class InvalidTenant(ValueError):
    """A tenant name outside ``[A-Za-z0-9][A-Za-z0-9._-]{0,99}``."""


def check_tenant(tenant: str) -> str:
    """``tenant`` if it is a valid tenant name, else :class:`InvalidTenant`."""
    if not _TENANT.match(tenant):
        raise InvalidTenant(f"invalid tenant {tenant!r}: use 1-100 of A-Z a-z 0-9 . _ -, starting with a "
                            "letter or digit")
    return tenant


def key_hash(key: str) -> str:
    """SHA-256 hex digest of the whole key string."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_id_of(key: str) -> str | None:
    """The key id of a well-formed key, else ``None``."""
    m = _KEY.match(key)
    return m.group(1) if m else None


@dataclass(frozen=True)
class CreatedKey:
    """A new key; ``key`` is shown once and never stored."""

    key_id: str
    tenant: str
    key: str


@dataclass(frozen=True)
class KeyInfo:
    """A stored key without its secret. Times in unix seconds."""

    key_id: str
    tenant: str
    name: str
    created_at: float
    revoked_at: float | None


@dataclass(frozen=True)
class _Cached:
    row: KeyInfo | None
    key_hash: str
    fetched_at: float


class ApiKeyStore:
    """Create, verify, list and revoke gateway keys (see module docstring). ``clock``: unix s."""

    def __init__(self, engine: AsyncEngine, *, cache_s: float = 5.0, clock=time.time) -> None:
        self._engine = engine
        self.cache_s = cache_s
        self._clock = clock
        self._cache: dict[str, _Cached] = {}

    async def create(self, tenant: str, name: str = "") -> CreatedKey:
        """A new key for ``tenant``; raises :class:`InvalidTenant`."""
        check_tenant(tenant)
        key_id = secrets.token_hex(6)
        key = f"sy-{key_id}-{secrets.token_hex(24)}"
        async with self._engine.begin() as conn:
            await conn.execute(sa.insert(api_keys).values(key_id=key_id, tenant=tenant, key_hash=key_hash(key),
                                                          name=name[:200], created_at=self._clock()))
        return CreatedKey(key_id=key_id, tenant=tenant, key=key)

    async def verify(self, key: str) -> str | None:
        """The tenant of a valid, unrevoked key, else ``None``."""
        key_id = key_id_of(key)
        if key_id is None:
            return None
        cached = await self._lookup(key_id)
        if cached.row is None or cached.row.revoked_at is not None:
            return None
        return cached.row.tenant if hmac.compare_digest(cached.key_hash, key_hash(key)) else None

    async def _lookup(self, key_id: str) -> _Cached:
        now = self._clock()
        hit = self._cache.get(key_id)
        if hit is not None and now - hit.fetched_at < self.cache_s:
            return hit
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(api_keys).where(api_keys.c.key_id == key_id))).first()
        if len(self._cache) >= CACHE_MAX:
            self._cache.clear()
        entry = _Cached(row=_info(row) if row else None, key_hash=row.key_hash if row else "", fetched_at=now)
        self._cache[key_id] = entry
        return entry

    async def list_keys(self, tenant: str | None = None) -> list[KeyInfo]:
        """Every key (of ``tenant`` if given), oldest first, revoked ones included."""
        stmt = sa.select(api_keys).order_by(api_keys.c.created_at, api_keys.c.key_id)
        if tenant is not None:
            stmt = stmt.where(api_keys.c.tenant == tenant)
        async with self._engine.connect() as conn:
            return [_info(r) for r in (await conn.execute(stmt)).all()]

    async def revoke(self, key_id: str) -> bool:
        """Revoke a key by id; True if a valid key was revoked (False: unknown or already revoked)."""
        self._cache.pop(key_id, None)
        async with self._engine.begin() as conn:
            res = await conn.execute(sa.update(api_keys).where(api_keys.c.key_id == key_id,
                                                               api_keys.c.revoked_at.is_(None))
                                     .values(revoked_at=self._clock()))
        return res.rowcount == 1


def _info(row: sa.Row) -> KeyInfo:
    return KeyInfo(key_id=row.key_id, tenant=row.tenant, name=row.name, created_at=row.created_at,
                   revoked_at=row.revoked_at)
