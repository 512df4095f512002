#!/usr/bin/env bash
# MariaDB fleet benchmark: N databases x the 30-revision workload of
# bench/mysql/gen_workload.py (bench/pg's workload in MariaDB SQL), whole
# process, in one hyperfine session:
#   retort  retort upgrade heads over a fleet of N databases, jobs = JOBS
#   floor   the same statements (OUT/mysql/all.sql) through the mariadb/mysql
#           client, one process per database, JOBS at a time (xargs -P)
#
#   RETORT=/path/to/retort bash bench/mysql/run.sh [N=16] [RUNS=3] [JOBS=8]
#
# Every timed run (the warmup included) starts from N fresh, empty databases
# mysql_bench_1..N (hyperfine --prepare, untimed). Before the timing: one
# untimed retort run, checked (every database at the head, no progress row
# left), then the client script on one more fresh database (mysql_bench_client)
# and a comparison of the two schemas from information_schema (tables, columns,
# indexes, constraints, foreign keys, checks, triggers, routines, views) and of
# row counts and a few sums, then retort downgrade base on that database, which
# must leave nothing of the workload; any difference stops the script. After the timing
# the floor's last run is checked the same way (every database at the head).
#
# Environment: RETORT (binary; default target/release/retort, then
# /root/.cache/retort-target/release/retort), MYSQL_CLIENT (default mariadb,
# else mysql), BENCH_MYSQL_PORT (3306), BENCH_MYSQL_PREFER_SOCKET (0: retort's
# URLs carry ?prefer_socket=false, so that retort, like the client, talks TCP to
# 127.0.0.1; 1: mysql_async's default, which switches to the server's Unix
# socket), BENCH_TIMEOUT (seconds for each
# hyperfine session, default 3600), OUT (directory for the results; default a
# new /tmp/retort-mysql-bench.* that is kept and printed).
# Connects to 127.0.0.1 as root without a password only. Drops the databases
# it made at the end.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$HERE/../.." && pwd)
HOST=127.0.0.1
PORT=${BENCH_MYSQL_PORT:-3306}
DB_USER=root
PREFIX=mysql_bench_
CHECK_DB=${PREFIX}client

die() { echo "error: $*" >&2; exit 1; }

N=${1:-16}
RUNS=${2:-3}
JOBS=${3:-8}
LIMIT=${BENCH_TIMEOUT:-3600}
[[ $N =~ ^[0-9]+$ ]] && [ "$N" -ge 1 ] || die "N must be a number >= 1, not '$N'"
[[ $RUNS =~ ^[0-9]+$ ]] && [ "$RUNS" -ge 1 ] || die "RUNS must be a number >= 1, not '$RUNS'"
[[ $JOBS =~ ^[0-9]+$ ]] && [ "$JOBS" -ge 1 ] || die "JOBS must be a number >= 1, not '$JOBS'"
[[ $PORT =~ ^[0-9]+$ ]] || die "BENCH_MYSQL_PORT must be a number"

find_retort() {
    local c
    for c in "${RETORT:-}" "$REPO_DIR/target/release/retort" /root/.cache/retort-target/release/retort; do
        if [ -n "$c" ] && [ -x "$c" ]; then echo "$c"; return 0; fi
    done
    return 1
}
RETORT_BIN=$(find_retort) || die "no retort binary; cargo build --release -p retort-cli, or set RETORT"
CLIENT=${MYSQL_CLIENT:-$(command -v mariadb || command -v mysql || true)}
[ -n "$CLIENT" ] && [ -x "$CLIENT" ] || die "no mariadb or mysql client (set MYSQL_CLIENT)"
command -v hyperfine >/dev/null || die "hyperfine not found (apt-get install -y hyperfine)"
command -v python3 >/dev/null || die "python3 not found"

# The client with no option files (like psql -X), over TCP to 127.0.0.1 only.
# --comments: send comments inside statements, as retort does (the client drops
# them by default, which would change the stored routine bodies).
CLIENT_ARGS="--no-defaults --protocol=TCP --host=$HOST --port=$PORT --user=$DB_USER"
sql() { "$CLIENT" $CLIENT_ARGS --batch --skip-column-names "$@"; }
sql -e 'SELECT 1' >/dev/null || die "no MariaDB/MySQL server at $HOST:$PORT as $DB_USER without a password"

WORK=$(mktemp -d /tmp/retort-mysql-bench.XXXXXX)
RESULTS=${OUT:-$WORK}
mkdir -p "$RESULTS"
W="$WORK/workload"
python3 "$HERE/gen_workload.py" "$W" --url "mysql://$DB_USER@$HOST:$PORT/${PREFIX}1" --force >/dev/null
HEAD=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["head"])' "$W/workload.json")
names=$(seq 1 "$N" | sed "s/^/$PREFIX/")
echo "$names" > "$WORK/names.txt"

# MariaDB 10.11 (seen with 10.11.19) now and then leaves the backup copy
# <table>.TRG- that CREATE TRIGGER makes of an existing trigger file, when
# several sessions create triggers at once (in different databases; the mysql
# client does it as often as retort; never seen with one session at a time).
# The server does not know the file, so DROP DATABASE then fails with errno 39
# "Directory not empty". With the data directory on this machine and writable,
# the sweep below removes such files from the benchmark's own database
# directories before every drop and logs them to $WORK/stray.log.
DATADIR=$(sql -e 'SELECT @@datadir'); DATADIR=${DATADIR%/}
SWEEP=""
if [ -d "$DATADIR" ] && [ -w "$DATADIR" ]; then
    SWEEP="for d in $(for db in $names $CHECK_DB; do printf '%q ' "$DATADIR/$db"; done); do
    for f in \"\$d\"/*.TRG- \"\$d\"/*.TRN-; do
        if [ -e \"\$f\" ]; then echo \"\$f\" >> $WORK/stray.log; rm -f \"\$f\"; fi
    done
done"
fi
sweep() { [ -z "$SWEEP" ] || bash -c "$SWEEP"; }

cleanup() {
    local db stmts=""
    sweep || true
    for db in $names $CHECK_DB; do stmts+="DROP DATABASE IF EXISTS \`$db\`;"; done
    sql -e "$stmts" >/dev/null 2>&1 || echo "warning: could not drop every benchmark database (${PREFIX}*)" >&2
}
trap cleanup EXIT

# hyperfine's --prepare: drops and recreates the N databases, one client process.
{
    echo '#!/usr/bin/env bash'
    echo 'set -euo pipefail'
    echo "$SWEEP"
    printf '%q ' "$CLIENT" $CLIENT_ARGS --batch
    printf -- '-e %q\n' "$(for db in $names; do printf 'DROP DATABASE IF EXISTS `%s`; CREATE DATABASE `%s`; ' "$db" "$db"; done)"
} > "$WORK/prepare.sh"
chmod +x "$WORK/prepare.sh"

# mysql_async (retort's driver) by default asks a server on 127.0.0.1 for its
# Unix socket and reconnects through it (as root@localhost, not root@127.0.0.1);
# prefer_socket=false keeps retort on TCP like the client. BENCH_MYSQL_PREFER_SOCKET=1
# leaves the driver's default.
URL_QUERY="?prefer_socket=false"
[ "${BENCH_MYSQL_PREFER_SOCKET:-0}" = 1 ] && URL_QUERY=""
list=$(printf '"%s",' $names)
cat > "$WORK/fleet.toml" <<TOML
jobs = $JOBS
[fleets.bench]
script_location = "$W/retort"
url_template = "mysql://$DB_USER@$HOST:$PORT/{name}$URL_QUERY"
version_table = "alembic_version"
names = [${list%,}]
TOML
# The client's database through retort's single-database config (the downgrade check).
cat > "$WORK/check.toml" <<TOML
[databases.client]
url = "mysql://$DB_USER@$HOST:$PORT/$CHECK_DB$URL_QUERY"
script_location = "$W/retort"
version_table = "alembic_version"
TOML

RETORT_CMD="$RETORT_BIN -c $WORK/fleet.toml upgrade heads"
# One client process per database, the script on its stdin; stop on the first error.
FLOOR_ONE="exec $CLIENT $CLIENT_ARGS --comments --batch \"\$1\" < $W/mysql/all.sql"
FLOOR_CMD="xargs -P $JOBS -I{} sh -c '$FLOOR_ONE' sh {} < $WORK/names.txt"
printf '%s\n' "$FLOOR_CMD" > "$WORK/floor.sh"

# -- checks ---------------------------------------------------------------------------
# The version rows of every database in $@, as "db<TAB>version" lines.
versions_of() {
    local q="" db
    for db in "$@"; do
        q+="${q:+ UNION ALL }SELECT '$db', COALESCE((SELECT GROUP_CONCAT(version_num ORDER BY version_num) FROM \`$db\`.alembic_version), '<none>')"
    done
    sql -e "$q"
}

# Every database in $@ at the head: dies naming the first that is not.
check_heads() {
    local who=$1; shift
    local rows bad
    rows=$(versions_of "$@") || die "$who: cannot read alembic_version of every database"
    bad=$(echo "$rows" | awk -F'\t' -v head="$HEAD" '$2 != head' | head -3)
    [ -z "$bad" ] || die "$who left databases off the head $HEAD: $(echo "$bad" | tr '\t\n' '= ')"
}

# retort's own tables, left out of the comparison.
OWN="'alembic_version_audit', 'alembic_version_progress'"

# The schema of database $1 from information_schema, as sorted lines, its name
# replaced by DB (view definitions qualify tables with it).
schema_of() {
    local db=$1
    local w="TABLE_SCHEMA = '$db' AND TABLE_NAME NOT IN ($OWN)"
    sql -e "
SELECT 'table', TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_COLLATION, TABLE_COMMENT
  FROM information_schema.TABLES WHERE $w;
SELECT 'column', TABLE_NAME, ORDINAL_POSITION, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,
       EXTRA, COLUMN_KEY, COLLATION_NAME, COLUMN_COMMENT, IS_GENERATED, GENERATION_EXPRESSION
  FROM information_schema.COLUMNS WHERE $w;
SELECT 'index', TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, COLLATION, SUB_PART, INDEX_TYPE
  FROM information_schema.STATISTICS WHERE $w;
SELECT 'constraint', TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE
  FROM information_schema.TABLE_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '$db' AND TABLE_NAME NOT IN ($OWN);
SELECT 'key', TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
  FROM information_schema.KEY_COLUMN_USAGE WHERE $w;
SELECT 'foreign key', TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_NAME, UNIQUE_CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE
  FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '$db';
SELECT 'check', TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE
  FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '$db';
SELECT 'trigger', TRIGGER_NAME, EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER,
       ACTION_STATEMENT, SQL_MODE
  FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '$db';
SELECT 'routine', ROUTINE_NAME, ROUTINE_TYPE, DTD_IDENTIFIER, IS_DETERMINISTIC, SQL_DATA_ACCESS, SQL_MODE,
       ROUTINE_DEFINITION
  FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '$db';
SELECT 'parameter', SPECIFIC_NAME, ORDINAL_POSITION, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER
  FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = '$db';
SELECT 'view', TABLE_NAME, CHECK_OPTION, IS_UPDATABLE, ALGORITHM, VIEW_DEFINITION
  FROM information_schema.VIEWS WHERE $w;
" | sed "s/\`$db\`/\`DB\`/g" | LC_ALL=C sort
}

# Row counts of the workload's tables and a few sums of database $1.
data_of() {
    local db=$1 q="" t
    for t in users accounts products categories orders order_items payments audit_log addresses sessions plans; do
        q+="SELECT '$t rows', COUNT(*) FROM \`$db\`.\`$t\`;"
    done
    q+="SELECT 'orders.total_cents', SUM(total_cents), 'by status', GROUP_CONCAT(DISTINCT status ORDER BY status) FROM \`$db\`.orders;"
    q+="SELECT 'order_items.line_total_cents', SUM(line_total_cents), SUM(quantity) FROM \`$db\`.order_items;"
    q+="SELECT 'payments.amount_cents', SUM(amount_cents), GROUP_CONCAT(DISTINCT method ORDER BY method) FROM \`$db\`.payments;"
    q+="SELECT 'users deleted, updated', COUNT(deleted_at), COUNT(updated_at), SUM(email_verified) FROM \`$db\`.users;"
    q+="SELECT 'accounts by plan', plan_code, COUNT(*) FROM \`$db\`.accounts GROUP BY plan_code;"
    q+="SELECT 'categories with parent', COUNT(parent_id), SUM(parent_id) FROM \`$db\`.categories;"
    sql -e "$q"
}

echo "# $N databases x 30 revisions ($(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["statements_up"], "upgrade statements")' "$W/workload.json"), head $HEAD), jobs $JOBS, runs $RUNS"
echo "# workload   $W"
echo "# retort     $RETORT_BIN ($(date -r "$RETORT_BIN" '+%F %T')), url_template $(grep -o 'mysql://[^"]*' "$WORK/fleet.toml")"
echo "# client     $("$CLIENT" --version)"
echo "# server     $(sql -e "SELECT CONCAT(VERSION(), ' at $HOST:$PORT, innodb_flush_log_at_trx_commit=', @@innodb_flush_log_at_trx_commit, ', sync_binlog=', @@sync_binlog, ', log_bin=', @@log_bin, ', innodb_doublewrite=', @@innodb_doublewrite)")"
echo "# hyperfine  $(hyperfine --version), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

# -- preflight: one untimed, checked run of each ----------------------------------
"$WORK/prepare.sh"
if ! out=$(timeout 900 $RETORT_CMD 2>&1); then
    echo "$out" | tail -40 >&2
    die "retort failed on fresh databases (command: $RETORT_CMD)"
fi
check_heads retort $names
left=$(sql -e "SELECT GROUP_CONCAT(TABLE_SCHEMA) FROM information_schema.TABLES WHERE TABLE_SCHEMA LIKE '${PREFIX}%' AND TABLE_NAME = 'alembic_version_progress'")
[ "$left" = NULL ] || echo "# note       retort left alembic_version_progress in: $left"
echo "# preflight  retort: all $N databases at $HEAD"

sweep
sql -e "DROP DATABASE IF EXISTS \`$CHECK_DB\`; CREATE DATABASE \`$CHECK_DB\`"
if ! out=$(timeout 300 sh -c "$FLOOR_ONE" sh "$CHECK_DB" 2>&1); then
    echo "$out" >&2; die "the client failed on a fresh database ($CHECK_DB)"
fi
check_heads client "$CHECK_DB"
ref=${PREFIX}1
schema_of "$ref" > "$WORK/schema.retort.txt"
schema_of "$CHECK_DB" > "$WORK/schema.client.txt"
[ -s "$WORK/schema.retort.txt" ] || die "empty schema read from $ref"
if ! diff -u "$WORK/schema.retort.txt" "$WORK/schema.client.txt" > "$WORK/schema.diff"; then
    head -60 "$WORK/schema.diff" >&2
    die "retort's schema ($ref) and the client's ($CHECK_DB) differ; full diff in $WORK/schema.diff"
fi
data_of "$ref" > "$WORK/data.retort.txt"
data_of "$CHECK_DB" > "$WORK/data.client.txt"
if ! diff -u "$WORK/data.retort.txt" "$WORK/data.client.txt" > "$WORK/data.diff"; then
    cat "$WORK/data.diff" >&2
    die "retort's data ($ref) and the client's ($CHECK_DB) differ"
fi
last=$PREFIX$N
schema_of "$last" > "$WORK/schema.retort.last.txt"
cmp -s "$WORK/schema.retort.txt" "$WORK/schema.retort.last.txt" || die "retort's schemas of $ref and $last differ"
echo "# preflight  client: $CHECK_DB at $HEAD; schema of $ref (retort) = $CHECK_DB (client): $(grep -c '^table' "$WORK/schema.retort.txt") tables and views, $(grep -c '^column' "$WORK/schema.retort.txt") columns, $(grep -c '^index' "$WORK/schema.retort.txt") index columns, $(grep -c '^trigger' "$WORK/schema.retort.txt") triggers, $(grep -c '^routine' "$WORK/schema.retort.txt") routines; data equal ($(awk '/^orders rows|^order_items rows|^payments rows|^users rows/ {printf "%s%s %s", sep, $1, $3; sep=", "}' "$WORK/data.retort.txt"))"
# Every downgrade, through retort, on the database the client built: nothing of
# the workload may be left.
if ! out=$(timeout 300 "$RETORT_BIN" -c "$WORK/check.toml" downgrade base 2>&1); then
    echo "$out" | tail -20 >&2; die "retort downgrade base failed on $CHECK_DB"
fi
rest=$(sql -e "SELECT CONCAT_WS(' ', (SELECT GROUP_CONCAT(TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$CHECK_DB' AND TABLE_NAME NOT IN ('alembic_version', $OWN)),
    (SELECT GROUP_CONCAT(ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '$CHECK_DB'),
    (SELECT GROUP_CONCAT(TRIGGER_NAME) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '$CHECK_DB'),
    (SELECT GROUP_CONCAT(version_num) FROM \`$CHECK_DB\`.alembic_version))")
[ -z "$rest" ] || die "retort downgrade base left on $CHECK_DB: $rest"
echo "# preflight  retort downgrade base on $CHECK_DB: nothing of the workload left, no version row"
sweep
sql -e "DROP DATABASE IF EXISTS \`$CHECK_DB\`"

# -- timing -------------------------------------------------------------------------
echo "# load average before timing: $(cut -d' ' -f1-3 /proc/loadavg)"
timeout -k 10 "$LIMIT" hyperfine --style basic --warmup 1 --runs "$RUNS" \
    --prepare "$WORK/prepare.sh" --export-json "$RESULTS/hyperfine.json" \
    -n retort "$RETORT_CMD" \
    -n floor "sh $WORK/floor.sh"
echo "# load average after timing: $(cut -d' ' -f1-3 /proc/loadavg)"
# The last timed run was the floor's: its databases must be at the head too.
check_heads "the client (floor)" $names

python3 - "$RESULTS/hyperfine.json" "$N" "$JOBS" <<'PY'
import json, statistics, sys

res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
n, jobs = sys.argv[2], sys.argv[3]
med = {k: statistics.median(v["times"]) for k, v in res.items()}
print()
print(f"{n} databases, jobs {jobs}")
for k in ("retort", "floor"):
    r = res[k]
    t = r["times"]
    print(f"{k:<7} median {med[k]:8.3f} s  (min {min(t):.3f}, max {max(t):.3f}, mean {r['mean']:.3f}, "
          f"user {r['user']:.3f} s, sys {r['system']:.3f} s, runs {len(t)})")
print(f"retort / floor = {med['retort'] / med['floor']:.3f}  (medians)")
PY
sweep
if [ -s "$WORK/stray.log" ]; then
    echo "# note       MariaDB left $(wc -l < "$WORK/stray.log") stray trigger backup files (*.TRG-) in the benchmark's databases; removed before their DROP DATABASE ($WORK/stray.log): $(sed 's|.*/||' "$WORK/stray.log" | sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')"
fi
echo
echo "# results    $RESULTS/hyperfine.json (workload and schema dumps in $WORK)"
