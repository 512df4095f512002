#!/usr/bin/env bash
# Times the 30-revision PostgreSQL workload (bench/pg/gen_workload.py), whole
# process, three ways, in one hyperfine run:
#   retort   retort -c retort.toml upgrade heads
#   psql     one psql process running all.sql: BEGIN/COMMIT around each revision,
#            the version-table statements included, the concurrent index in
#            autocommit (the floor)
#   alembic  alembic -c alembic.ini upgrade head (transaction_per_migration=True)
# Every run (warmup included) starts from a freshly created, empty database:
# hyperfine's --prepare drops and recreates it, untimed.
#
#   bench/pg/run.sh [RUNS]          # RUNS default 10, plus one warmup run each
#
# Environment: RETORT (binary; default target/release/retort, then
# /root/.cache/retort-release/release/retort), ALEMBIC (console script),
# BENCH_PG_PORT (5432), BENCH_PG_DB (retort_bench), BENCH_PG_SSLMODE (empty:
# each client's default, prefer; or disable/allow/prefer/require, added to every
# URL), BENCH_TIMEOUT (seconds for
# the whole hyperfine run, default 1800), OUT (directory for the results;
# default a new /tmp/retort-pg-bench.* that is kept and printed).
# Connects to 127.0.0.1 only. Drops the benchmark database at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUNS=${1:-${RUNS:-10}}
[[ $RUNS =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 2 ] || die "RUNS must be a number >= 2, not '$RUNS'"
LIMIT=${BENCH_TIMEOUT:-1800}
command -v hyperfine >/dev/null || die "hyperfine not found (apt-get install -y hyperfine)"
check_tools
RETORT_BIN=$(find_retort) || die "no retort binary; build one (cargo build --release) or set RETORT=/path/to/retort"
valid_name "$BENCH_DB"

WORK=$(mktemp -d /tmp/retort-pg-bench.XXXXXX)
RESULTS=${OUT:-$WORK}
mkdir -p "$RESULTS"
JSON="$RESULTS/hyperfine.json"
W="$WORK/workload"
generate "$W" "$BENCH_DB"
HEAD=$(head_of "$W")
trap 'drop_db "$BENCH_DB" >/dev/null 2>&1 || true' EXIT

PREPARE=$(recreate_cmd "$BENCH_DB")
RETORT_CMD="$RETORT_BIN -c $W/retort/retort.toml upgrade heads"
PSQL_CMD="psql -X -q -v ON_ERROR_STOP=1 -d $(db_url "$BENCH_DB") -f $W/psql/all.sql"
ALEMBIC_CMD="$ALEMBIC_BIN -c $W/alembic/alembic.ini upgrade head"

py=$(alembic_python "$ALEMBIC_BIN")
echo "# workload   $W (30 revisions, head $HEAD)"
echo "# retort     $RETORT_BIN ($(date -r "$RETORT_BIN" '+%F %T'))"
echo "# psql       $(psql --version)"
echo "# server     $(psql_db postgres -Atc 'SHOW server_version') at $BENCH_HOST:$BENCH_PORT, fsync=$(psql_db postgres -Atc 'SHOW fsync'), synchronous_commit=$(psql_db postgres -Atc 'SHOW synchronous_commit'), ssl=$(psql_db postgres -Atc 'SHOW ssl'), client sslmode ${BENCH_SSLMODE:-default (prefer)}"
echo "# alembic    $ALEMBIC_BIN: $("$py" -c 'import alembic, sqlalchemy, psycopg2, sys; print("alembic", alembic.__version__, "sqlalchemy", sqlalchemy.__version__, "psycopg2", psycopg2.__version__.split()[0], "python", sys.version.split()[0])')"
echo "# hyperfine  $(hyperfine --version), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# One untimed run of each, checked: the version row must be the head and the
# schema must hold what the workload makes, or the timings would mean nothing.
for name in retort psql alembic; do
    case $name in
        retort) cmd=$RETORT_CMD ;; psql) cmd=$PSQL_CMD ;; alembic) cmd=$ALEMBIC_CMD ;;
    esac
    recreate_db "$BENCH_DB"
    if ! out=$(timeout 120 sh -c "$cmd" 2>&1); then
        echo "$out" >&2; die "$name failed on a fresh database (command: $cmd)"
    fi
    got=$(version_of "$BENCH_DB")
    objects=$(psql_db "$BENCH_DB" -Atc "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'")
    [ "$got" = "$HEAD" ] || die "$name left version '$got', expected $HEAD"
    echo "# preflight  $name: version $got, $objects relations in public"
done

timeout -k 10 "$LIMIT" hyperfine -N --style basic --warmup 1 --runs "$RUNS" \
    --prepare "$PREPARE" \
    --export-json "$JSON" \
    -n retort "$RETORT_CMD" \
    -n psql "$PSQL_CMD" \
    -n alembic "$ALEMBIC_CMD"

python3 - "$JSON" <<'PY'
import json, statistics, sys

results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
ms = lambda s: s * 1000.0
print()
print(f"{'command':<8} {'median':>9} {'mean':>9} {'stddev':>8} {'min':>9} {'max':>9} {'user':>8} {'sys':>8}  runs")
for name in ("retort", "psql", "alembic"):
    r = results[name]
    t = r["times"]
    print(f"{name:<8} {ms(statistics.median(t)):8.1f}ms {ms(r['mean']):8.1f}ms {ms(r['stddev'] or 0):7.1f}ms "
          f"{ms(min(t)):8.1f}ms {ms(max(t)):8.1f}ms {ms(r['user']):7.1f}ms {ms(r['system']):7.1f}ms  {len(t)}")
med = {n: statistics.median(results[n]["times"]) for n in results}
ratio = med["retort"] / med["psql"]
print()
print(f"retort / psql    = {ratio:.3f}  (medians; target <= 1.2: {'met' if ratio <= 1.2 else 'NOT met'})")
print(f"alembic / retort = {med['alembic'] / med['retort']:.3f}")
print(f"alembic / psql   = {med['alembic'] / med['psql']:.3f}")
PY
echo
echo "# results    $JSON"
