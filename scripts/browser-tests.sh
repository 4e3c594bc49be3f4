#!/usr/bin/env bash
# The browser tests (tests/browser/*.test.mjs): headless Chromium through the pages the host
# serves, against the real binary. Fails when Chromium or Node.js is missing, and unless
# every test ran and passed (a skipped or cancelled test is not a pass).
# Usage: scripts/browser-tests.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
start=$(date +%s)

chromium=${HUTONG_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  echo "browser tests: no Chromium at $chromium; run scripts/install-deps.sh (Debian package chromium)" >&2
  exit 1
fi
for tool in node npm; do
  if ! command -v "$tool" >/dev/null; then
    echo "browser tests: $tool is missing; run scripts/install-deps.sh (Debian packages nodejs, npm)" >&2
    exit 1
  fi
done
if [ ! -x "$build/hutong" ]; then
  echo "browser tests: no $build/hutong; build first (make build)" >&2
  exit 1
fi

# node_modules as package-lock.json pins it (npm ci only when it differs: quick when present).
wanted=$(node -p "require('./package-lock.json').packages['node_modules/playwright-core'].version")
have=$(node -p "try { require('./node_modules/playwright-core/package.json').version } catch (e) { '' }")
if [ "$wanted" != "$have" ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
HUTONG_BINARY="$build/hutong" HUTONG_CHROMIUM="$chromium" \
  node --test --test-reporter=tap tests/browser/*.test.mjs 2>&1 | tee "$out" || status=$?
count() { sed -n "s/^# $1 \([0-9]*\)$/\1/p" "$out" | tail -1; }
pass=$(count pass) fail=$(count fail) skipped=$(count skipped) todo=$(count todo) cancelled=$(count cancelled)
echo "browser tests: ${pass:-?} passed, ${fail:-?} failed, ${skipped:-?} skipped, ${cancelled:-?} cancelled" \
  "in $(($(date +%s) - start)) s" >&2
if [ "$status" -ne 0 ] || [ "${fail:-1}" != 0 ] || [ "${skipped:-1}" != 0 ] || [ "${todo:-1}" != 0 ] ||
   [ "${cancelled:-1}" != 0 ] || [ "${pass:-0}" -eq 0 ]; then
  echo "browser tests: FAILED (every browser test must run and pass)" >&2
  exit 1
fi
