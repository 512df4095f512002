#!/usr/bin/env bash
# Large name lists: a schema-per-tenant fleet whose names_file (then names_query) holds N tenants,
# run with --shard 1/SHARDS (about N/SHARDS targets). Reports how long after
# the process started the first target started (from retort's own debug log),
# the whole `status` time and its peak memory. The tenants' schemas need not
# exist: `status` reads an absent version table as "nothing applied".
#
#   bench/names.sh [N=100000] [SHARDS=100]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/pg/common.sh"
N=${1:-100000}
SHARDS=${2:-100}
RETORT_BIN=$(find_retort) || die "no retort binary; cargo build --release -p retort-cli, or set RETORT"
WORK=$(mktemp -d /tmp/retort-names-bench.XXXXXX)
mkdir -p "$WORK/tenant/versions"
printf -- '-- Revision ID: n1aaaaaaaaaa\n-- Revises:\n-- migrate:up\nSELECT 1;\n-- migrate:down\nSELECT 1;\n' \
    > "$WORK/tenant/versions/n1aaaaaaaaaa.sql"
seq 0 $((N - 1)) | sed 's/^/tenant_/' > "$WORK/names.txt"
cat > "$WORK/retort.toml" <<TOML
[fleets.tenants]
script_location = "tenant"
url_template = "$(db_url postgres)"
schema_template = "{name}"
names_file = "names.txt"
TOML
cat > "$WORK/query.toml" <<TOML
[fleets.tenants]
script_location = "tenant"
url_template = "$(db_url postgres)"
schema_template = "{name}"
names_query = "SELECT 'tenant_' || g FROM generate_series(0, $((N - 1))) g"
control_url = "$(db_url postgres)"
TOML
cd "$WORK"
for config in retort.toml query.toml; do
echo "# names from $([ $config = retort.toml ] && echo "a names_file" || echo "a names_query") of $N"
for run in 1 2 3; do
    start=$(date +%s.%N)
    /usr/bin/time -f "%e %M" -o time.txt "$RETORT_BIN" -c $config status --shard "1/$SHARDS" --log retort_engine::fleet=debug \
        --log-format json > status.txt 2> log.txt
    first=$(grep -m1 '"target started"' log.txt | python3 -c 'import json,sys,datetime; print(datetime.datetime.fromisoformat(json.loads(sys.stdin.read())["timestamp"].replace("Z","+00:00")).timestamp())')
    read -r secs kb < time.txt
    targets=$(($(wc -l < status.txt) - 1))
    python3 -c "print(f'run $run: $targets of $N tenants (shard 1/$SHARDS): first target started after {$first - $start:.3f} s; status {float($secs):.2f} s, peak {$kb // 1024} MB')"
done
done
rm -rf "$WORK"
