#!/usr/bin/env bash
# Every test: unit and integration, on SQLite and on a throwaway PostgreSQL server.
# Usage: scripts/run-tests.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
exec bash scripts/with-postgres.sh ctest --test-dir "$build" --output-on-failure -j2 --timeout 600
