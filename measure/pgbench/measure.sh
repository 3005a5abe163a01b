#!/usr/bin/env bash
# Measure a real PostgreSQL server under pgbench's simple-update workload (pgbench -N, scale 1),
# closed loop with think time 0, at several client counts, and write the points in surge's
# calibration CSV format (docs: /work/shared/reference/calibration.md §4; README.md here).
#
#   sudo measure/pgbench/measure.sh            # defaults: clients 1..64, 5 s warm-up + 30 s each
#   sudo measure/pgbench/measure.sh --quick    # smoke test: 2 s warm-up + 5 s each
#
# Environment: CLIENTS ("1 2 4 8 16 32 64", spaces or commas), DURATION (30), WARMUP (5),
# FIT_MAX (4: role=fit at or below, holdout above), SCALE (1), PGBENCH_PORT (54329),
# OUT_DIR (this directory), WORK_PARENT (/var/tmp).
#
# Runs as root. Installs postgresql + postgresql-contrib from Debian when missing, starts a
# private cluster as the postgres user in a temporary directory (unix socket only: no TCP), and
# removes it at the end whatever happens. Output: OUT_DIR/points.csv and OUT_DIR/raw/, both
# replaced atomically.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
HELPER="$HERE/pgbench_level.py"

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
die() { echo "measure.sh: error: $*" >&2; exit 2; }

QUICK=0
for arg in "$@"; do
    case "$arg" in
        --quick) QUICK=1 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument '$arg' (expected --quick or --help)" ;;
    esac
done

if [[ $QUICK == 1 ]]; then
    DURATION="${DURATION:-5}"
    WARMUP="${WARMUP:-2}"
else
    DURATION="${DURATION:-30}"
    WARMUP="${WARMUP:-5}"
fi
CLIENTS="${CLIENTS:-1 2 4 8 16 32 64}"
CLIENTS="${CLIENTS//,/ }"
FIT_MAX="${FIT_MAX:-4}"
SCALE="${SCALE:-1}"
PORT="${PGBENCH_PORT:-54329}"
OUT_DIR="${OUT_DIR:-$HERE}"
WORK_PARENT="${WORK_PARENT:-/var/tmp}"
TAIL=2   # seconds pgbench keeps running after the window closes

is_pos_int() { [[ "$1" =~ ^[1-9][0-9]*$ ]]; }
is_pos_int "$DURATION" || die "DURATION='$DURATION': expected a positive whole number of seconds"
is_pos_int "$WARMUP" || die "WARMUP='$WARMUP': expected a positive whole number of seconds"
is_pos_int "$SCALE" || die "SCALE='$SCALE': expected a positive integer"
is_pos_int "$PORT" || die "PGBENCH_PORT='$PORT': expected a port number"
[[ "$FIT_MAX" =~ ^[0-9]+$ ]] || die "FIT_MAX='$FIT_MAX': expected a whole number of clients"
[[ -n "${CLIENTS// /}" ]] || die "CLIENTS is empty: expected client counts such as '1 2 4 8'"
for c in $CLIENTS; do
    is_pos_int "$c" || die "CLIENTS: '$c' is not a positive integer (CLIENTS='$CLIENTS')"
    (( c <= 90 )) || die "CLIENTS: $c exceeds the default max_connections (100) less reserved slots"
done
[[ $EUID -eq 0 ]] || die "must run as root (it installs packages and runs the server as 'postgres')"
command -v python3 >/dev/null || die "python3 is required for the helper $HELPER"

log() { echo "[$(date -u +%H:%M:%S)] $*"; }

# --- install ---------------------------------------------------------------------------------
find_pgbin() {
    # the highest major version that has the server, initdb and pgbench (compared numerically)
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/postgres" && -x "$d/pgbench" && -x "$d/initdb" ]] || continue
        local v="${d#/usr/lib/postgresql/}"; v="${v%/bin}"
        local bv="${best#/usr/lib/postgresql/}"; bv="${bv%/bin}"
        (( v >= bv )) && best="$d"
    done
    echo "$best"
}
PGBIN="$(find_pgbin)"
if [[ -z "$PGBIN" ]]; then
    log "installing postgresql and postgresql-contrib from Debian"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y --no-install-recommends postgresql postgresql-contrib; then
        apt-get update
        apt-get install -y --no-install-recommends postgresql postgresql-contrib
    fi
    PGBIN="$(find_pgbin)"
    [[ -n "$PGBIN" ]] || die "postgresql installed but no /usr/lib/postgresql/*/bin/{postgres,pgbench,initdb}"
fi
id postgres >/dev/null 2>&1 || die "the 'postgres' user does not exist (the Debian package creates it)"
NPROC="$(nproc)"

# --- private cluster, removed on exit --------------------------------------------------------
WORK="$(mktemp -d "$WORK_PARENT/surge-pgbench.XXXXXX")"
DATA="$WORK/data"
SOCK="$WORK/sock"
LOGS="$WORK/txlogs"
RAW="$WORK/raw"
mkdir -p "$SOCK" "$LOGS" "$RAW" "$WORK/levels"
chown postgres:postgres "$WORK" "$SOCK"
chmod 700 "$WORK"
SERVER_UP=0
HELPER_PID=""

as_pg() { runuser -u postgres -- "$@"; }
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ -n $HELPER_PID ]] && kill -0 "$HELPER_PID" 2>/dev/null; then
        kill -TERM "$HELPER_PID" 2>/dev/null || true   # it stops its pgbench and psql
        wait "$HELPER_PID" 2>/dev/null || true
    fi
    if [[ $SERVER_UP == 1 ]]; then
        as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null 2>&1 \
            || as_pg "$PGBIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK" "$OUT_DIR/raw.new" "$OUT_DIR/points.csv.tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

STARTED="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
LOADAVG_START="$(cut -d' ' -f1-3 /proc/loadavg)"
total_s=0
for c in $CLIENTS; do total_s=$(( total_s + WARMUP + DURATION + TAIL + 1 )); done
log "PostgreSQL binaries: $PGBIN; nproc=$NPROC; load average $LOADAVG_START"
log "levels: $CLIENTS (warm-up ${WARMUP}s + window ${DURATION}s each, about ${total_s}s in all)"
if pgrep -x postgres >/dev/null || pgrep -x postmaster >/dev/null; then
    log "note: another PostgreSQL server is running on this machine; it is not touched, but its work counts as other load"
fi

log "initdb in $DATA"
as_pg "$PGBIN/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    > "$RAW/initdb.txt" 2>&1 || { cat "$RAW/initdb.txt" >&2; die "initdb failed"; }
cat >> "$DATA/postgresql.conf" <<EOF

# surge measure/pgbench: private cluster, unix socket only; every other setting is initdb's default
listen_addresses = ''
port = $PORT
unix_socket_directories = '$SOCK'
EOF
as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$WORK/server.log" -w -t 60 start >/dev/null \
    || { cat "$WORK/server.log" >&2; die "the server did not start"; }
SERVER_UP=1
POSTMASTER_PID="$(head -n1 "$DATA/postmaster.pid")"
PGARGS=(-h "$SOCK" -p "$PORT" -U postgres)
psql_q() { "$PGBIN/psql" "${PGARGS[@]}" -X -At -v ON_ERROR_STOP=1 "$@"; }

SERVER_VERSION="$(psql_q -d postgres -c 'SHOW server_version')"
psql_q -d postgres -F '|' -c "SELECT name, current_setting(name) FROM pg_settings WHERE name IN (
    'shared_buffers','effective_cache_size','work_mem','max_connections','synchronous_commit',
    'fsync','full_page_writes','wal_level','wal_sync_method','wal_buffers','wal_writer_delay',
    'commit_delay','commit_siblings','max_wal_size','min_wal_size','checkpoint_timeout',
    'checkpoint_completion_target','autovacuum','autovacuum_naptime','huge_pages',
    'default_transaction_isolation','jit','max_worker_processes') ORDER BY name" \
    > "$RAW/settings.txt"
log "server $SERVER_VERSION up (postmaster $POSTMASTER_PID, socket $SOCK/.s.PGSQL.$PORT)"

psql_q -d postgres -c 'CREATE DATABASE pgbench' >/dev/null
log "pgbench -i -s $SCALE"
"$PGBIN/pgbench" "${PGARGS[@]}" -i -s "$SCALE" -q pgbench > "$RAW/init.txt" 2>&1 \
    || { cat "$RAW/init.txt" >&2; die "pgbench -i failed"; }

# --- levels ----------------------------------------------------------------------------------
for c in $CLIENTS; do
    j=$(( c < NPROC ? c : NPROC ))
    log "level: $c clients, $j threads"
    # In the background so that a signal to this script interrupts `wait` at once; the EXIT
    # trap then stops the helper, which stops pgbench.
    python3 "$HELPER" level --clients "$c" --threads "$j" --warmup "$WARMUP" \
        --duration "$DURATION" --tail "$TAIL" --postmaster-pid "$POSTMASTER_PID" \
        --log-dir "$LOGS" --raw "$RAW/pgbench-c$(printf %02d "$c").txt" \
        --json "$WORK/levels/c$(printf %03d "$c").json" \
        --psql "$(printf '%q ' "$PGBIN/psql" "${PGARGS[@]}" -d pgbench)" \
        --waits-raw "$RAW/waits-c$(printf %02d "$c").txt" \
        -- "$PGBIN/pgbench" "${PGARGS[@]}" -N -P 5 pgbench &
    HELPER_PID=$!
    wait "$HELPER_PID" || die "level $c failed (see the messages above)"
    HELPER_PID=""
done

# --- output ----------------------------------------------------------------------------------
as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null
SERVER_UP=0
cp "$WORK/server.log" "$RAW/server.log"
cp "$WORK"/levels/*.json "$RAW/"
cat > "$WORK/meta.txt" <<EOF
server_version=$SERVER_VERSION
scale=$SCALE
started=$STARTED
finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)
nproc=$NPROC
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
mem=$(awk '/^MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)
kernel=$(uname -r)
data_fs=$(df -PT "$WORK" | awk 'NR==2 {print $2 " (" $1 ")"}')
loadavg_start=$LOADAVG_START
loadavg_end=$(cut -d' ' -f1-3 /proc/loadavg)
warmup=$WARMUP
duration=$DURATION
fit_max=$FIT_MAX
EOF
cp "$WORK/meta.txt" "$RAW/meta.txt"

mkdir -p "$OUT_DIR"
python3 "$HELPER" csv --out "$OUT_DIR/points.csv" --meta "$WORK/meta.txt" \
    --settings "$RAW/settings.txt" "$WORK"/levels/*.json
rm -rf "$OUT_DIR/raw.new"
cp -r "$RAW" "$OUT_DIR/raw.new"
rm -rf "$OUT_DIR/raw"
mv "$OUT_DIR/raw.new" "$OUT_DIR/raw"
log "wrote $OUT_DIR/points.csv and $OUT_DIR/raw/"
