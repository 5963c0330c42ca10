#!/usr/bin/env bash
# The main job on the embedded default: install, start the embedded stack, replay the OpenAI
# 2023-11-08 chat outage in the provider simulator while business requests stream through the
# fallback chain, then print the summary. Extra arguments go to `switchyard demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
exec .venv/bin/switchyard demo "$@"
