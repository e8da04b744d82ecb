#!/usr/bin/env bash
# Installs what the tests need (idempotently), starts a throw-away PostgreSQL on loopback, runs every test
# project and ends with one line: "N passed, N failed".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

log() { printf '\n== %s\n' "$*"; }

# ---- 1. system packages (Debian) ---------------------------------------------------------------
need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
[ -x /usr/bin/chromium ] || need+=(chromium chromium-driver)   # the console's browser tests (Playwright drives it)
[ -d /usr/share/fonts/truetype/wqy ] || need+=(fonts-wqy-zenhei)       # CJK glyphs, so the Chinese screenshots can be read
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# ---- 2. npm packages for real protocol peers (lock file, offline-safe after first install) --------
# tests/peers: @segment/analytics-node; tests/Chuda.Channels.Tests/peers: standardwebhooks (signature reference), smpp (the SMSC
# script), web-push-testing (a Web Push service that decrypts what we send), maildev and
# smtp-server (SMTP peers; the delivery kill -9 test uses them too).
for peers in tests/peers tests/Chuda.Channels.Tests/peers; do
  if [ -f "$peers/package-lock.json" ]; then
    if [ ! -d "$peers/node_modules" ] || [ "$peers/package-lock.json" -nt "$peers/node_modules/.package-lock.json" ]; then
      log "npm ci ($peers)"
      (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error)
    fi
  fi
done

# ---- 2b. the operator console (web/): type-check and build it; the browser tests serve web/dist ------------------------
if [ ! -d web/node_modules ] || [ web/package-lock.json -nt web/node_modules/.package-lock.json ]; then
  log "npm ci (web)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
fi
log "console build (web)"
weblog="$(mktemp /tmp/chuda-web.XXXXXX)"
(cd web && npm run --silent build >"$weblog" 2>&1) || { cat "$weblog"; rm -f "$weblog"; echo "0 passed, 1 failed"; exit 1; }
rm -f "$weblog"

# ---- 3. a throw-away PostgreSQL cluster on loopback --------------------------------------------
pgbin="$(dirname "$(compgen -G "/usr/lib/postgresql/*/bin/initdb" | sort -V | tail -n 1)")"
pgdir="$(mktemp -d /tmp/chuda-pg.XXXXXX)"
cleanup() {
  if [ -f "$pgdir/data/postmaster.pid" ]; then
    as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "$pgdir"
}
trap cleanup EXIT
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$pgdir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 55432)
log "PostgreSQL ($pgbin) on 127.0.0.1:$port"
as_pg "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$pgdir/initdb.log" 2>&1 \
  || { cat "$pgdir/initdb.log"; echo "0 passed, 1 failed"; exit 1; }
as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $pgdir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null \
  || { cat "$pgdir/server.log"; echo "0 passed, 1 failed"; exit 1; }
export CHUDA_TEST_PG="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres;Pooling=true"

# ---- 4. build and test -------------------------------------------------------------------------
log "dotnet test"
out="$(mktemp /tmp/chuda-test.XXXXXX)"
set +e
dotnet test Chuda.slnx -c Release --nologo -v quiet -clp:ErrorsOnly 2>&1 | tee "$out"
status=${PIPESTATUS[0]}
set -e

passed=$(grep -oE 'Passed: +[0-9]+' "$out" | awk '{s+=$2} END {print s+0}')
failed=$(grep -oE 'Failed: +[0-9]+' "$out" | awk '{s+=$2} END {print s+0}')
projects=$(find tests -name '*.Tests.csproj' | wc -l)
summaries=$(grep -cE 'Passed!|Failed!' "$out" || true)
rm -f "$out"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi          # build error or crashed test host
if [ "$summaries" -lt "$projects" ] && [ "$failed" -eq 0 ]; then failed=1; fi # a test project did not report
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
