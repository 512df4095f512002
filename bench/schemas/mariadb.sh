#!/usr/bin/env bash
# Schema per tenant on MariaDB: N tenant databases (a MySQL schema is a
# database) reached through one URL, each tenant switched to with USE. After an
# untimed first apply of a 3-revision history, a no-op `retort upgrade heads`
# and `retort status` (JOBS at a time) against the floor measured in the same
# run: JOBS `mariadb` client sessions issuing, per tenant, the reads a no-op
# needs (USE, GET_LOCK, the version rows, RELEASE_LOCK). Medians of RUNS paired
# rounds, and retort's peak memory.
#
#   bench/schemas/mariadb.sh [N=10000] [RUNS=5] [JOBS=8]
#
# Connects to 127.0.0.1:3306 as root (BENCH_MYSQL_USER, no password); drops what
# it made at the end.
set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
N=${1:-10000}
RUNS=${2:-5}
JOBS=${3:-8}
USER_=${BENCH_MYSQL_USER:-root}
die() { echo "error: $*" >&2; exit 1; }
command -v hyperfine >/dev/null || die "hyperfine not found (apt-get install -y hyperfine)"
CLIENT=$(command -v mariadb || command -v mysql) || die "no mariadb/mysql client"
RETORT_BIN=${RETORT:-$(cd "$(dirname "$0")/../.." && pwd)/target/release/retort}
[ -x "$RETORT_BIN" ] || die "no retort binary; cargo build --release -p retort-cli, or set RETORT"
sql() { "$CLIENT" --protocol=tcp -h 127.0.0.1 -u "$USER_" "$@"; }
WORK=$(mktemp -d /tmp/retort-mariadb-schemas.XXXXXX)
HOME_DB=schemas_bench_home
seq 0 $((N - 1)) | sed 's/^/schemas_bench_t/' > "$WORK/names.txt"
cleanup() { { echo "DROP DATABASE IF EXISTS $HOME_DB;"; sed 's/.*/DROP DATABASE IF EXISTS &;/' "$WORK/names.txt"; } | sql >/dev/null 2>&1 || true; }
trap cleanup EXIT

mkdir -p "$WORK/tenant/versions"
ups=("CREATE TABLE accounts (id BIGINT PRIMARY KEY, email VARCHAR(200) NOT NULL);"
     "CREATE INDEX ix_accounts_email ON accounts (email);"
     "ALTER TABLE accounts ADD COLUMN created_at DATETIME NULL;")
downs=("DROP TABLE accounts;" "DROP INDEX ix_accounts_email ON accounts;" "ALTER TABLE accounts DROP COLUMN created_at;")
ids=(m1aaaaaaaaaa m2aaaaaaaaaa m3aaaaaaaaaa)
for i in 0 1 2; do
    parent=""; [ "$i" -gt 0 ] && parent=${ids[$((i - 1))]}
    printf -- '-- Revision ID: %s\n-- Revises: %s\n-- migrate:up\n%s\n-- migrate:down\n%s\n' \
        "${ids[$i]}" "$parent" "${ups[$i]}" "${downs[$i]}" > "$WORK/tenant/versions/${ids[$i]}.sql"
done
cat > "$WORK/retort.toml" <<TOML
jobs = $JOBS
[fleets.tenants]
script_location = "tenant"
url_template = "mysql://$USER_@127.0.0.1:3306/$HOME_DB"
schema_template = "{name}"
version_table = "alembic_version"
names_file = "names.txt"
TOML
echo "# $N tenant databases through one URL (USE), jobs $JOBS, $(nproc) CPUs, retort $RETORT_BIN"
echo "# creating $N databases and applying 3 revisions to each (untimed)"
{ echo "CREATE DATABASE IF NOT EXISTS $HOME_DB;"; sed 's/.*/CREATE DATABASE IF NOT EXISTS &;/' "$WORK/names.txt"; } | sql
cd "$WORK"
/usr/bin/time -f "%e %M" -o time.txt "$RETORT_BIN" upgrade heads --format json > apply.json || die "the first apply failed"
read -r secs kb < time.txt
echo "retort first apply (untimed in the comparison): $secs s, peak $((kb / 1024)) MB"

# The floor: JOBS client sessions, tenant i in slot i % JOBS.
awk -v jobs="$JOBS" '{ f = "slot." (NR % jobs);
    print "USE " $1 "; SELECT GET_LOCK(\"retort:" $1 "\", 0); SELECT version_num FROM alembic_version; SELECT RELEASE_LOCK(\"retort:" $1 "\");" > f }' names.txt
printf '#!/bin/sh\nls %s/slot.* | xargs -P %s -I{} sh -c "%s --protocol=tcp -h 127.0.0.1 -u %s < {} > /dev/null"\n' \
    "$WORK" "$JOBS" "$CLIENT" "$USER_" > floor.sh
chmod +x floor.sh
hyperfine --style basic -N --warmup 1 --runs "$RUNS" --export-json noop.json \
    -n "retort upgrade (no-op)" "$RETORT_BIN -c $WORK/retort.toml upgrade heads" \
    -n "retort status" "$RETORT_BIN -c $WORK/retort.toml status" \
    -n "client floor (reads)" "$WORK/floor.sh" > /dev/null
python3 "$BENCH_DIR/medians.py" noop.json "client floor (reads)"
for cmd in "upgrade heads" "status"; do
    /usr/bin/time -f "%e %M" -o time.txt "$RETORT_BIN" $cmd > /dev/null
    read -r secs kb < time.txt
    echo "retort $cmd once: $secs s, peak $((kb / 1024)) MB"
done
