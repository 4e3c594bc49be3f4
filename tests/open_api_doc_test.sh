#!/usr/bin/env bash
# Runs the shell blocks of docs/open-api.md (those between doc-test markers) against a
# real hutong on free loopback ports, and checks what they print.
set -euo pipefail
binary=$1
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

"$binary" serve --data-dir "$work/data" --host-listen 127.0.0.1:0 --provider-listen 127.0.0.1:0 \
  --admin-token doc-test-admin-token --access-log false >"$work/log" 2>&1 &
pid=$!
port=""
for _ in $(seq 1 200); do
  port=$(sed -n 's/.*"msg":"listening","role":"host".*"port":\([0-9]*\).*/\1/p' "$work/log" | head -n 1)
  [ -n "$port" ] && break
  sleep 0.05
done
[ -n "$port" ] || { cat "$work/log"; echo "server did not start"; exit 1; }

# The blocks, in order, as one script.
awk '/<!-- doc-test:begin -->/{on=1; next} /<!-- doc-test:end -->/{on=0; next} on && !/^```/' \
  "$root/docs/open-api.md" >"$work/doc.sh"
HOST="http://127.0.0.1:$port" ADMIN_TOKEN=doc-test-admin-token bash -euo pipefail "$work/doc.sh" >"$work/out" 2>&1 \
  || { cat "$work/out"; echo "FAIL: the documented commands failed"; exit 1; }

fail=0
expect() {
  if grep -q -- "$1" "$work/out"; then echo "ok: $2"; else echo "FAIL: $2 (no '$1')"; fail=1; fi
}
expect '^registered app_' "the app is registered"
expect '"ok":true' "a signed request is accepted"
expect '"code":"invalid_signature"' "the replayed request is refused"
expect '^webhook verified$' "a webhook signature verifies"
expect '^tampered webhook rejected$' "a tampered webhook is rejected"
[ $fail -eq 0 ] || { cat "$work/out"; exit 1; }
echo "1 passed, 0 failed"
