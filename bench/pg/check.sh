#!/usr/bin/env bash
# Applies the PostgreSQL workload once with psql, once with Alembic and, when a
# retort binary is found, once with retort, each on its own fresh database, and
# checks that the results match: the schema (pg_dump --schema-only without the
# noise), row counts and a few sums, and the version row. Then downgrades the
# Alembic and retort databases to base and compares what is left.
#
#   bench/pg/check.sh [--keep]       # --keep: leave the databases and files behind
#
# Databases: <BENCH_PG_DB>_psql, _alembic, _retort (default retort_bench_*) on
# 127.0.0.1, dropped at the end unless --keep. Exit status 0 when all match.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1
check_tools
valid_name "$BENCH_DB"
RETORT_BIN=$(find_retort || true)

WORK=$(mktemp -d /tmp/retort-pg-check.XXXXXX)
TOOLS=(psql alembic)
[ -n "$RETORT_BIN" ] && TOOLS+=(retort) || echo "note: no retort binary found; checking psql against alembic only"

cleanup() {
    if [ "$KEEP" = 0 ]; then
        for t in "${TOOLS[@]}"; do drop_db "${BENCH_DB}_$t" || true; done
        rm -rf "$WORK"
    else
        echo "kept $WORK and databases ${TOOLS[*]/#/${BENCH_DB}_}"
    fi
}
trap cleanup EXIT

schema() {
    pg_dump -d "$(db_url "$1")" \
        --schema-only --no-owner --no-privileges --exclude-table=alembic_version_progress |
        grep -v -e '^--' -e '^SET ' -e '^SELECT pg_catalog.set_config' -e '^\\restrict' -e '^\\unrestrict' -e '^$'
}

data() {
    psql_db "$1" -At -F ' ' <<'SQL'
SELECT 'version', string_agg(version_num, ',') FROM alembic_version;
SELECT 'rows ' || table_name,
       (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM public.%I', table_name), false, true, '')))[1]::text
  FROM information_schema.tables
 WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version_progress'
 ORDER BY table_name;
SELECT 'orders.total_cents', sum(total_cents) FROM orders;
SELECT 'order_items.line_total_cents', sum(line_total_cents) FROM order_items;
SELECT 'payments.amount_cents', sum(amount_cents) FROM payments;
SELECT 'users.deleted_at', count(deleted_at), 'users.updated_at', count(updated_at) FROM users;
SELECT 'view', count(*), sum(total_cents), sum(order_count) FROM account_order_totals;
SELECT 'invalid indexes', count(*) FROM pg_index WHERE NOT indisvalid;
SQL
}

upgrade_cmd() {  # tool, database, workload dir -> CMD array
    case $1 in
        psql)    CMD=(psql -X -q -v ON_ERROR_STOP=1 -d "$(db_url "$2")" -f "$3/psql/all.sql") ;;
        alembic) CMD=("$ALEMBIC_BIN" -c "$3/alembic/alembic.ini" upgrade head) ;;
        retort)  CMD=("$RETORT_BIN" -c "$3/retort/retort.toml" upgrade heads) ;;
    esac
}

status=0
for t in "${TOOLS[@]}"; do
    db="${BENCH_DB}_$t"
    generate "$WORK/$t" "$db"
    recreate_db "$db"
    echo "== $t: upgrade into $db"
    upgrade_cmd "$t" "$db" "$WORK/$t"
    if ! timeout 300 "${CMD[@]}" >"$WORK/$t.upgrade.out" 2>&1; then
        echo "FAILED: $t upgrade; its output:"; cat "$WORK/$t.upgrade.out"; status=1; continue
    fi
    schema "$db" >"$WORK/$t.schema.sql"
    data "$db" >"$WORK/$t.data.txt"
    echo "   head $(head_of "$WORK/$t"), version row $(version_of "$db"), $(wc -l <"$WORK/$t.schema.sql") schema lines"
done

for t in "${TOOLS[@]}"; do
    [ "$t" = psql ] && continue
    [ -f "$WORK/$t.schema.sql" ] || continue
    if diff -u "$WORK/psql.schema.sql" "$WORK/$t.schema.sql" >"$WORK/$t.schema.diff"; then
        echo "schema: $t == psql"
    else
        echo "schema: $t DIFFERS from psql:"; cat "$WORK/$t.schema.diff"; status=1
    fi
    if diff -u "$WORK/psql.data.txt" "$WORK/$t.data.txt" >"$WORK/$t.data.diff"; then
        echo "data:   $t == psql"
    else
        echo "data:   $t DIFFERS from psql:"; cat "$WORK/$t.data.diff"; status=1
    fi
    extra=$(psql_db "${BENCH_DB}_$t" -Atc \
        "SELECT string_agg(relname, ', ' ORDER BY relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND relkind = 'r' AND relname LIKE 'alembic_version%' AND relname <> 'alembic_version'")
    [ -n "$extra" ] && echo "        ($t also left: $extra; excluded from the comparison)"
done
echo "-- psql data fingerprint:"; sed 's/^/   /' "$WORK/psql.data.txt"

# Downgrade to base with the tools that can, and compare what remains.
for t in "${TOOLS[@]}"; do
    [ "$t" = psql ] && continue
    [ -f "$WORK/$t.schema.sql" ] || continue
    db="${BENCH_DB}_$t"
    case $t in
        alembic) cmd=("$ALEMBIC_BIN" -c "$WORK/$t/alembic/alembic.ini" downgrade base) ;;
        retort)  cmd=("$RETORT_BIN" -c "$WORK/$t/retort/retort.toml" downgrade base) ;;
    esac
    if timeout 300 "${cmd[@]}" >"$WORK/$t.downgrade.out" 2>&1; then
        schema "$db" >"$WORK/$t.base.sql"
        echo "downgrade base: $t ok, $(grep -c '^CREATE' "$WORK/$t.base.sql") CREATE statements left, version rows: '$(version_of "$db")'"
    else
        echo "FAILED: $t downgrade base; its output:"; cat "$WORK/$t.downgrade.out"; status=1
    fi
done
if [ -f "$WORK/alembic.base.sql" ] && [ -f "$WORK/retort.base.sql" ]; then
    if diff -u "$WORK/alembic.base.sql" "$WORK/retort.base.sql"; then echo "base schema: retort == alembic"
    else echo "base schema: retort DIFFERS from alembic"; status=1; fi
fi

[ "$status" = 0 ] && echo "CHECK OK" || echo "CHECK FAILED"
exit "$status"
