# Every test: unit and integration, on SQLite and on a throwaway PostgreSQL server, then
# the browser tests (headless Chromium through the pages the host serves).
# Usage: scripts/run-tests.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
bash scripts/with-postgres.sh ctest --test-dir "$build" --output-on-failure -j2 --timeout 600
bash scripts/browser-tests.sh "$build"
