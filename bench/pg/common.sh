# Sourced by bench/pg/run.sh and bench/pg/check.sh. Everything goes to
# 127.0.0.1 only; the port and database name can be changed, the host cannot.

BENCH_HOST=127.0.0.1
BENCH_PORT=${BENCH_PG_PORT:-5432}
BENCH_USER=${BENCH_PG_USER:-postgres}
BENCH_DB=${BENCH_PG_DB:-retort_bench}
# Empty: each client's default (libpq and sqlx: sslmode=prefer, so TLS when the
# server has ssl = on). Else appended as ?sslmode=... to every URL (retort,
# Alembic, psql), e.g. BENCH_PG_SSLMODE=disable.
BENCH_SSLMODE=${BENCH_PG_SSLMODE:-}
PG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$PG_DIR/../.." && pwd)

# Nothing from the environment may send libpq elsewhere or change the session.
unset PGSERVICE PGSERVICEFILE PGHOSTADDR PGOPTIONS PGDATABASE PGHOST PGPORT PGUSER PGSSLMODE
export PGCONNECT_TIMEOUT=10

die() { echo "error: $*" >&2; exit 1; }

valid_name() { [[ $1 =~ ^[a-z_][a-z0-9_]*$ ]] || die "database name must match [a-z_][a-z0-9_]*: $1"; }
[[ $BENCH_SSLMODE =~ ^(|disable|allow|prefer|require)$ ]] || die "BENCH_PG_SSLMODE must be disable, allow, prefer or require"

db_url() { echo "postgres://$BENCH_USER@$BENCH_HOST:$BENCH_PORT/$1${BENCH_SSLMODE:+?sslmode=$BENCH_SSLMODE}"; }

# psql on database $1 with the remaining arguments; no psqlrc, stop on error.
psql_db() {
    local db=$1; shift
    psql -X -q -v ON_ERROR_STOP=1 -d "$(db_url "$db")" "$@"
}

# The command that drops and recreates database $1 (also used as hyperfine's --prepare).
recreate_cmd() {
    echo "psql -X -q -v ON_ERROR_STOP=1 -d $(db_url postgres)" \
         "-c \"SET client_min_messages = warning\"" \
         "-c \"DROP DATABASE IF EXISTS $1 WITH (FORCE)\" -c \"CREATE DATABASE $1\""
}

recreate_db() {
    psql_db postgres -c 'SET client_min_messages = warning' \
        -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
}

drop_db() {
    psql_db postgres -c 'SET client_min_messages = warning' -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)"
}

# The retort binary: $RETORT, else a release build in the repository's target/,
# else the shared release cache.
find_retort() {
    local c
    for c in "${RETORT:-}" "$REPO_DIR/target/release/retort" /root/.cache/retort-release/release/retort; do
        if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return 0; fi
    done
    return 1
}

# The alembic console script, never a pyenv shim (a shim adds a bash process
# and `pyenv exec` to every run, which is not Alembic's cost).
find_alembic() {
    local a=${ALEMBIC:-$(command -v alembic || true)}
    [ -n "$a" ] || return 1
    case $a in
        */shims/*) command -v pyenv >/dev/null && a=$(pyenv which alembic) ;;
    esac
    [ -x "$a" ] && echo "$a"
}

# The Python interpreter behind the alembic console script.
alembic_python() { head -1 "$1" | sed 's/^#! *//'; }

check_tools() {
    command -v psql >/dev/null || die "psql not found"
    command -v python3 >/dev/null || die "python3 not found"
    ALEMBIC_BIN=$(find_alembic) || die "alembic not found (pip install alembic==1.20.1)"
    local py
    py=$(alembic_python "$ALEMBIC_BIN")
    "$py" -c 'import psycopg2' 2>/dev/null || die "$py cannot import psycopg2 (pip install psycopg2-binary)"
    psql_db postgres -Atc 'SELECT 1' >/dev/null || die "no PostgreSQL at $BENCH_HOST:$BENCH_PORT as $BENCH_USER"
}

# Writes to $1 a script that drops and recreates the databases $2...: the
# --prepare of hyperfine runs that start from fresh, empty databases.
write_prepare() {
    local out=$1
    shift
    cat > "$out" <<SH
#!/usr/bin/env bash
set -euo pipefail
source "$PG_DIR/common.sh"
for db in $*; do
    psql_db postgres -c 'SET client_min_messages = warning' -c "DROP DATABASE IF EXISTS \$db WITH (FORCE)" -c "CREATE DATABASE \$db"
done
SH
    chmod +x "$out"
}

# Generates the workload for database $2 into directory $1.
generate() {
    python3 "$PG_DIR/gen_workload.py" "$1" --url "$(db_url "$2")" --force >/dev/null
}

head_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["head"])' "$1/workload.json"; }

version_of() { psql_db "$1" -Atc 'SELECT string_agg(version_num, $$,$$) FROM alembic_version'; }
