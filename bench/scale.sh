#!/usr/bin/env bash
# The benchmarks at scale, run by bench/run.sh after the demo rounds: generated data
# (BENCH_SCALE deals and stores), then search and nearby (once served), durable orders,
# the flash sale and redemption on SQLite, durable orders and the flash sale on a
# throwaway PostgreSQL, with the resident set after each load. Writes a Markdown fragment
# (SCALE_MD) and the target rows (SCALE_TARGETS) for BENCHMARKS.md; raw output in RAW.
#
# Environment (set by run.sh): BIN LOAD_BIN WORK RAW SCALE_MD SCALE_TARGETS DURATION
# CONNECTIONS; knobs: BENCH_SCALE (1000000), BENCH_USERS (5000), BENCH_PG_SCALE (20000),
# BENCH_FLASH_ATTEMPTS (200000), BENCH_REDEEM_VOUCHERS (5000), BENCH_PG (1; 0 skips).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
scale=${BENCH_SCALE:-1000000}
users=${BENCH_USERS:-5000}
pg_scale=${BENCH_PG_SCALE:-20000}
flash_attempts=${BENCH_FLASH_ATTEMPTS:-200000}
redeem_vouchers=${BENCH_REDEEM_VOUCHERS:-5000}
seconds=$(awk -v d="$DURATION" 'BEGIN { n = d + 0; if (d ~ /m$/) n *= 60; print (n < 1 ? 1 : n) }')

log() { printf 'bench(scale): %s\n' "$*" >&2; }
die() { printf 'bench(scale): FAILED: %s\n' "$*" >&2; exit 1; }
jnum() { grep -o "\"$2\":[-0-9.]*" "$1" | head -n1 | cut -d: -f2; }
jstr() { grep -o "\"$2\":\"[^\"]*\"" "$1" | head -n1 | cut -d'"' -f4; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
fmt_int() { awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); o = ""
  while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }
  print s o }'; }
ms() { awk -v v="$1" 'BEGIN { if (v < 10) printf "%.2f ms", v; else printf "%.1f ms", v }'; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo "**met**"; else echo "**not met**"; fi; }
wrk_ms() {
  awk -v v="$1" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}

pid=""
stop_server() {
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
}
trap stop_server EXIT

hp="" pp=""
start_server() { # log, then serve arguments
  local out=$1
  shift
  setsid "$BIN" serve --host-listen 127.0.0.1:0 --provider-listen 127.0.0.1:0 --access-log false "$@" >"$out" 2>&1 &
  pid=$!
  for ((i = 0; i < 600; i++)); do
    hp=$(grep '"msg":"listening"' "$out" | grep '"role":"host"' | grep -o '"port":[0-9]*' | awk -F: 'NR == 1 { print $2 }' || true)
    pp=$(grep '"msg":"listening"' "$out" | grep '"role":"provider"' | grep -o '"port":[0-9]*' | awk -F: 'NR == 1 { print $2 }' || true)
    if [ -n "$hp" ] && [ -n "$pp" ] && curl -fsS -o /dev/null "http://127.0.0.1:$hp/readyz" 2>/dev/null &&
      curl -fsS -o /dev/null "http://127.0.0.1:$pp/readyz" 2>/dev/null; then
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$out" >&2
  die "hutong did not become ready ($out)"
}

md=$SCALE_MD
targets=$SCALE_TARGETS
: >"$md"
: >"$targets"

# ---------------------------------------------------------------------------------------
# SQLite at scale
data="$WORK/data-scale"
mkdir -p "$data"
log "generating $scale deals and $scale stores, $users users (SQLite)"
t0=$(date +%s.%N)
"$BIN" gen-data --data-dir "$data" --gen-deals "$scale" --gen-stores "$scale" --gen-users "$users" \
  --gen-tokens-out "$WORK/tokens.tsv" --gen-flash-units 1000 --log-level warn >"$RAW/gen-sqlite.json" 2>"$RAW/gen-sqlite.log" ||
  { cat "$RAW/gen-sqlite.log" >&2; die "gen-data failed"; }
t1=$(date +%s.%N)
gen=$RAW/gen-sqlite.json
gen_total=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
prov_s=$(awk -v m="$(jnum "$gen" provider_ms)" 'BEGIN { printf "%.1f", m / 1000 }')
host_s=$(awk -v m="$(jnum "$gen" host_ms)" 'BEGIN { printf "%.1f", m / 1000 }')
users_s=$(awk -v m="$(jnum "$gen" users_ms)" 'BEGIN { printf "%.1f", m / 1000 }')
db_mib=$(du -cm "$data"/*.db* | awk 'END { print $1 }')
order_deals=$(grep -o '"order_deal_ids":\[[^]]*\]' "$gen" | grep -o '"deal_[0-9A-Za-z]*"' | tr -d '"' | head -n 50 | paste -sd, -)
flash_deal=$(jstr "$gen" flash_deal_id)
flash_campaign=$(jstr "$gen" flash_campaign_id)

start_server "$RAW/hutong-scale.log" --data-dir "$data"
spid=$pid
rss_start=$(rss_kib "$spid")
log "serving $scale deals on host :$hp provider :$pp (RSS $(mib "$rss_start"))"

declare -A rss_after
# Search: wrk over varied queries.
# Few connections and a long timeout: at this scale a query can take seconds, and wrk
# leaves requests slower than its timeout out of the percentiles.
search_c=${BENCH_SEARCH_CONNECTIONS:-8}
log "search ($DURATION, $search_c connections)"
wrk -t1 -c"$search_c" -d"$DURATION" --timeout 30s --latency -s "$root/bench/search.lua" "http://127.0.0.1:$hp" \
  >"$RAW/wrk-search.txt" 2>&1 || die "wrk search failed"
s_rps=$(awk '/^Requests\/sec:/ {print $2}' "$RAW/wrk-search.txt")
s_p50=$(wrk_ms "$(awk '$1 == "50%" {print $2}' "$RAW/wrk-search.txt")")
s_p99=$(wrk_ms "$(awk '$1 == "99%" {print $2}' "$RAW/wrk-search.txt")")
s_non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$RAW/wrk-search.txt")
s_non2xx=${s_non2xx:-0}
s_timeouts=$(awk '/Socket errors:/ {gsub(/,/, ""); print $NF}' "$RAW/wrk-search.txt")
s_timeouts=${s_timeouts:-0}
s_reqs=$(awk '/ requests in / {print $1}' "$RAW/wrk-search.txt")
# The same queries with the searcher's position: ranked by distance, never from the cache.
log "search with a position ($DURATION, $search_c connections)"
SEARCH_NEAR=1 wrk -t1 -c"$search_c" -d"$DURATION" --timeout 30s --latency -s "$root/bench/search.lua" \
  "http://127.0.0.1:$hp" >"$RAW/wrk-search-near.txt" 2>&1 || die "wrk search with a position failed"
sn_rps=$(awk '/^Requests\/sec:/ {print $2}' "$RAW/wrk-search-near.txt")
sn_p50=$(wrk_ms "$(awk '$1 == "50%" {print $2}' "$RAW/wrk-search-near.txt")")
sn_p99=$(wrk_ms "$(awk '$1 == "99%" {print $2}' "$RAW/wrk-search-near.txt")")
sn_non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$RAW/wrk-search-near.txt")
sn_non2xx=${sn_non2xx:-0}
sn_timeouts=$(awk '/Socket errors:/ {gsub(/,/, ""); print $NF}' "$RAW/wrk-search-near.txt")
sn_timeouts=${sn_timeouts:-0}
sn_reqs=$(awk '/ requests in / {print $1}' "$RAW/wrk-search-near.txt")
rss_after[search]=$(rss_kib "$spid")
# Where a search's time goes, for the report (one more short run under perf): the searches
# with a position, the uncached path (the cached first pages are the nginx-like path).
search_profile=""
if command -v perf >/dev/null; then
  SEARCH_NEAR=1 setsid wrk -t1 -c"$search_c" -d6s --timeout 30s -s "$root/bench/search.lua" "http://127.0.0.1:$hp" >/dev/null 2>&1 &
  wp=$!
  sleep 1
  if perf record -F 499 -g -p "$spid" -o "$WORK/perf-search.data" -- sleep 4 >/dev/null 2>&1; then
    perf report -i "$WORK/perf-search.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
      awk '/^ *[0-9.]+%/ && ++n <= 12 { pct = $1; dso = $2; $1 = ""; $2 = ""; $3 = ""
        sub(/^ +/, ""); gsub(/\|/, "\\|"); if (length($0) > 90) $0 = substr($0, 1, 87) "..."
        printf "| %s | `%s` (%s) |\n", pct, $0, dso }' >"$RAW/perf-search.md" || true
    search_profile=yes
  fi
  wait "$wp" || true
fi

# Searches still running would hold the host's blocking threads: what follows starts on a
# freshly started server over the same files.
rss_peak_search=$(hwm_kib "$spid")
stop_server
start_server "$RAW/hutong-scale-2.log" --data-dir "$data"
spid=$pid

# Nearby, once the route exists on this commit.
nearby=""
if curl -fsS "http://127.0.0.1:$hp/openapi.json" 2>/dev/null | grep -q '"/api/nearby"'; then
  nearby=yes
fi
if [ -n "$nearby" ]; then
  # Varied points and radii (bench/nearby.lua); as few connections as search, so p99 is a
  # request's own time rather than the queue of 64.
  nearby_c=${BENCH_NEARBY_CONNECTIONS:-8}
  # The node loads its in-memory copy of the geo index at start and is not ready before
  # (start_server waits for /readyz). An unrecorded warm-up (BENCH_NEARBY_WARMUP; 0: none)
  # then only fills the readers' page caches, as a node in service has them.
  nearby_warmup=${BENCH_NEARBY_WARMUP:-5s}
  log "nearby warm-up ($nearby_warmup), then nearby ($DURATION, $nearby_c connections)"
  if [ "${nearby_warmup%s}" != "0" ]; then
    wrk -t1 -c"$nearby_c" -d"$nearby_warmup" --timeout 30s -s "$root/bench/nearby.lua" "http://127.0.0.1:$hp" \
      >"$RAW/wrk-nearby-warmup.txt" 2>&1 || die "wrk nearby warm-up failed"
  fi
  wrk -t1 -c"$nearby_c" -d"$DURATION" --timeout 30s --latency -s "$root/bench/nearby.lua" "http://127.0.0.1:$hp" \
    >"$RAW/wrk-nearby.txt" 2>&1 || die "wrk nearby failed"
  n_rps=$(awk '/^Requests\/sec:/ {print $2}' "$RAW/wrk-nearby.txt")
  n_p50=$(wrk_ms "$(awk '$1 == "50%" {print $2}' "$RAW/wrk-nearby.txt")")
  n_p99=$(wrk_ms "$(awk '$1 == "99%" {print $2}' "$RAW/wrk-nearby.txt")")
  n_non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$RAW/wrk-nearby.txt")
  n_non2xx=${n_non2xx:-0}
  n_timeouts=$(awk '/Socket errors:/ {gsub(/,/, ""); print $NF}' "$RAW/wrk-nearby.txt")
  n_timeouts=${n_timeouts:-0}
  n_reqs=$(awk '/ requests in / {print $1}' "$RAW/wrk-nearby.txt")
  rss_after[nearby]=$(rss_kib "$spid")
  # Where a nearby request's time goes when the target is missed (one more short run).
  nearby_profile=""
  if command -v perf >/dev/null && ! awk "BEGIN { exit !($n_p99 <= 10 && $n_non2xx == 0 && $n_timeouts == 0) }"; then
    setsid wrk -t1 -c"$nearby_c" -d6s --timeout 30s -s "$root/bench/nearby.lua" "http://127.0.0.1:$hp" >/dev/null 2>&1 &
    wp=$!
    sleep 1
    if perf record -F 499 -g -p "$spid" -o "$WORK/perf-nearby.data" -- sleep 4 >/dev/null 2>&1; then
      perf report -i "$WORK/perf-nearby.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
        awk '/^ *[0-9.]+%/ && ++n <= 12 { pct = $1; dso = $2; $1 = ""; $2 = ""; $3 = ""
          sub(/^ +/, ""); gsub(/\|/, "\\|"); if (length($0) > 90) $0 = substr($0, 1, 87) "..."
          printf "| %s | `%s` (%s) |\n", pct, $0, dso }' >"$RAW/perf-nearby.md" || true
      nearby_profile=yes
    fi
    wait "$wp" || true
  fi
fi

# Durable orders: create → pay → vouchers issued (webhook), many users.
log "orders on SQLite (${seconds}s)"
"$LOAD_BIN" orders --host "http://127.0.0.1:$hp" --provider "http://127.0.0.1:$pp" \
  --provider-db "$data/provider.db" --tokens "$WORK/tokens.tsv" --deals "$order_deals" \
  --threads 64 --seconds "$seconds" >"$RAW/orders-sqlite.json" 2>"$RAW/orders-sqlite.log" ||
  { cat "$RAW/orders-sqlite.json" "$RAW/orders-sqlite.log" >&2; die "orders benchmark failed its check"; }
rss_after[orders]=$(rss_kib "$spid")

log "flash sale on SQLite ($flash_attempts attempts)"
"$LOAD_BIN" flash --provider "http://127.0.0.1:$pp" --provider-db "$data/provider.db" --tokens "$WORK/tokens.tsv" \
  --deal "$flash_deal" --campaign "$flash_campaign" --units 1000 --attempts "$flash_attempts" --threads 64 \
  >"$RAW/flash-sqlite.json" 2>"$RAW/flash-sqlite.log" ||
  { cat "$RAW/flash-sqlite.json" "$RAW/flash-sqlite.log" >&2; die "flash sale check failed"; }
rss_after[flash]=$(rss_kib "$spid")

log "redemption on SQLite ($redeem_vouchers vouchers)"
"$LOAD_BIN" redeem --host "http://127.0.0.1:$hp" --provider "http://127.0.0.1:$pp" \
  --provider-db "$data/provider.db" --tokens "$WORK/tokens.tsv" --vouchers "$redeem_vouchers" --threads 32 \
  >"$RAW/redeem-sqlite.json" 2>"$RAW/redeem-sqlite.log" ||
  { cat "$RAW/redeem-sqlite.json" "$RAW/redeem-sqlite.log" >&2; die "redemption check failed"; }
rss_after[redeem]=$(rss_kib "$spid")
rss_peak=$(hwm_kib "$spid")
[ "$rss_peak_search" -le "$rss_peak" ] || rss_peak=$rss_peak_search
stop_server

# ---------------------------------------------------------------------------------------
# PostgreSQL: durable orders and the flash sale (a smaller catalogue; the path is the same).
pg_done=""
if [ "${BENCH_PG:-1}" != 0 ]; then
  log "PostgreSQL: generating $pg_scale deals, $users users; orders and flash sale"
  cat >"$WORK/pg-part.sh" <<EOF
set -euo pipefail
u="\$HUTONG_TEST_PG_URL"
psql "\$u" -Atc "SHOW synchronous_commit; SHOW fsync; SHOW server_version;" >"$RAW/pg-settings.txt"
hdb="\$u?schema=bench_host"; pdb="\$u?schema=bench_provider"
mkdir -p "$WORK/data-pg"
"$BIN" gen-data --data-dir "$WORK/data-pg" --host-db "\$hdb" --provider-db "\$pdb" --gen-deals $pg_scale \
  --gen-stores $pg_scale --gen-users $users --gen-tokens-out "$WORK/tokens-pg.tsv" --gen-flash-units 1000 \
  --log-level warn >"$RAW/gen-pg.json" 2>"$RAW/gen-pg.log"
setsid "$BIN" serve --data-dir "$WORK/data-pg" --host-db "\$hdb" --provider-db "\$pdb" --host-listen 127.0.0.1:0 \
  --provider-listen 127.0.0.1:0 --access-log false >"$RAW/hutong-pg.log" 2>&1 &
p=\$!
trap 'kill -TERM \$p 2>/dev/null || true; wait \$p 2>/dev/null || true' EXIT
for i in \$(seq 1 300); do
  hp=\$(grep '"msg":"listening"' "$RAW/hutong-pg.log" | grep '"role":"host"' | grep -o '"port":[0-9]*' | awk -F: 'NR == 1 { print \$2 }' || true)
  pp=\$(grep '"msg":"listening"' "$RAW/hutong-pg.log" | grep '"role":"provider"' | grep -o '"port":[0-9]*' | awk -F: 'NR == 1 { print \$2 }' || true)
  if [ -n "\$hp" ] && [ -n "\$pp" ] && curl -fsS -o /dev/null "http://127.0.0.1:\$pp/readyz" 2>/dev/null; then break; fi
  sleep 0.1
done
deals=\$(grep -o '"order_deal_ids":\[[^]]*\]' "$RAW/gen-pg.json" | grep -o '"deal_[0-9A-Za-z]*"' | tr -d '"' | head -n 50 | paste -sd, -)
"$LOAD_BIN" orders --host "http://127.0.0.1:\$hp" --provider "http://127.0.0.1:\$pp" --provider-db "\$pdb" \
  --tokens "$WORK/tokens-pg.tsv" --deals "\$deals" --threads 64 --seconds $seconds >"$RAW/orders-pg.json" 2>"$RAW/orders-pg.log"
fd=\$(grep -o '"flash_deal_id":"[^"]*"' "$RAW/gen-pg.json" | cut -d'"' -f4)
fc=\$(grep -o '"flash_campaign_id":"[^"]*"' "$RAW/gen-pg.json" | cut -d'"' -f4)
"$LOAD_BIN" flash --provider "http://127.0.0.1:\$pp" --provider-db "\$pdb" --tokens "$WORK/tokens-pg.tsv" \
  --deal "\$fd" --campaign "\$fc" --units 1000 --attempts $flash_attempts --threads 64 \
  >"$RAW/flash-pg.json" 2>"$RAW/flash-pg.log"
awk '/^VmRSS:/ {print \$2}' /proc/\$p/status >"$RAW/pg-rss.txt"
EOF
  if bash "$root/scripts/with-postgres.sh" bash "$WORK/pg-part.sh" 2>"$RAW/pg-part.log"; then
    pg_done=yes
  else
    log "PostgreSQL part failed (bench/out/pg-part.log); reported as not measured"
    tail -n 20 "$RAW/pg-part.log" >&2 || true
  fi
fi

# ---------------------------------------------------------------------------------------
# Report fragment
o=$RAW/orders-sqlite.json
f=$RAW/flash-sqlite.json
r=$RAW/redeem-sqlite.json
o_rate=$(jnum "$o" complete_per_second)
f_rej=$(jnum "$f" rejected_per_second)
rss_max=0
for k in "${!rss_after[@]}"; do [ "${rss_after[$k]}" -gt "$rss_max" ] && rss_max=${rss_after[$k]}; done
[ "$rss_peak" -gt "$rss_max" ] && rss_max=$rss_peak
{
  echo "| Complete purchases on SQLite (synchronous=FULL): ≥ 10,000/s | $(fmt_int "$o_rate")/s complete (create → pay → vouchers), p99 create $(ms "$(jnum "$o" create_p99_ms)"), pay $(ms "$(jnum "$o" pay_p99_ms)") | $(verdict "$o_rate >= 10000") |"
  if [ -n "$pg_done" ]; then
    op=$RAW/orders-pg.json
    echo "| Complete purchases on PostgreSQL (synchronous_commit=on, fsync=on): ≥ 3,000/s | $(fmt_int "$(jnum "$op" complete_per_second)")/s, p99 create $(ms "$(jnum "$op" create_p99_ms)"), pay $(ms "$(jnum "$op" pay_p99_ms)") | $(verdict "$(jnum "$op" complete_per_second) >= 3000") |"
  else
    echo "| Complete purchases on PostgreSQL: ≥ 3,000/s | not measured (see below) | **not met** |"
  fi
  echo "| Zero oversold units, zero lost paid orders | SQLite: $(jnum "$o" paid) paid, $(jnum "$o" paid_with_vouchers) with vouchers; flash sale sold $(jnum "$f" sold_in_db) of 1,000 in the database | $(verdict "$(jnum "$o" paid) == $(jnum "$o" paid_with_vouchers) && $(jnum "$f" sold_in_db) == 1000") |"
  echo "| Flash sale: exactly 1,000 sold of ≥ 200,000 attempts, rejections ≥ 50,000/s | $(fmt_int "$(jnum "$f" attempts)") attempts, $(jnum "$f" sold_in_db) sold, rejections $(fmt_int "$f_rej")/s, p99 $(ms "$(jnum "$f" p99_ms)") | $(verdict "$(jnum "$f" sold_in_db) == 1000 && $f_rej >= 50000") |"
  echo "| Search over $(fmt_int "$scale") deals: p99 ≤ 10 ms; ≥ 50× Vendure's ~940 req/s = 47,000 req/s | p99 $(ms "$s_p99"), $(fmt_int "$s_rps") req/s without position (cached first pages); p99 $(ms "$sn_p99"), $(fmt_int "$sn_rps") req/s with position (uncached); $((s_timeouts + sn_timeouts)) wrk timeouts | $(verdict "$s_p99 <= 10 && $sn_p99 <= 10 && $s_rps >= 47000 && $sn_rps >= 47000 && $s_timeouts == 0 && $sn_timeouts == 0") |"
  if [ -n "$nearby" ]; then
    echo "| Nearby over $(fmt_int "$scale") stores: p99 ≤ 10 ms | p99 $(ms "$n_p99"), $(fmt_int "$n_rps") req/s, $n_non2xx non-2xx, $n_timeouts wrk timeouts | $(verdict "$n_p99 <= 10 && $n_non2xx == 0 && $n_timeouts == 0") |"
  else
    echo "| Nearby over $(fmt_int "$scale") stores: p99 ≤ 10 ms | not measured: this commit serves no \`GET /api/nearby\` | **not met** |"
  fi
  echo "| Resident memory ≤ 256 MiB with $(fmt_int "$scale") deals stored | peak $(mib "$rss_max") (VmHWM) over all loads | $(verdict "$rss_max <= 262144") |"
} >"$targets"

{
  echo "## At scale: $(fmt_int "$scale") deals and $(fmt_int "$scale") stores"
  echo
  echo "Generated by \`hutong gen-data --gen-deals $scale --gen-stores $scale --gen-users $users --gen-flash-units 1000\`"
  echo "(BENCH_SCALE) into fresh SQLite files, then served by the current binary with the same flags as"
  echo "above. Loads are driven by wrk (search) and by \`hutong_load\` (bench/load.cpp: keep-alive HTTP, one"
  echo "connection per thread and server, every latency kept), whose checks read the databases afterwards."
  echo
  echo "### Data generation and import"
  echo
  echo "| what | rows | time | rows/s |"
  echo "|---|---:|---:|---:|"
  echo "| provider: brands, stores, deals, deal_stores (CreateStore/CreateDeal, 20,000 per transaction) | $(fmt_int "$((scale * 3))") | ${prov_s} s | $(fmt_int "$(awk -v n="$scale" -v s="$prov_s" 'BEGIN { print 3 * n / s }')") |"
  echo "| host: app_deals and the search index (UpsertAppDeals, as a sync) | $(fmt_int "$((scale * 2))") | ${host_s} s | $(fmt_int "$(awk -v n="$scale" -v s="$host_s" 'BEGIN { print 2 * n / s }')") |"
  echo "| $(fmt_int "$users") bench users with host and mini-program sessions | $(fmt_int "$((users * 6))") | ${users_s} s | — |"
  echo
  echo "Whole command ${gen_total} s (demo seeding included); both SQLite files together: ${db_mib} MiB."
  echo
  echo "### Search — \`GET /api/search\` (host), 30 varied queries"
  echo
  echo "wrk \`-t1 -c$search_c -d$DURATION --timeout 30s -s bench/search.lua\` (brands, dishes, districts, some with city or"
  echo "category filters; each query's first page of 20)."
  echo
  echo "Then the same queries with the searcher's position (\`SEARCH_NEAR=1\`: lat/lng around the cities'"
  echo "districts, different per request): ranked by distance, never served from the first-page cache."
  echo
  echo "| queries | req/s | p50 | p99 | requests | non-2xx | wrk timeouts (> 2 s, not in the percentiles) |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  echo "| without position (first pages cached up to 1 s) | $(fmt_int "$s_rps") | $(ms "$s_p50") | $(ms "$s_p99") | $(fmt_int "$s_reqs") | $s_non2xx | $s_timeouts |"
  echo "| with position (uncached) | $(fmt_int "$sn_rps") | $(ms "$sn_p50") | $(ms "$sn_p99") | $(fmt_int "$sn_reqs") | $sn_non2xx | $sn_timeouts |"
  echo
  if [ -n "$search_profile" ]; then
    echo "Profile of the server during search with a position (\`perf record -F 499 -g\`, self time):"
    echo
    echo "| share | function |"
    echo "|---:|---|"
    cat "$RAW/perf-search.md"
    echo
  fi
  if [ -n "$nearby" ]; then
    echo "### Nearby — \`GET /api/nearby\` (host), 2,000 varied points"
    echo
    echo "wrk \`-t1 -c$nearby_c -d$DURATION --timeout 30s -s bench/nearby.lua\` (points in the districts where the"
    echo "stores are, anywhere in the three cities and anywhere in eastern China; radius 1–5 km, a quarter with a"
    echo "category; each point's first page of 20), after an unrecorded $nearby_warmup run on a freshly started server."
    echo
    echo "| req/s | p50 | p99 | requests | non-2xx | wrk timeouts |"
    echo "|---:|---:|---:|---:|---:|---:|"
    echo "| $(fmt_int "$n_rps") | $(ms "$n_p50") | $(ms "$n_p99") | $(fmt_int "$n_reqs") | $n_non2xx | $n_timeouts |"
    echo
    if [ -n "$nearby_profile" ]; then
      echo "Profile of the server during nearby (\`perf record -F 499 -g\`, self time):"
      echo
      echo "| share | function |"
      echo "|---:|---|"
      cat "$RAW/perf-nearby.md"
      echo
    fi
  fi
  echo "### Durable orders — create → pay → vouchers issued"
  echo
  echo "64 threads, each a different bench user per order (round robin over $(fmt_int "$users")), for ${seconds} s:"
  echo "\`POST /mp/v1/orders\` (provider: stock reserved, order written, the host's pay order created over the"
  echo "signed open API), then \`POST /api/cashier/{id}/pay\` (host: wallet debited, payment.succeeded queued in"
  echo "the same transaction); the provider issues vouchers when the webhook arrives. A purchase counts as"
  echo "complete when its vouchers are in the database; the rate is complete purchases over the time from the"
  echo "first request until the last voucher was written."
  echo
  echo "| database | durability | complete/s | paid/s (load phase) | create p50 / p99 | pay p50 / p99 | purchase p99 | paid | with vouchers |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  echo "| SQLite 3.40 | WAL, synchronous=FULL (every commit fsynced) | $(fmt_int "$o_rate") | $(fmt_int "$(jnum "$o" paid_per_second)") | $(ms "$(jnum "$o" create_p50_ms)") / $(ms "$(jnum "$o" create_p99_ms)") | $(ms "$(jnum "$o" pay_p50_ms)") / $(ms "$(jnum "$o" pay_p99_ms)") | $(ms "$(jnum "$o" flow_p99_ms)") | $(jnum "$o" paid) | $(jnum "$o" paid_with_vouchers) |"
  if [ -n "$pg_done" ]; then
    op=$RAW/orders-pg.json
    echo "| PostgreSQL $(sed -n 3p "$RAW/pg-settings.txt" | cut -d' ' -f1) ($(fmt_int "$pg_scale") deals) | synchronous_commit=$(sed -n 1p "$RAW/pg-settings.txt"), fsync=$(sed -n 2p "$RAW/pg-settings.txt") | $(fmt_int "$(jnum "$op" complete_per_second)") | $(fmt_int "$(jnum "$op" paid_per_second)") | $(ms "$(jnum "$op" create_p50_ms)") / $(ms "$(jnum "$op" create_p99_ms)") | $(ms "$(jnum "$op" pay_p50_ms)") / $(ms "$(jnum "$op" pay_p99_ms)") | $(ms "$(jnum "$op" flow_p99_ms)") | $(jnum "$op" paid) | $(jnum "$op" paid_with_vouchers) |"
  fi
  echo
  echo "Statuses (SQLite): \`$(grep -o '"statuses":{[^}]*}' "$o")\`"
  echo
  echo "### Flash sale — 1,000 units, $(fmt_int "$flash_attempts") attempts"
  echo
  echo "A campaign deal with 1,000 units (per-user limit 1); 64 threads send \`POST /mp/v1/orders\` for it from"
  echo "the bench users in turn until $(fmt_int "$flash_attempts") attempts were made. Sold units are counted in the"
  echo "database afterwards (orders of the campaign not cancelled, and the campaign's stock_left)."
  echo
  echo "| database | attempts/s | accepted | rejected (409) | rejections/s | p50 | p99 | rejection p99 | sold (database) | stock left |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for db in sqlite pg; do
    ff=$RAW/flash-$db.json
    [ -s "$ff" ] || continue
    name=SQLite
    [ "$db" = sqlite ] || name=PostgreSQL
    echo "| $name | $(fmt_int "$(jnum "$ff" attempts_per_second)") | $(jnum "$ff" accepted) | $(fmt_int "$(jnum "$ff" rejected)") | $(fmt_int "$(jnum "$ff" rejected_per_second)") | $(ms "$(jnum "$ff" p50_ms)") | $(ms "$(jnum "$ff" p99_ms)") | $(ms "$(jnum "$ff" rejected_p99_ms)") | $(jnum "$ff" sold_in_db) | $(jnum "$ff" stock_left_in_db) |"
  done
  echo
  echo "### Redemption — prepare + redeem (SQLite)"
  echo
  echo "$(jnum "$r" vouchers) vouchers of the demo brand 湊湊 (bought and paid first by the bench users), redeemed"
  echo "by its staff at one store from 32 threads: \`POST /merchant/v1/vouchers/prepare\` then"
  echo "\`POST /merchant/v1/vouchers/redeem\` for each."
  echo
  echo "| redemptions/s | prepare p50 / p99 | redeem p50 / p99 | prepare + redeem p99 | redeemed (database) |"
  echo "|---:|---:|---:|---:|---:|"
  echo "| $(fmt_int "$(jnum "$r" redemptions_per_second)") | $(ms "$(jnum "$r" prepare_p50_ms)") / $(ms "$(jnum "$r" prepare_p99_ms)") | $(ms "$(jnum "$r" redeem_p50_ms)") / $(ms "$(jnum "$r" redeem_p99_ms)") | $(ms "$(jnum "$r" both_p99_ms)") | $(jnum "$r" redeemed_in_db) |"
  echo
  echo "### Memory with $(fmt_int "$scale") deals"
  echo
  echo "| moment | resident set (VmRSS) |"
  echo "|---|---:|"
  echo "| after start | $(mib "$rss_start") |"
  echo "| peak during search (VmHWM; the server is restarted after it) | $(mib "$rss_peak_search") |"
  echo "| after search | $(mib "${rss_after[search]}") |"
  [ -z "$nearby" ] || echo "| after nearby | $(mib "${rss_after[nearby]}") |"
  echo "| after orders | $(mib "${rss_after[orders]}") |"
  echo "| after the flash sale | $(mib "${rss_after[flash]}") |"
  echo "| after redemption | $(mib "${rss_after[redeem]}") |"
  echo "| peak (VmHWM) | $(mib "$rss_peak") |"
  if [ -n "$pg_done" ]; then
    echo "| PostgreSQL node after its loads | $(mib "$(cat "$RAW/pg-rss.txt")") |"
  fi
  echo
} >"$md"
log "done"
