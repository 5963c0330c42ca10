"""Rate-limit buckets in Redis: one hash per bucket (``tokens``, ``ts``), one Lua script per decision.

The script runs :func:`core.ratelimit.take_all` / :func:`core.ratelimit.charge` atomically on the
server (Redis runs a script without interleaving other commands), on the server's clock (``TIME``),
so every gateway replica sees one clock. Each hash expires once a full refill would have happened
(``capacity / rate`` seconds), so idle buckets cost no memory. Numbers come back as strings
(Redis truncates Lua numbers to integers).
"""

from __future__ import annotations

import math

import redis.asyncio as redis
from redis.exceptions import RedisError

from activities.admission.store import StoreUnavailable
from core.ratelimit import BucketSpec, Decision

PREFIX = "switchyard:rl:"

#: KEYS: bucket hashes; ARGV[1]: "take" or "charge"; then capacity, rate/s, cost per bucket.
#: Returns {allowed 0/1, wait s, level 1, level 2, ...} (wait -1: a cost above its capacity).
SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local mode = ARGV[1]
local levels = {}
local wait = 0
for i = 1, #KEYS do
  local cap, rate, cost = tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i]), tonumber(ARGV[3*i+1])
  local s = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local level = cap
  if s[1] then level = math.min(cap, tonumber(s[1]) + math.max(0, now - tonumber(s[2])) * rate) end
  levels[i] = level
  if mode == 'take' and level < cost then
    if cost > cap or rate <= 0 then wait = -1 elseif wait >= 0 then wait = math.max(wait, (cost - level) / rate) end
  end
end
local allowed = (mode == 'charge') or (wait == 0)
local out = {allowed and 1 or 0, tostring(wait)}
for i = 1, #KEYS do
  local cap, rate, cost = tonumber(ARGV[3*i-1]), tonumber(ARGV[3*i]), tonumber(ARGV[3*i+1])
  local level = levels[i]
  if allowed then
    level = math.min(cap, level - cost)
    redis.call('HSET', KEYS[i], 'tokens', tostring(level), 'ts', tostring(now))
    redis.call('PEXPIRE', KEYS[i], math.ceil(cap / rate * 1000) + 1000)
  end
  out[#out + 1] = tostring(level)
end
return out
"""


class RedisRateStore:
    """:class:`activities.admission.store.RateStore` on Redis at ``url`` (or a given client)."""

    name = "redis"

    def __init__(self, url: str, client: redis.Redis | None = None) -> None:
        self._redis = client or redis.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
        self._script = self._redis.register_script(SCRIPT)

    async def take(self, specs: list[BucketSpec]) -> Decision:
        """See :meth:`RateStore.take`."""
        allowed, wait, levels = await self._run("take", specs)
        return Decision(allowed=allowed, retry_after_s=math.inf if wait < 0 else wait, levels=levels)

    async def charge(self, specs: list[BucketSpec]) -> None:
        """See :meth:`RateStore.charge`."""
        await self._run("charge", specs)

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()

    async def _run(self, mode: str, specs: list[BucketSpec]) -> tuple[bool, float, dict[str, float]]:
        args: list[str] = [mode]
        for s in specs:
            args += [repr(s.capacity), repr(s.rate_per_s), repr(s.cost)]
        try:
            out = await self._script(keys=[PREFIX + s.key for s in specs], args=args)
        except (RedisError, OSError) as e:
            raise StoreUnavailable(f"rate-limit Redis: {type(e).__name__}") from e
        levels = {s.key: float(v) for s, v in zip(specs, out[2:], strict=True)}
        return bool(int(out[0])), float(out[1]), levels
