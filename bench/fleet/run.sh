#!/usr/bin/env bash
# Fleet benchmark: N PostgreSQL databases x the 30-revision workload of bench/pg,
# whole process, in one session:
#   retort   retort upgrade heads over a fleet of N tenants, --jobs JOBS
#   psql     the same SQL (bench/pg's all.sql) through psql, JOBS at a time (the floor)
#   alembic  alembic upgrade head, one database after another in a shell loop
# then, on a schema-per-tenant fleet of NOOP tenants already at head, a no-op
# `upgrade heads` and `status`, with their peak memory.
#
#   bench/fleet/run.sh [N=50] [RUNS=3] [JOBS=8] [NOOP=1000]
#
# Every timed run starts from N fresh, empty databases (hyperfine --prepare,
# untimed). Connects to 127.0.0.1 only; drops what it made at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../pg/common.sh"

N=${1:-50}
RUNS=${2:-3}
JOBS=${3:-8}
NOOP=${4:-1000}
command -v hyperfine >/dev/null || die "hyperfine not found (apt-get install -y hyperfine)"
check_tools
RETORT_BIN=$(find_retort) || die "no retort binary; cargo build --release -p retort-cli, or set RETORT"
WORK=$(mktemp -d /tmp/retort-fleet-bench.XXXXXX)
W="$WORK/workload"
generate "$W" fleet_bench_1
names=$(seq 1 "$N" | sed 's/^/fleet_bench_/')
noop_db=fleet_bench_noop
cleanup() {
    for db in $names $noop_db; do drop_db "$db" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

write_prepare "$WORK/prepare.sh" $names

list=$(printf '"%s",' $names)
cat > "$WORK/fleet.toml" <<TOML
jobs = $JOBS
[fleets.bench]
script_location = "$W/retort"
url_template = "$(db_url '{name}')"
version_table = "alembic_version"
names = [${list%,}]
TOML
for db in $names; do
    sed "s#^sqlalchemy.url = .*#sqlalchemy.url = postgresql+psycopg2://$BENCH_USER@$BENCH_HOST:$BENCH_PORT/$db#" \
        "$W/alembic/alembic.ini" > "$W/alembic/$db.ini"
done
echo "$names" > "$WORK/names.txt"
RETORT_CMD="$RETORT_BIN -c $WORK/fleet.toml upgrade heads"
PSQL_CMD="xargs -P $JOBS -I{} psql -X -q -v ON_ERROR_STOP=1 -d $(db_url '{}') -f $W/psql/all.sql"
ALEMBIC_CMD="for db in $(echo $names); do $ALEMBIC_BIN -c $W/alembic/\$db.ini upgrade head || exit 1; done"

echo "# $N databases x 30 revisions, jobs $JOBS, $(nproc) CPUs, retort $RETORT_BIN"
"$WORK/prepare.sh"
timeout 600 $RETORT_CMD > /dev/null || die "retort failed on fresh databases"
[ "$(version_of fleet_bench_$N)" = "$(head_of "$W")" ] || die "retort left the wrong version"

hyperfine --style basic --warmup 1 --runs "$RUNS" --prepare "$WORK/prepare.sh" --export-json "$WORK/fleet.json" \
    -n retort "$RETORT_CMD" \
    -n psql "sh -c '$PSQL_CMD < $WORK/names.txt'"
hyperfine --style basic --runs 1 --prepare "$WORK/prepare.sh" --export-json "$WORK/alembic.json" \
    -n alembic "bash -c '$ALEMBIC_CMD'"

python3 - "$WORK/fleet.json" "$WORK/alembic.json" <<'PY'
import json, statistics, sys
res = {r["command"]: r for f in sys.argv[1:] for r in json.load(open(f))["results"]}
med = {k: statistics.median(v["times"]) for k, v in res.items()}
for k in ("retort", "psql", "alembic"):
    t = res[k]["times"]
    print(f"{k:<8} median {med[k]:8.2f} s  (min {min(t):.2f}, max {max(t):.2f}, runs {len(t)})")
print(f"retort / psql    = {med['retort'] / med['psql']:.3f}  (target <= 1.3)")
print(f"alembic / retort = {med['alembic'] / med['retort']:.1f}  (target >= 10)")
PY

# No-op over NOOP tenants: one database, a schema each, already at head.
[ "$NOOP" -gt 0 ] || exit 0
recreate_db "$noop_db"
for i in $(seq 1 "$NOOP"); do echo "CREATE SCHEMA t$i;"; done | psql_db "$noop_db" >/dev/null
tenants=$(seq 1 "$NOOP" | sed 's/^/"/; s/$/"/' | paste -sd, -)
cat > "$WORK/noop.toml" <<TOML
jobs = $JOBS
[fleets.noop]
script_location = "$W/retort"
url_template = "$(db_url $noop_db)"
schema_template = "t{name}"
version_table = "alembic_version"
names = [$tenants]
TOML
echo "# applying the workload to $NOOP schemas (untimed)"
timeout 1800 "$RETORT_BIN" -c "$WORK/noop.toml" upgrade heads --format json > "$WORK/noop-apply.json" || die "initial apply failed"
for cmd in "upgrade heads" "status"; do
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$RETORT_BIN" -c "$WORK/noop.toml" $cmd --format json > "$WORK/noop.json"
    read -r secs kb < "$WORK/time.txt"
    echo "no-op $cmd over $NOOP targets: ${secs} s, peak memory $((kb / 1024)) MB"
done
