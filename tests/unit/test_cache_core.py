"""The pure cache rules (``core/cache.py``): key normalisation, what may be cached, tiered TTLs, and
config errors naming the bad field."""

from __future__ import annotations

import pytest
import yaml

from core.cache import CacheConfig, cache_key, request_digest, uncacheable_answer, uncacheable_request
from core.chat import ChatRequest, ChatResponse
from tests.configs import sim_config_dict
from worker.config_loader import ConfigError, parse_config

BASE = {"messages": [{"role": "user", "content": "Where is order 123?"}], "max_tokens": 50}


def digest(**change) -> str:
    return request_digest(ChatRequest.model_validate({**BASE, **change}))


def answer(finish: str = "stop") -> ChatResponse:
    return ChatResponse.model_validate({"id": "x", "created": 1, "model": "m", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": finish}]})


def test_key_ignores_only_fields_that_do_not_change_the_answer() -> None:
    assert digest(model="gpt-4o", user="u", metadata={"a": "b"}, stream=True) == digest()
    changed = [digest(temperature=0.0), digest(seed=1), digest(stop="x"), digest(n=2), digest(top_p=0.9),
               digest(max_tokens=51), digest(response_format={"type": "json_object"}),
               digest(messages=[{"role": "user", "content": "Where is order 124?"}])]
    assert len({digest(), *changed}) == len(changed) + 1
    assert cache_key("r", "acme", digest()) != cache_key("r", "globex", digest())
    assert cache_key("r", "acme", digest()) != cache_key("r2", "acme", digest())


def test_never_cached_answers_and_nondeterministic_requests() -> None:
    cfg = CacheConfig(mode="exact", max_temperature=0.5)
    assert uncacheable_answer(answer(), [], rescued=False) is None
    assert uncacheable_answer(answer("tool_calls"), [], rescued=False) is None
    for finish in ("length", "content_filter"):
        assert uncacheable_answer(answer(finish), [], rescued=False) == f"finish_reason {finish}"
    assert uncacheable_answer(answer(), ["invalid_json"], rescued=False)
    assert uncacheable_answer(answer(), [], rescued=True) == "rescued stream"
    assert uncacheable_request(None, cfg) is None and uncacheable_request(0.5, cfg) is None
    assert uncacheable_request(0.7, cfg) is not None
    assert uncacheable_request(0.7, cfg.model_copy(update={"allow_nondeterministic": True})) is None
    assert uncacheable_request(0.0, CacheConfig()) == "route cache off"


def test_tiered_ttls() -> None:
    cfg = CacheConfig(mode="exact", ttl_s=60, popular_after_hits=3, popular_ttl_s=3600)
    assert [cfg.ttl(h) for h in (0, 2, 3, 10)] == [60, 60, 3600, 3600]
    assert CacheConfig(mode="exact", evergreen_ttl_s=86_400).ttl(0) == 86_400


def test_bad_cache_block_names_the_field() -> None:
    data = sim_config_dict("http://127.0.0.1:1")
    data["routes"]["support_reply"]["cache"] = {"mode": "exact", "ttl_s": -1, "stale_if_errors": 5}
    with pytest.raises(ConfigError) as err:
        parse_config(yaml.safe_dump(data))
    text = "\n".join(err.value.problems)
    assert "routes.support_reply.cache.ttl_s" in text and "routes.support_reply.cache.stale_if_errors" in text
    data["routes"]["support_reply"]["cache"] = {"mode": False}  # YAML's bare `off`
    assert parse_config(yaml.safe_dump(data)).routes["support_reply"].cache.mode == "off"
