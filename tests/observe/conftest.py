"""Fixtures for the observability tests: the gateway fixtures of ``tests/gateway`` (simulator,
gateway on a real Temporal dev server and database)."""

from __future__ import annotations

from tests.gateway.conftest import chat, gateway_under_test, no_cooldowns, sim  # noqa: F401
