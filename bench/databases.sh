#!/usr/bin/env bash
# Database per tenant, no-op: N PostgreSQL databases already at head, a
# no-op `retort upgrade heads` (JOBS at a time) against the floor measured in
# the same run: JOBS psql processes, each connecting to its databases one after
# another and reading the version table once (connect + one query per
# database). Medians of RUNS paired rounds, and retort's peak memory.
#
#   bench/databases.sh [N=1000] [RUNS=5] [JOBS=8]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/pg/common.sh"
N=${1:-1000}
RUNS=${2:-5}
JOBS=${3:-8}
command -v hyperfine >/dev/null || die "hyperfine not found (apt-get install -y hyperfine)"
RETORT_BIN=$(find_retort) || die "no retort binary; cargo build --release -p retort-cli, or set RETORT"
WORK=$(mktemp -d /tmp/retort-databases-bench.XXXXXX)
names=$(seq 1 "$N" | sed 's/^/dbs_bench_/')
trap 'for db in $names; do echo "DROP DATABASE IF EXISTS $db WITH (FORCE);"; done | psql_db postgres >/dev/null 2>&1 || true' EXIT
echo "# $N databases, jobs $JOBS, $(nproc) CPUs, retort $RETORT_BIN"
echo "# creating $N databases (untimed)"
for db in $names; do echo "DROP DATABASE IF EXISTS $db WITH (FORCE); CREATE DATABASE $db STRATEGY = FILE_COPY;"; done \
    | psql_db postgres -c 'SET client_min_messages = warning' -f - >/dev/null
mkdir -p "$WORK/tenant/versions"
printf -- '-- Revision ID: d1aaaaaaaaaa\n-- Revises:\n-- migrate:up\nCREATE TABLE accounts (id BIGINT PRIMARY KEY);\n-- migrate:down\nDROP TABLE accounts;\n' \
    > "$WORK/tenant/versions/d1aaaaaaaaaa.sql"
echo "$names" > "$WORK/names.txt"
cat > "$WORK/retort.toml" <<TOML
jobs = $JOBS
[fleets.dbs]
script_location = "tenant"
url_template = "$(db_url '{name}')"
version_table = "alembic_version"
names_file = "names.txt"
TOML
cd "$WORK"
"$RETORT_BIN" upgrade heads --format json > apply.json || die "the first apply failed"
# One psql per job slot, connecting to each of its databases in turn (\c).
awk -v jobs="$JOBS" -v url="$(db_url '')" \
    '{ f = "slot." (NR % jobs); print "\\c " url $1 > f; print "SELECT version_num FROM alembic_version;" > f }' names.txt
printf '#!/bin/sh\nls %s/slot.* | xargs -P %s -I{} psql -X -q -o /dev/null -v ON_ERROR_STOP=1 -d %s -f {}\n' \
    "$WORK" "$JOBS" "$(db_url postgres)" > floor.sh
chmod +x floor.sh
hyperfine --style basic -N --warmup 1 --runs "$RUNS" --export-json noop.json \
    -n "retort upgrade (no-op)" "$RETORT_BIN -c $WORK/retort.toml upgrade heads" \
    -n "psql floor (connect + read)" "$WORK/floor.sh" > /dev/null
python3 "$REPO_DIR/bench/medians.py" noop.json "psql floor (connect + read)"
/usr/bin/time -f "%e %M" -o time.txt "$RETORT_BIN" upgrade heads > /dev/null
read -r secs kb < time.txt
echo "retort upgrade (no-op) once: $secs s, peak $((kb / 1024)) MB"
