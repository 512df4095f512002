#!/usr/bin/env bash
# Plugin cost: the same fleet run through the built-in PostgreSQL driver and
# through the C plugin (plugins/examples/libpq, libpq), whole process, paired in
# one session:
#   built-in  retort upgrade heads over N tenants, url postgres://…
#   plugin    the same over the same tenants, url pq://…, the C plugin loaded
# Workload: bench/pg's 30 revisions. Every timed run starts from N fresh, empty
# databases (hyperfine --prepare, untimed). Prints both medians and their ratio.
#
#   bench/plugin.sh [N=20] [RUNS=5] [JOBS=8]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/pg/common.sh"

N=${1:-20}
RUNS=${2:-5}
JOBS=${3:-8}
command -v hyperfine >/dev/null || die "hyperfine not found (apt-get install -y hyperfine)"
check_tools
RETORT_BIN=$(find_retort) || die "no retort binary; cargo build --release -p retort-cli, or set RETORT"
WORK=$(mktemp -d /tmp/retort-plugin-bench.XXXXXX)
W="$WORK/workload"
generate "$W" plugin_bench_1
names=$(seq 1 "$N" | sed 's/^/plugin_bench_/')
cleanup() { for db in $names; do drop_db "$db" >/dev/null 2>&1 || true; done; }
trap cleanup EXIT

cc -shared -fPIC -O2 -std=c11 -D_POSIX_C_SOURCE=200809L -I "$REPO_DIR/plugins/abi/include" \
    -I "$(pg_config --includedir)" "$REPO_DIR/plugins/examples/libpq/retort_libpq.c" -lpq \
    -o "$WORK/libretort_libpq.so"

write_prepare "$WORK/prepare.sh" $names

list=$(printf '"%s",' $names)
template=$(db_url '{name}')
for kind in builtin plugin; do
    url=$template
    plugins=""
    if [ "$kind" = plugin ]; then
        url="pq://${template#postgres://}"
        plugins="plugins = [\"$WORK/libretort_libpq.so\"]"
    fi
    cat > "$WORK/$kind.toml" <<TOML
jobs = $JOBS
$plugins
[fleets.bench]
script_location = "$W/retort"
url_template = "$url"
version_table = "alembic_version"
names = [${list%,}]
TOML
done

echo "# $N databases x 30 revisions, jobs $JOBS, $(nproc) CPUs, retort $RETORT_BIN"
for kind in builtin plugin; do
    "$WORK/prepare.sh"
    timeout 600 "$RETORT_BIN" -c "$WORK/$kind.toml" upgrade heads > /dev/null || die "$kind run failed"
    [ "$(version_of plugin_bench_$N)" = "$(head_of "$W")" ] || die "$kind left the wrong version"
done

hyperfine --style basic --warmup 1 --runs "$RUNS" --prepare "$WORK/prepare.sh" --export-json "$WORK/plugin.json" \
    -n built-in "$RETORT_BIN -c $WORK/builtin.toml upgrade heads" \
    -n plugin "$RETORT_BIN -c $WORK/plugin.toml upgrade heads"

python3 - "$WORK/plugin.json" <<'PY'
import json, statistics, sys
res = {r["command"]: r["times"] for r in json.load(open(sys.argv[1]))["results"]}
med = {k: statistics.median(v) for k, v in res.items()}
for k, t in res.items():
    print(f"{k:<9} median {med[k]:7.3f} s  (min {min(t):.3f}, max {max(t):.3f}, runs {len(t)})")
print(f"plugin / built-in = {med['plugin'] / med['built-in']:.3f}  (target <= 1.05)")
PY
