#!/usr/bin/env bash
# Hutong's HTTP benchmarks: builds a Release binary of the working tree and of the
# previous commit, serves the demo with both and the same bytes with nginx, loads each
# with wrk in alternating runs, and writes BENCHMARKS.md. Run through `make bench`.
#
# Environment:
#   BENCH_DURATION     wrk duration of each measured run (default 10s)
#   BENCH_ROUNDS       alternating rounds; the table keeps each target's best (default 2)
#   BENCH_CONNECTIONS  wrk connections (default 64; one wrk thread)
#   BENCH_WARMUP       wrk warm-up before each measured run, not recorded (default 2s; 0 = none)
#   BENCH_CURRENT      a commit to measure instead of the working tree (e.g. HEAD)
#   BENCH_PREV_REF     the commit to compare with (default HEAD~1, or BENCH_CURRENT~1;
#                      "none" skips it)
#   BENCH_PROFILE      auto (default: perf-profile deal detail when its target is missed),
#                      1 (always) or 0 (never); needs perf (Debian package linux-perf)
#   BENCH_OUT          where the report goes (default BENCHMARKS.md at the repository root)
#   BENCH_SCALE        deals and stores generated for the benchmarks at scale (default 1000000;
#                      0 skips them: bench/scale.sh, which lists its own knobs)
#   JOBS               build parallelism (default 2)
# Raw wrk output, server logs and the nginx configuration are kept in bench/out/.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

duration=${BENCH_DURATION:-10s}
rounds=${BENCH_ROUNDS:-2}
connections=${BENCH_CONNECTIONS:-64}
warmup=${BENCH_WARMUP:-2s}
prev_ref=${BENCH_PREV_REF:-HEAD~1}
report=${BENCH_OUT:-$root/BENCHMARKS.md}
jobs=${JOBS:-2}
raw="$root/bench/out"
started_at=$SECONDS

# Messages go to the original stderr (fd 3), even from a trap that fires while a command's
# output is redirected to a file.
exec 3>&2
log() { printf 'bench: %s\n' "$*" >&3; }
die() { printf 'bench: FAILED: %s\n' "$*" >&3; exit 1; }

for tool in cmake curl wrk nginx git setsid awk; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/install-deps.sh)"
done
case "$rounds" in '' | *[!0-9]* | 0) die "BENCH_ROUNDS must be a positive integer" ;; esac

# ---------------------------------------------------------------------------------------
# Process bookkeeping: everything long-lived is started with setsid, so that its pid is
# also its process group and the whole group (nginx workers, make's compilers) can be
# stopped. The EXIT trap stops whatever is still running, even after a failure.
work=$(mktemp -d /tmp/hutong-bench.XXXXXX)
chmod 755 "$work" # nginx workers may run as nobody and must reach the served files
tracked=()
worktree=""

stop_group() { # pid [timeout seconds]; SIGTERM to the group, SIGKILL after the timeout
  local pid=$1 limit=${2:-15} i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  log "pid $pid still running after ${limit}s; killing it"
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

untrack() {
  local pid=$1 keep=() p
  for p in "${tracked[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  tracked=("${keep[@]}")
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${tracked[@]}"; do stop_group "$pid" 5; done
  if [ -n "$worktree" ]; then
    git worktree remove --force "$worktree" >/dev/null 2>&1 || true
    git worktree prune >/dev/null 2>&1 || true
    rm -rf "$worktree"
  fi
  if [ -d "$raw" ]; then
    cp "$work"/*.log "$work"/nginx/nginx.conf "$work"/nginx/error.log "$raw"/ 2>/dev/null || true
  fi
  rm -rf "$work"
  if [ "$rc" -ne 0 ]; then log "exit status $rc; raw output in bench/out/"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command in its own process group and waits for it (so a signal to this script
# still reaches it through cleanup). Returns the command's status.
run_tracked() {
  setsid "$@" &
  local pid=$!
  tracked+=("$pid")
  local rc=0
  wait "$pid" || rc=$?
  untrack "$pid"
  return "$rc"
}

rm -rf "$raw"
mkdir -p "$raw"

# ccache: relative paths make objects of unchanged files reusable between the working
# tree and the previous commit's worktree (build-prev/src.*/, the same depth below the
# root); the precompiled header of the HTTP layer needs the sloppiness.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$root}
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros}

# ---------------------------------------------------------------------------------------
# Builds

build_hutong() { # source_dir build_dir log [targets...]
  local src=$1 dir=$2 out=$3
  shift 3
  local targets=("${@:-hutong}")
  run_tracked cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release >"$out" 2>&1 &&
    run_tracked cmake --build "$dir" -j"$jobs" --target "${targets[@]}" >>"$out" 2>&1
}

# Builds a commit in a temporary worktree under build-prev/ and keeps its binary as
# build-prev/hutong-<sha> (reused by later runs). Sets built_bin, or built_note on failure.
built_bin=""
built_note=""
build_commit() { # sha what log
  local sha=$1 what=$2 out=$3
  built_bin="$root/build-prev/hutong-$sha"
  built_note=""
  if [ -x "$built_bin" ]; then
    log "$what ${sha:0:12}: reusing build-prev/$(basename "$built_bin")"
    return 0
  fi
  # A commit that failed once fails again: remembered, so each run does not pay for it.
  if [ -f "$built_bin.failed" ]; then
    built_note="$(cat "$built_bin.failed") (remembered from an earlier run; delete build-prev/$(basename "$built_bin").failed to retry)"
    built_bin=""
    return 1
  fi
  log "building $what ${sha:0:12} (Release) in a temporary worktree"
  mkdir -p "$root/build-prev"
  worktree=$(mktemp -d "$root/build-prev/src.XXXXXX")
  if ! git worktree add --detach --quiet "$worktree" "$sha" >"$out" 2>&1; then
    built_note="could not create a worktree of it"
  elif [ ! -f "$worktree/CMakeLists.txt" ] || ! grep -q 'add_executable(hutong' "$worktree/CMakeLists.txt"; then
    built_note="it has no hutong executable to benchmark"
  elif build_hutong "$worktree" "$worktree/build-release" "$out"; then
    cp "$worktree/build-release/hutong" "$built_bin.tmp"
    mv "$built_bin.tmp" "$built_bin"
    # Keep the four most recent binaries.
    find "$root/build-prev" -maxdepth 1 -name 'hutong-*' -printf '%T@ %p\n' |
      sort -rn | tail -n +5 | cut -d' ' -f2- | xargs -r rm -f
  else
    tail -n 20 "$out" >&2
    built_note="it failed to build: $(grep -m1 -E 'error:|Error ' "$out" | sed "s|$worktree/||g; s/^ *//" | cut -c1-160)"
    echo "$built_note" >"$built_bin.failed"
  fi
  git worktree remove --force "$worktree" >/dev/null 2>&1 || true
  git worktree prune >/dev/null 2>&1 || true
  rm -rf "$worktree"
  worktree=""
  if [ -n "$built_note" ]; then
    built_bin=""
    return 1
  fi
}

# Current: the working tree (what a developer is changing), or a commit if BENCH_CURRENT
# names one (a reproducible record while the working tree is someone's work in progress).
head_sha=$(git rev-parse HEAD)
dirty=""
if [ -n "${BENCH_CURRENT:-}" ]; then
  cur_sha=$(git rev-parse --verify -q "${BENCH_CURRENT}^{commit}") || die "BENCH_CURRENT=$BENCH_CURRENT is not a commit"
  build_commit "$cur_sha" "the current commit ($BENCH_CURRENT)" "$work/build-current.log" ||
    die "$BENCH_CURRENT (${cur_sha:0:12}): $built_note"
  cur_bin=$built_bin
  cur_source="commit \`${cur_sha:0:12}\` (BENCH_CURRENT=$BENCH_CURRENT)"
else
  cur_sha=$head_sha
  if [ -n "$(git status --porcelain --untracked-files=normal -- src CMakeLists.txt web 2>/dev/null)" ]; then
    dirty="yes"
  fi
  log "building the working tree (Release) into build-release"
  if ! build_hutong "$root" "$root/build-release" "$work/build-current.log" hutong hutong_load; then
    tail -n 40 "$work/build-current.log" >&2
    die "the working tree does not build (log: bench/out/build-current.log)"
  fi
  cur_bin="$root/build-release/hutong"
  cur_source="the working tree at \`${head_sha:0:12}\`${dirty:+ **plus uncommitted changes in src/**}"
fi
cur_subject=$(git log -1 --format=%s "$cur_sha")

# Previous: BENCH_PREV_REF, by default the commit before HEAD (before BENCH_CURRENT if set).
if [ -z "${BENCH_PREV_REF:-}" ] && [ -n "${BENCH_CURRENT:-}" ]; then
  prev_ref="${BENCH_CURRENT}~1"
fi
prev_sha=""
prev_subject=""
prev_bin=""
prev_note=""
if [ "$prev_ref" = "none" ]; then
  prev_note="comparison with a previous commit skipped (BENCH_PREV_REF=none)"
elif ! prev_sha=$(git rev-parse --verify -q "${prev_ref}^{commit}"); then
  prev_sha=""
  prev_note="$prev_ref does not exist (first commit?); no previous binary to compare with"
else
  prev_subject=$(git log -1 --format=%s "$prev_sha")
  if build_commit "$prev_sha" "the previous commit ($prev_ref)" "$work/build-prev.log"; then
    prev_bin=$built_bin
  else
    prev_note="$prev_ref (${prev_sha:0:12}): $built_note"
  fi
fi
[ -z "$prev_note" ] || log "NOTE: $prev_note"
same_server_code=""
if [ -n "$prev_bin" ] && [ -z "$dirty" ] && git diff --quiet "$prev_sha" "$cur_sha" -- src CMakeLists.txt web; then
  same_server_code="yes"
fi

# ---------------------------------------------------------------------------------------
# Servers
declare -A pid_of host_port_of provider_port_of deal_of

start_hutong() { # name binary
  local name=$1 bin=$2 data="$work/data-$1" out="$work/hutong-$1.log"
  mkdir -p "$data"
  if ! "$bin" seed-demo --data-dir "$data" >"$work/seed-$name.log" 2>&1; then
    cat "$work/seed-$name.log" >&2
    return 1
  fi
  setsid "$bin" serve --data-dir "$data" --host-listen 127.0.0.1:0 \
    --provider-listen 127.0.0.1:0 --access-log false >"$out" 2>&1 &
  local pid=$!
  tracked+=("$pid")
  pid_of[$name]=$pid
  # Port 0 lets the kernel choose; the "listening" log lines say which port each role got.
  local i hp="" pp=""
  for ((i = 0; i < 300; i++)); do
    hp=$(grep '"msg":"listening"' "$out" | grep '"role":"host"' | grep -o '"port":[0-9]*' | awk -F: 'NR == 1 { print $2 }' || true)
    pp=$(grep '"msg":"listening"' "$out" | grep '"role":"provider"' | grep -o '"port":[0-9]*' | awk -F: 'NR == 1 { print $2 }' || true)
    if [ -n "$hp" ] && [ -n "$pp" ] &&
      curl -fsS -o /dev/null "http://127.0.0.1:$hp/readyz" 2>/dev/null &&
      curl -fsS -o /dev/null "http://127.0.0.1:$pp/readyz" 2>/dev/null; then
      host_port_of[$name]=$hp
      provider_port_of[$name]=$pp
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  tail -n 20 "$out" >&2
  return 1
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
nginx_rss_kib() { # master plus workers
  local total=0 p r
  for p in "$1" $(pgrep -P "$1" 2>/dev/null || true); do
    r=$(rss_kib "$p")
    total=$((total + ${r:-0}))
  done
  echo "$total"
}

log "seeding the demo and starting hutong (current)"
if ! start_hutong current "$cur_bin"; then
  # Seen here: a source edited while it compiled leaves an object older than its source
  # but newer than its timestamp says, and the binary crashes; make cannot notice.
  [ -n "${BENCH_CURRENT:-}" ] ||
    log "hint: if the sources changed during the build, remove build-release and run again"
  die "hutong (current) did not become ready (log: bench/out/hutong-current.log, seed-current.log)"
fi
servers=(current)
if [ -n "$prev_bin" ]; then
  log "seeding the demo and starting hutong (previous)"
  if start_hutong previous "$prev_bin"; then
    servers+=(previous)
  else
    prev_note="hutong of $prev_ref (${prev_sha:0:12}) did not start with today's command line or never became ready"
    log "NOTE: $prev_note"
    stop_group "${pid_of[previous]}" 5
    untrack "${pid_of[previous]}"
  fi
fi

# The deal benchmarked: the first of the list (the demo seeds in a fixed order, so each
# server's first deal is the same deal under its own id).
first_deal() {
  curl -fsS "http://127.0.0.1:$1/mp/v1/deals" | grep -o '"id":"deal_[0-9A-Za-z]*"' |
    awk -F'"' 'NR == 1 { print $4 }'
}
for s in "${servers[@]}"; do
  deal_of[$s]=$(first_deal "${provider_port_of[$s]}") || true
  [ -n "${deal_of[$s]}" ] || die "no deal id in GET /mp/v1/deals of hutong ($s)"
done

# The exact bytes nginx will serve: the current binary's responses.
www="$work/www"
mkdir -p "$www"
cur_pp=${provider_port_of[current]}
curl -fsS -o "$www/deal.json" "http://127.0.0.1:$cur_pp/mp/v1/deals/${deal_of[current]}"
curl -fsS -o "$www/deals.json" "http://127.0.0.1:$cur_pp/mp/v1/deals"
curl -fsS -o "$work/feed.json" "http://127.0.0.1:${host_port_of[current]}/api/feed"
chmod 644 "$www"/*.json
chmod 755 "$www"

# nginx with a configuration of its own, on a random free port (retried if taken).
mkdir -p "$work/nginx/tmp"
nginx_port=""
for _ in 1 2 3 4 5 6 7 8; do
  port=$((20000 + RANDOM % 30000))
  cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 2;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  types { }
  default_type application/json;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 75s;
  keepalive_requests 100000000;
  client_body_temp_path $work/nginx/tmp/body;
  proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi;
  uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  server {
    listen 127.0.0.1:$port reuseport;
    location = /mp/v1/deals { alias $www/deals.json; }
    location = /mp/v1/deals/${deal_of[current]} { alias $www/deal.json; }
  }
}
EOF
  setsid nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" >"$work/nginx.log" 2>&1 &
  npid=$!
  tracked+=("$npid")
  for ((i = 0; i < 50; i++)); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/mp/v1/deals" 2>/dev/null; then
      nginx_port=$port
      break
    fi
    kill -0 "$npid" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$nginx_port" ] && break
  stop_group "$npid" 5
  untrack "$npid"
done
[ -n "$nginx_port" ] || { cat "$work/nginx/error.log" "$work/nginx.log" >&2 2>/dev/null || true; die "nginx did not start"; }

# Same bytes, same content type.
for pair in "deals/${deal_of[current]}:deal.json" "deals:deals.json"; do
  path=${pair%%:*}
  file=${pair#*:}
  curl -fsS -o "$work/nginx-$file" -D "$work/nginx-$file.headers" "http://127.0.0.1:$nginx_port/mp/v1/$path"
  cmp -s "$www/$file" "$work/nginx-$file" || die "nginx's /mp/v1/$path differs from hutong's bytes"
  grep -qi '^content-type: application/json' "$work/nginx-$file.headers" || die "nginx's /mp/v1/$path is not application/json"
done
log "nginx on 127.0.0.1:$nginx_port serves byte-identical copies"

# Every target answers 200 before it is loaded; a previous binary that does not is noted.
declare -A skip
url_of() { # endpoint server
  local ep=$1 s=$2
  case "$s:$ep" in
    nginx:detail) echo "http://127.0.0.1:$nginx_port/mp/v1/deals/${deal_of[current]}" ;;
    nginx:list) echo "http://127.0.0.1:$nginx_port/mp/v1/deals" ;;
    *:detail) echo "http://127.0.0.1:${provider_port_of[$s]}/mp/v1/deals/${deal_of[$s]}" ;;
    *:list) echo "http://127.0.0.1:${provider_port_of[$s]}/mp/v1/deals" ;;
    *:feed) echo "http://127.0.0.1:${host_port_of[$s]}/api/feed" ;;
  esac
}
declare -A body_bytes
endpoints=(detail list feed)
for ep in "${endpoints[@]}"; do
  for s in "${servers[@]}"; do
    code=$(curl -sS -o "$work/probe-$ep-$s" -w '%{http_code}' "$(url_of "$ep" "$s")" || echo 000)
    body_bytes[$ep:$s]=$(wc -c <"$work/probe-$ep-$s")
    if [ "$code" != 200 ]; then
      [ "$s" = current ] && die "hutong (current) answers $code to $(url_of "$ep" "$s")"
      skip[$ep:$s]="answers HTTP $code"
      log "NOTE: hutong ($s) answers $code to $ep; not benchmarked"
    fi
  done
done

# ---------------------------------------------------------------------------------------
# Load
rss_before_current=$(rss_kib "${pid_of[current]}")
rss_before_previous=""
[ -z "${pid_of[previous]:-}" ] || rss_before_previous=$(rss_kib "${pid_of[previous]}")
nginx_rss_before=$(nginx_rss_kib "$npid")

results="$work/results.tsv" # endpoint server round rps p50_ms p99_ms requests non2xx socket_errors cpu_us_per_request
: >"$results"

# wrk prints latencies as 812.00us, 1.23ms, 1.02s or 1.50m; the table wants milliseconds.
wrk_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}

# CPU time (user + system, clock ticks) of a server: the process, or nginx's master and
# workers. Per request it is a figure a shared machine disturbs far less than req/s.
tick=$(getconf CLK_TCK)
cpu_ticks() { # server
  local pids p total=0 t
  if [ "$1" = nginx ]; then
    pids="$npid $(pgrep -P "$npid" 2>/dev/null || true)"
  else
    pids=${pid_of[$1]}
  fi
  for p in $pids; do
    # Fields after the parenthesised command name: utime and stime are the 12th and 13th.
    t=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | awk '{ print $12 + $13 }')
    total=$((total + ${t:-0}))
  done
  echo "$total"
}

measure() { # endpoint server round
  local ep=$1 s=$2 r=$3 url out
  url=$(url_of "$ep" "$s")
  out="$raw/wrk-$ep-$s-r$r.txt"
  if [ "$warmup" != 0 ] && [ "$warmup" != 0s ]; then
    run_tracked wrk -t1 -c"$connections" -d"$warmup" "$url" >/dev/null 2>&1 || true
  fi
  log "round $r: $ep on $s ($duration)"
  local cpu0 cpu1
  cpu0=$(cpu_ticks "$s")
  run_tracked wrk -t1 -c"$connections" -d"$duration" --latency "$url" >"$out" 2>&1 ||
    die "wrk failed against $s ($url): $(cat "$out")"
  cpu1=$(cpu_ticks "$s")
  local rps p50 p99 reqs non2xx errs
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  p50=$(awk '$1 == "50%" {print $2}' "$out")
  p99=$(awk '$1 == "99%" {print $2}' "$out")
  reqs=$(awk '/ requests in / {print $1}' "$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
  errs=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
  if [ -z "$rps" ] || [ -z "$p50" ] || [ -z "$p99" ]; then die "could not read wrk's output: $out"; fi
  non2xx=${non2xx:-0}
  errs=${errs:-0}
  local cpu_us
  cpu_us=$(awk -v d=$((cpu1 - cpu0)) -v t="$tick" -v n="$reqs" 'BEGIN { printf "%.1f", (n > 0 ? d * 1e6 / t / n : 0) }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ep" "$s" "$r" "$rps" "$(wrk_ms "$p50")" \
    "$(wrk_ms "$p99")" "$reqs" "$non2xx" "$errs" "$cpu_us" >>"$results"
  if [ "$non2xx" != 0 ]; then
    if [ "$s" = current ] || [ "$s" = nginx ]; then
      die "$s answered $non2xx non-2xx responses to $url under load (see $out)"
    fi
    log "WARNING: hutong ($s) answered $non2xx non-2xx responses to $ep"
  fi
}

# How busy the CPUs are while our servers sit idle: what other processes take from the
# measurements (the machine may be shared). Percent of all cores, over one second.
cpu_busy_pct() {
  local a b
  a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ")
    busy = y[1] - x[1]; total = busy + y[2] - x[2]
    printf "%.0f", (total > 0 ? 100 * busy / total : 0) }'
}
busy_samples=()

for ((round = 1; round <= rounds; round++)); do
  busy_samples+=("$(cpu_busy_pct)")
  for ep in "${endpoints[@]}"; do
    targets=()
    [ "$ep" = feed ] || targets+=(nginx)
    for s in "${servers[@]}"; do [ -n "${skip[$ep:$s]:-}" ] || targets+=("$s"); done
    for s in "${targets[@]}"; do measure "$ep" "$s" "$round"; done
  done
done

# A missed deal-detail target is explained with a profile: one more run of the same load
# with perf sampling the current server (BENCH_PROFILE=0 skips it, 1 forces it).
profile_note=""
profile_done=""
want_profile=${BENCH_PROFILE:-auto}
if [ "$want_profile" = auto ]; then
  d_rps_now=$(awk -F'\t' '$1 == "detail" && $2 == "current" && $4 > m { m = $4 } END { print m + 0 }' "$results")
  n_rps_now=$(awk -F'\t' '$1 == "detail" && $2 == "nginx" && $4 > m { m = $4 } END { print m + 0 }' "$results")
  if awk -v d="$d_rps_now" -v n="$n_rps_now" 'BEGIN { exit !(d < 0.9 * n) }'; then want_profile=1; else want_profile=0; fi
fi
if [ "$want_profile" = 1 ]; then
  if ! command -v perf >/dev/null; then
    profile_note="perf is not installed (Debian package linux-perf); no profile"
  else
    log "profiling deal detail on current with perf ($duration)"
    url=$(url_of detail current)
    setsid wrk -t1 -c"$connections" -d"$duration" "$url" >"$raw/wrk-profile.txt" 2>&1 &
    wpid=$!
    tracked+=("$wpid")
    sleep 1
    secs=$(awk -v d="$duration" 'BEGIN { n = d + 0; if (d ~ /m$/) n *= 60; n -= 2; print (n < 1 ? 1 : n) }')
    if run_tracked perf record -F 499 -g -p "${pid_of[current]}" -o "$work/perf.data" -- sleep "$secs" \
      >"$work/perf-record.log" 2>&1; then
      profile_done="yes"
    else
      profile_note="perf record failed: $(tail -n1 "$work/perf-record.log")"
    fi
    wait "$wpid" || true
    untrack "$wpid"
  fi
fi

busy_samples+=("$(cpu_busy_pct)")
busy_max=$(printf '%s\n' "${busy_samples[@]}" | sort -n | tail -n1)
rss_after_current=$(rss_kib "${pid_of[current]}")
rss_after_previous=""
[ -z "${pid_of[previous]:-}" ] || rss_after_previous=$(rss_kib "${pid_of[previous]}")
nginx_rss_after=$(nginx_rss_kib "$npid")
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# Graceful stop: hutong must exit 0 on SIGTERM.
declare -A exit_of
for s in "${servers[@]}"; do
  pid=${pid_of[$s]}
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  rc=0
  wait "$pid" || rc=$?
  untrack "$pid"
  exit_of[$s]=$rc
  [ "$rc" = 0 ] || log "WARNING: hutong ($s) exited $rc on SIGTERM"
done
stop_group "$npid" 10
untrack "$npid"

# ---------------------------------------------------------------------------------------
# At scale (bench/scale.sh): generated data, search, nearby, orders, flash sale,
# redemption, memory; with the current binary only.
scale_md="$work/scale.md"
scale_targets="$work/scale-targets.md"
scale_note=""
if [ "${BENCH_SCALE:-1000000}" = 0 ]; then
  scale_note="skipped (BENCH_SCALE=0)"
else
  load_bin="$(dirname "$cur_bin")/hutong_load"
  if [ -n "${BENCH_CURRENT:-}" ]; then
    # A commit's worktree is gone after its build; its load client is built from the tree.
    build_hutong "$root" "$root/build-release" "$work/build-load.log" hutong_load || die "hutong_load does not build"
    load_bin="$root/build-release/hutong_load"
  fi
  log "benchmarks at scale (BENCH_SCALE=${BENCH_SCALE:-1000000})"
  if ! BIN="$cur_bin" LOAD_BIN="$load_bin" WORK="$work" RAW="$raw" SCALE_MD="$scale_md" \
    SCALE_TARGETS="$scale_targets" DURATION="$duration" CONNECTIONS="$connections" \
    run_tracked bash "$root/bench/scale.sh"; then
    die "the benchmarks at scale failed (see the messages above and bench/out/)"
  fi
fi

# ---------------------------------------------------------------------------------------
# Report
best() { # endpoint server field  (field of the round with the most requests/s)
  awk -F'\t' -v ep="$1" -v s="$2" -v f="$3" '
    $1 == ep && $2 == s && ($4 + 0 > best || !seen) { best = $4 + 0; v = $f; seen = 1 }
    END { if (seen) print v }' "$results"
}
fmt_int() { awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); o = ""
  while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) }
  print s o }'; }
fmt_ms() { awk -v v="$1" 'BEGIN { if (v < 10) printf "%.2f ms", v; else printf "%.1f ms", v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "—" }'; }
mib() { awk -v k="$1" 'BEGIN { if (k == "") print "—"; else printf "%.1f MiB", k / 1024 }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }

label() {
  case $1 in
    nginx) echo "nginx (static file, same bytes)" ;;
    current) echo "hutong ${cur_sha:0:7}${dirty:+ + uncommitted}" ;;
    previous) echo "hutong ${prev_sha:0:7} (previous)" ;;
  esac
}

table() { # endpoint; the feed has no nginx twin, so no comparison columns
  local ep=$1 s cmp="yes" rows=()
  [ "$ep" != feed ] || cmp=""
  local base="" nginx_p99=""
  if [ -n "$cmp" ]; then
    base=$(best "$ep" nginx 4)
    nginx_p99=$(best "$ep" nginx 6)
    rows+=(nginx)
    echo "| server | req/s | p50 | p99 | req/s vs nginx | p99 − nginx's | server CPU per request | requests | errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  else
    echo "| server | req/s | p50 | p99 | server CPU per request | requests | errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
  fi
  rows+=(current)
  [ -z "$prev_sha" ] || rows+=(previous)
  for s in "${rows[@]}"; do
    local rps p50 p99 reqs non2xx errs vs d99 e cpu
    rps=$(best "$ep" "$s" 4)
    if [ -z "$rps" ]; then
      local why="see Setup"
      [ -z "${skip[$ep:$s]:-}" ] || why=${skip[$ep:$s]}
      echo "| $(label "$s") | not measured ($why) |"
      continue
    fi
    p50=$(best "$ep" "$s" 5)
    p99=$(best "$ep" "$s" 6)
    reqs=$(best "$ep" "$s" 7)
    non2xx=$(best "$ep" "$s" 8)
    errs=$(best "$ep" "$s" 9)
    cpu="$(best "$ep" "$s" 10) µs"
    e="0"
    [ "$non2xx" = 0 ] || e="$non2xx non-2xx"
    [ "$errs" = 0 ] || e="$e, $errs socket"
    if [ -n "$cmp" ]; then
      vs=$(ratio "$rps" "$base")
      d99=$(awk -v a="$p99" -v b="$nginx_p99" 'BEGIN { printf "%+.2f ms", a - b }')
      [ "$s" != nginx ] || d99="—"
      echo "| $(label "$s") | $(fmt_int "$rps") | $(fmt_ms "$p50") | $(fmt_ms "$p99") | $vs | $d99 | $cpu | $(fmt_int "$reqs") | $e |"
    else
      echo "| $(label "$s") | $(fmt_int "$rps") | $(fmt_ms "$p50") | $(fmt_ms "$p99") | $cpu | $(fmt_int "$reqs") | $e |"
    fi
  done
}

met() { if "$@"; then echo "**met**"; else echo "**not met**"; fi; }

d_rps=$(best detail current 4)
d_p99=$(best detail current 6)
n_rps=$(best detail nginx 4)
n_p99=$(best detail nginx 6)
l_rps=$(best list current 4)
detail_rps_verdict=$(met ge "$d_rps" "$(awk -v n="$n_rps" 'BEGIN { print 0.9 * n }')")
detail_p99_verdict=$(met ge "$(awk -v n="$n_p99" 'BEGIN { print n + 1 }')" "$d_p99")
list_verdict=$(met ge "$l_rps" 17000)

cpu_model=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
ram=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
wrk_version=$(wrk --version 2>&1 | awk 'NR == 1 { print $1, $2 }' || true)
nginx_version=$(nginx -v 2>&1 | sed 's/^nginx version: nginx\///')
cxx_version=$(c++ --version 2>/dev/null | awk 'NR == 1' || true)
elapsed=$((SECONDS - started_at))

{
  echo "# Hutong benchmarks"
  echo
  echo "Generated by \`make bench\` (\`bash bench/run.sh\`) on $(date -u '+%Y-%m-%d %H:%M UTC'). Do not edit by"
  echo "hand: run it again. Targets are those of DESIGN.md (\"Targets\"); issue 6 lists the suite."
  echo
  echo "## Setup"
  echo
  echo "- Machine: $(nproc) cores, $cpu_model, $ram RAM, Linux $(uname -r)."
  echo "  CPU taken by other processes: $(printf '%s%%, ' "${busy_samples[@]}" | sed 's/, $//') of all cores"
  echo "  (1 s samples with our servers idle, before each round and after the last); load"
  echo "  average $load_end at the end."
  if [ "$busy_max" -ge 10 ]; then
    echo "  **The machine was shared during this run**: absolute figures are depressed and noisy;"
    echo "  the ratios between servers measured in the same round are the sturdier figures."
  fi
  echo "- Current: $cur_source, \"$cur_subject\"."
  if [ -n "$prev_sha" ]; then
    echo "- Previous: \`${prev_sha:0:12}\` \"$prev_subject\" ($prev_ref)${same_server_code:+; its src/ is identical to the current one, so the two rows measure the same server}."
  fi
  [ -z "$prev_note" ] || echo "- **Previous commit not benchmarked:** $prev_note."
  echo "- Binaries built with \`cmake -DCMAKE_BUILD_TYPE=Release\` ($cxx_version); each serves the"
  echo "  demo seeded into its own temporary SQLite data dir: \`hutong serve --host-listen 127.0.0.1:0"
  echo "  --provider-listen 127.0.0.1:0 --access-log false\` (I/O threads: one per core)."
  echo "- nginx $nginx_version: \`worker_processes 2\`, \`access_log off\`, \`sendfile on\`,"
  echo "  \`listen 127.0.0.1:PORT reuseport\`, serving the current binary's exact response bytes"
  echo "  as files at the same paths with \`default_type application/json\` (checked byte-identical)."
  echo "- Load: $wrk_version \`wrk -t1 -c$connections -d$duration --latency URL\`, all on loopback,"
  echo "  wrk sharing the $(nproc) cores with the server. $rounds round(s); in each round every endpoint"
  echo "  runs nginx, current, previous one after the other (a ${warmup} warm-up run before"
  echo "  each measured run is discarded). Each row is that server's best round by requests/s;"
  echo "  every run is listed under \"All runs\"."
  echo "- Server CPU per request: user + system CPU time of the server (hutong's process, or"
  echo "  nginx's master and workers) during the measured run, from \`/proc/PID/stat\`, divided by"
  echo "  the requests served. Other load on the machine disturbs it much less than req/s."
  echo "- Bodies: deal detail ${body_bytes[detail:current]} bytes (deal \`${deal_of[current]}\`, the first"
  echo "  of the list), deal list ${body_bytes[list:current]} bytes, feed ${body_bytes[feed:current]} bytes."
  echo
  echo "## Targets"
  echo
  echo "| target (DESIGN.md) | measured | verdict |"
  echo "|---|---|---|"
  echo "| Deal detail: ≥ 90% of nginx's requests/s on the same bytes | $(fmt_int "$d_rps") vs $(fmt_int "$n_rps") req/s = $(ratio "$d_rps" "$n_rps"); server CPU per request $(best detail current 10) vs $(best detail nginx 10) µs = $(ratio "$(best detail nginx 10)" "$(best detail current 10)") of nginx's efficiency | $detail_rps_verdict |"
  echo "| Deal detail: p99 within 1 ms of nginx's | $(fmt_ms "$d_p99") vs $(fmt_ms "$n_p99") | $detail_p99_verdict |"
  echo "| Deal list (10 deals, price and live stock): ≥ 100× Vendure's ~170 req/s = 17,000 req/s | $(fmt_int "$l_rps") req/s ($(awk -v a="$l_rps" 'BEGIN { printf "%.0f", a / 170 }')× Vendure) | $list_verdict |"
  [ ! -s "$scale_targets" ] || cat "$scale_targets"
  echo
  echo "## Deal detail — \`GET /mp/v1/deals/{id}\` (provider)"
  echo
  table detail
  echo
  echo "## Deal list — \`GET /mp/v1/deals\` (provider)"
  echo
  table list
  echo
  echo "nginx here only shows the ceiling for these bytes; the target is absolute (17,000 req/s)."
  echo
  echo "## Feed — \`GET /api/feed\` (host)"
  echo
  echo "No DESIGN target; hutong only."
  echo
  table feed
  echo
  if [ -n "$profile_done" ] || [ -n "$profile_note" ]; then
    echo "## Profile of deal detail (current)"
    echo
    if [ -n "$profile_done" ]; then
      echo "\`perf record -F 499 -g\` on the current server during one more deal-detail run of the same"
      echo "load (\`perf report --no-children\`; samples of all its threads):"
      echo
      echo "| share | library |"
      echo "|---:|---|"
      # awk reads to the end and counts, so that no writer dies of SIGPIPE under pipefail.
      perf report -i "$work/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null |
        awk '/^ *[0-9.]+%/ && ++n <= 10 { printf "| %s | %s |\n", $1, $2 }' || true
      echo
      echo "| share | function (self) |"
      echo "|---:|---|"
      perf report -i "$work/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null |
        awk '/^ *[0-9.]+%/ && ++n <= 25 { pct = $1; dso = $2; $1 = ""; $2 = ""; $3 = ""
          sub(/^ +/, ""); sub(/( +-)* *$/, ""); gsub(/\|/, "\\|")
          if (length($0) > 110) $0 = substr($0, 1, 107) "..."
          printf "| %s | `%s` (%s) |\n", pct, $0, dso }' || true
      echo
      echo "Children view (where time goes including callees) is in \`bench/out/perf-children.txt\`."
      perf report -i "$work/perf.data" --children --sort dso,symbol --stdio -g none 2>/dev/null |
        awk '/^ *[0-9.]+%/ && ++n <= 100 { gsub(/  +/, " "); print substr($0, 1, 200) }' >"$raw/perf-children.txt" || true
    else
      echo "Not taken: $profile_note."
    fi
    echo
  fi
  echo "## Memory"
  echo
  echo "Resident set (VmRSS from \`/proc/PID/status\`) with the demo data set (17 deals):"
  echo
  echo "| process | after start | after all load |"
  echo "|---|---:|---:|"
  echo "| $(label current) | $(mib "$rss_before_current") | $(mib "$rss_after_current") |"
  if [ -n "$rss_before_previous" ]; then
    echo "| $(label previous) | $(mib "$rss_before_previous") | $(mib "$rss_after_previous") |"
  fi
  echo "| nginx (master + workers) | $(mib "$nginx_rss_before") | $(mib "$nginx_rss_after") |"
  echo
  for s in "${servers[@]}"; do
    echo "- hutong ($s) exited ${exit_of[$s]} on SIGTERM after the load."
  done
  echo
  if [ -s "$scale_md" ]; then
    cat "$scale_md"
  else
    echo "## At scale"
    echo
    echo "Not measured: ${scale_note:-see the messages of bench/run.sh}."
    echo
  fi
  if [ -f "$root/bench/NOTES.md" ]; then
    cat "$root/bench/NOTES.md"
    echo
  fi
  echo "## All runs"
  echo
  echo "| round | endpoint | server | req/s | p50 | p99 | server CPU per request | requests | non-2xx | socket errors |"
  echo "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' '{ printf "| %s | %s | %s | %.0f | %.2f ms | %.2f ms | %s µs | %s | %s | %s |\n", $3, $1, $2, $4, $5, $6, $10, $7, $8, $9 }' "$results"
  echo
  echo "Total run time of \`bench/run.sh\`: ${elapsed} s (including builds)."
} >"$report"

cp "$results" "$raw/results.tsv"
log "wrote ${report#"$root"/} in ${elapsed}s"
log "deal detail: $(fmt_int "$d_rps") req/s vs nginx $(fmt_int "$n_rps") ($(ratio "$d_rps" "$n_rps")), p99 $(fmt_ms "$d_p99") vs $(fmt_ms "$n_p99"); deal list: $(fmt_int "$l_rps") req/s"
