#!/usr/bin/env bash
# Schema per tenant at scale: one PostgreSQL database holding N tenant schemas,
# a fleet whose tenants come from a names file, JOBS at a time. In one session:
#
#   first apply   retort upgrade heads of a 3-revision history to N fresh schemas,
#                 against the floor: JOBS psql sessions running the same SQL for
#                 their share of the tenants (version table created, each
#                 revision and its version change in one transaction);
#   no-op         retort upgrade heads and retort status over the N schemas at
#                 head, against the floor: JOBS psql sessions issuing, per tenant,
#                 the reads a no-op needs (search_path, advisory lock, version
#                 rows, unlock); medians of RUNS paired rounds, and peak memory.
#
#   bench/schemas/run.sh [N=10000] [RUNS=5] [JOBS=8]
#
# Connects to 127.0.0.1 only; drops the databases it made at the end.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../pg/common.sh"

N=${1:-10000}
RUNS=${2:-5}
JOBS=${3:-8}
command -v hyperfine >/dev/null || die "hyperfine not found (apt-get install -y hyperfine)"
RETORT_BIN=$(find_retort) || die "no retort binary; cargo build --release -p retort-cli, or set RETORT"
WORK=$(mktemp -d /tmp/retort-schemas-bench.XXXXXX)
DB_RETORT=schemas_bench_retort
DB_FLOOR=schemas_bench_floor
trap 'drop_db $DB_RETORT >/dev/null 2>&1 || true; drop_db $DB_FLOOR >/dev/null 2>&1 || true' EXIT

# The history: a table, an index, a column.
mkdir -p "$WORK/tenant/versions"
ups=("CREATE TABLE accounts (id BIGINT PRIMARY KEY, email TEXT NOT NULL);"
     "CREATE INDEX ix_accounts_email ON accounts (email);"
     "ALTER TABLE accounts ADD COLUMN created_at TIMESTAMP;")
downs=("DROP TABLE accounts;" "DROP INDEX ix_accounts_email;" "ALTER TABLE accounts DROP COLUMN created_at;")
ids=(s1aaaaaaaaaa s2aaaaaaaaaa s3aaaaaaaaaa)
for i in 0 1 2; do
    parent=""; [ "$i" -gt 0 ] && parent=${ids[$((i - 1))]}
    printf -- '-- Revision ID: %s\n-- Revises: %s\n-- migrate:up\n%s\n-- migrate:down\n%s\n' \
        "${ids[$i]}" "$parent" "${ups[$i]}" "${downs[$i]}" > "$WORK/tenant/versions/${ids[$i]}.sql"
done
seq 0 $((N - 1)) | sed 's/^/t/' > "$WORK/names.txt"
cat > "$WORK/retort.toml" <<TOML
jobs = $JOBS
[fleets.tenants]
script_location = "tenant"
url_template = "$(db_url $DB_RETORT)"
schema_template = "{name}"
version_table = "alembic_version"
names_file = "names.txt"
TOML

create_schemas() {
    recreate_db "$1"
    psql_db "$1" -c "DO \$\$ BEGIN FOR i IN 0..$((N - 1)) LOOP EXECUTE format('CREATE SCHEMA t%s', i); END LOOP; END \$\$"
}

# The floor's scripts: JOBS files, tenant i in file i % JOBS.
split_tenants() {  # $1: output prefix, $2: per-tenant SQL with @ for the schema
    rm -f "$1".*
    awk -v jobs="$JOBS" -v prefix="$1" -v sql="$2" \
        '{ s = sql; gsub(/@/, $1, s); print s > (prefix "." (NR % jobs)) }' "$WORK/names.txt"
}
apply_sql="SET search_path TO @;
BEGIN; CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY); ${ups[0]} INSERT INTO alembic_version VALUES ('${ids[0]}'); COMMIT;
BEGIN; ${ups[1]} UPDATE alembic_version SET version_num = '${ids[1]}'; COMMIT;
BEGIN; ${ups[2]} UPDATE alembic_version SET version_num = '${ids[2]}'; COMMIT;"
read_sql="SET search_path TO @; SELECT pg_try_advisory_lock(hashtext('@')); SELECT version_num FROM @.alembic_version; SELECT pg_advisory_unlock(hashtext('@'));"
split_tenants "$WORK/apply" "$apply_sql"
split_tenants "$WORK/read" "$read_sql"
# Each floor is a script of its own, JOBS psql sessions at once.
for kind in apply read; do
    db=$DB_FLOOR; [ $kind = read ] && db=$DB_RETORT
    printf '#!/bin/sh\nls %s.* | xargs -P %s -I{} psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d %s -f {}\n' \
        "$WORK/$kind" "$JOBS" "$(db_url $db)" > "$WORK/floor-$kind.sh"
    chmod +x "$WORK/floor-$kind.sh"
done

echo "# $N tenant schemas in one database, jobs $JOBS, $(nproc) CPUs, retort $RETORT_BIN"
echo "# creating 2 x $N schemas (untimed)"
create_schemas $DB_RETORT
create_schemas $DB_FLOOR
timed() {  # $1: label; the rest: the command. Prints seconds and peak MB.
    local label=$1; shift
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" > "$WORK/out.txt" 2> "$WORK/err.txt" \
        || { cat "$WORK/err.txt" >&2; die "$label failed"; }
    read -r secs kb < "$WORK/time.txt"
    printf '%-28s %7.2f s   peak %4d MB\n' "$label" "$secs" $((kb / 1024))
    echo "$secs" > "$WORK/$label.secs"
}
cd "$WORK"
timed "retort first apply" "$RETORT_BIN" upgrade heads --format json
python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; sys.exit(0 if s["failed"]==0 and s["revisions_applied"]==3*int(sys.argv[2]) else "retort did not apply every revision")' "$WORK/out.txt" "$N"
timed "psql floor first apply" "$WORK/floor-apply.sh"
python3 - "$WORK" <<'PY'
import sys
w = sys.argv[1]
r, f = (float(open(f"{w}/{n}.secs").read()) for n in ("retort first apply", "psql floor first apply"))
print(f"first apply: retort / floor = {r / f:.2f}")
PY

hyperfine --style basic -N --warmup 1 --runs "$RUNS" --export-json "$WORK/noop.json" \
    -n "retort upgrade (no-op)" "$RETORT_BIN -c $WORK/retort.toml upgrade heads" \
    -n "retort status" "$RETORT_BIN -c $WORK/retort.toml status" \
    -n "psql floor (reads)" "$WORK/floor-read.sh" > /dev/null
python3 "$REPO_DIR/bench/medians.py" "$WORK/noop.json" "psql floor (reads)"
for cmd in "upgrade heads" "status"; do
    timed "retort $cmd (peak)" "$RETORT_BIN" $cmd
done
