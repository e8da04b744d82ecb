#!/usr/bin/env bash
# Runs the Chuda benchmarks several times on SQLite and PostgreSQL and prints the medians (docs/benchmarks.md).
#   bench/run.sh                      # everything, RUNS=3 (memory once)
#   RUNS=5 SCENARIOS="inproc http" STORES=sqlite bench/run.sh
#   SCENARIOS=segments SEGMENTS_ARGS="--profiles 100000 --events-per-profile 20 --part all" bench/run.sh
#   SCENARIOS=journeys JOURNEYS_ARGS="--timers 1000000" bench/run.sh
#   SCENARIOS=quartz bench/run.sh     # Quartz.NET timer peer: 20,000 triggers on SQLite, 5,000 on PostgreSQL (a run stops at
#                                     # --max-seconds 300 and reports its partial rate); QUARTZ_ARGS="--triggers 5000" for both
# Env: RUNS, SCENARIOS (inproc http lookup memory segments quartz journeys; segments, quartz and journeys are not in the default set), STORES (sqlite postgres),
#      ART (build output, default /tmp/art-bench),
#      INPROC_ARGS, HTTP_ARGS, LOOKUP_ARGS, MEMORY_ARGS, SEGMENTS_ARGS, QUARTZ_ARGS, JOURNEYS_ARGS, JOURNEYS_POSTGRES_ARGS (extra options), MEMORY_RUNS (default 1), SKIP_BUILD=1,
#      QUARTZ_POSTGRES_ARGS (appended on PostgreSQL, default "--triggers 5000": Quartz fires 30-70/s there),
#      CHUDA_BENCH_PG (use this PostgreSQL instead of starting a throw-away cluster), OUT (results directory).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
RUNS="${RUNS:-3}"
SCENARIOS="${SCENARIOS:-inproc http lookup memory}"
STORES="${STORES:-sqlite postgres}"
ART="${ART:-/tmp/art-bench}"
OUT="${OUT:-$(mktemp -d /tmp/chuda-bench-results.XXXXXX)}"
MEMORY_RUNS="${MEMORY_RUNS:-1}"
mkdir -p "$OUT"

if [[ " $SCENARIOS " == *" http "* || " $SCENARIOS " == *" memory "* ]]; then
  command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
fi
if [ "${SKIP_BUILD:-0}" != 1 ]; then
  dotnet build bench/Chuda.Bench -c Release --artifacts-path "$ART" -v quiet -clp:ErrorsOnly --nologo
fi
bench=(dotnet "$ART/bin/Chuda.Bench/release/Chuda.Bench.dll")

# A throw-away PostgreSQL with default durability (fsync and synchronous_commit on), loopback only.
if [[ " $STORES " == *" postgres "* ]] && [ -z "${CHUDA_BENCH_PG:-}" ]; then
  pgbin="$(dirname "$(compgen -G "/usr/lib/postgresql/*/bin/initdb" | sort -V | tail -n 1)")"
  pgdir="$(mktemp -d /tmp/chuda-bench-pg.XXXXXX)"
  as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  cleanup() { as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -m fast stop >/dev/null 2>&1 || true; rm -rf "$pgdir"; }
  trap cleanup EXIT
  [ "$(id -u)" -eq 0 ] && chown postgres "$pgdir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55433)
  as_pg "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$pgdir/initdb.log" 2>&1
  as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $pgdir -c max_connections=300 -c shared_buffers=512MB" start >/dev/null
  export CHUDA_BENCH_PG="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  echo "PostgreSQL ($pgbin) on 127.0.0.1:$port (fsync=on, synchronous_commit=on, shared_buffers=512MB)"
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), .NET $(dotnet --version)"
echo "results: $OUT"
for scenario in $SCENARIOS; do
  for store in $STORES; do
    runs="$RUNS"; extra=()
    case "$scenario" in
      inproc) read -r -a extra <<<"${INPROC_ARGS:-}" ;;
      http) read -r -a extra <<<"${HTTP_ARGS:-}" ;;
      lookup) read -r -a extra <<<"${LOOKUP_ARGS:-}" ;;
      memory) read -r -a extra <<<"${MEMORY_ARGS:-}"; runs="$MEMORY_RUNS" ;;
      segments) read -r -a extra <<<"${SEGMENTS_ARGS:-}" ;;
      journeys)
        read -r -a extra <<<"${JOURNEYS_ARGS:-}"
        if [ "$store" = postgres ]; then read -r -a pgextra <<<"${JOURNEYS_POSTGRES_ARGS:-}"; extra+=("${pgextra[@]}"); fi ;;
      quartz)
        read -r -a extra <<<"${QUARTZ_ARGS:-}"
        if [ "$store" = postgres ]; then read -r -a pgextra <<<"${QUARTZ_POSTGRES_ARGS:---triggers 5000}"; extra+=("${pgextra[@]}"); fi ;;
    esac
    for i in $(seq 1 "$runs"); do
      log="$OUT/$scenario-$store-$i.log"
      echo "== $scenario $store run $i/$runs (load average $(cut -d' ' -f1-3 /proc/loadavg))"
      "${bench[@]}" "$scenario" --store "$store" "${extra[@]}" 2>&1 | tee "$log" | grep -v '^RESULT' || echo "   (failed: see $log)"
    done
  done
done
echo
echo "Medians over the runs (ratio = median of the per-run figure/ceiling ratios):"
"${bench[@]}" summarize "$OUT"/*.log
