#!/usr/bin/env bash
# Graph commands, retort against Alembic, on the same generated Alembic history
# (.py files), whole process, medians over several runs in one session:
#   heads    load the history and list heads
#   current  load the history and show the database's current revision
#   history  load the history and walk it (the topological order a plan uses)
# Usage: bench/graph.sh [N=10000] [RUNS=5]. Needs python3 with alembic==1.20.1,
# hyperfine (apt-get install hyperfine) and a release build of retort.
# In-process figures for retort alone: cargo bench -p retort-history --bench graph.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
n=${1:-10000}
runs=${2:-5}
retort=${RETORT:-${CARGO_TARGET_DIR:-$here/../target}/release/retort}
[ -x "$retort" ] || { echo "build retort first: cargo build --release -p retort-cli (or set RETORT=path)"; exit 2; }
command -v hyperfine >/dev/null || { echo "hyperfine is missing: apt-get install -y hyperfine"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 "$here/gen_history.py" "$n" "$work/h" --format py >/dev/null
cat > "$work/h/retort.toml" <<TOML
[databases.bench]
url = "sqlite://bench.db"
script_location = "."
version_table = "alembic_version"
TOML
(cd "$work/h" && python3 -m alembic -c alembic.ini stamp head >/dev/null 2>&1)

cd "$work/h"
export PYTHONDONTWRITEBYTECODE=
for cmd in heads current history; do
  current_runs=$runs
  [ "$cmd" = current ] && [ "$n" -ge 5000 ] && current_runs=$(( runs < 3 ? runs : 3 ))
  hyperfine --style basic --warmup 1 --runs "$current_runs" --export-json "$work/$cmd.json" \
    -n "retort $cmd" "$retort -c retort.toml $cmd" \
    -n "alembic $cmd" "python3 -m alembic -c alembic.ini $cmd" >/dev/null
  python3 - "$work/$cmd.json" "$cmd" "$n" <<'PY'
import json, sys
results = {r["command"].split()[0]: r for r in json.load(open(sys.argv[1]))["results"]}
r, a = results["retort"], results["alembic"]
print(f"N={sys.argv[3]} {sys.argv[2]:8s} retort median {r['median']*1000:9.1f} ms   alembic median {a['median']*1000:9.1f} ms   alembic/retort {a['median']/r['median']:7.1f}x")
PY
done
