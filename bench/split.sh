#!/usr/bin/env bash
# Splitter throughput, per input shape, dialect and size (10 KB to 10 MB).
# Runs the criterion benchmark `engine/benches/split.rs`, then prints the median time
# per megabyte of each case and the ratio of the 10 MB case to the 10 KB case:
# a linear splitter keeps that ratio near 1 (a quadratic one grows it ~1000×).
#
#   bash bench/split.sh                      # full run, about two minutes
#   bash bench/split.sh --measurement-time 1 # quicker, noisier
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo bench -q -p retort-engine --bench split -- --warm-up-time 1 "$@" >/dev/null
python3 - "$target/criterion" <<'PY'
import json, os, sys
root = sys.argv[1]
rows = {}
for shape in ("blanks", "string", "comment", "statements"):
    for flavor in ("Postgres", "MySql", "SqlServer", "Sqlite"):
        for size in (10_000, 100_000, 1_000_000, 10_000_000):
            d = os.path.join(root, f"split_{shape}", flavor, str(size), "new")
            median_ns = json.load(open(os.path.join(d, "estimates.json")))["median"]["point_estimate"]
            nbytes = json.load(open(os.path.join(d, "benchmark.json")))["throughput"]["Bytes"]
            rows.setdefault((shape, flavor), []).append(median_ns / 1e6 / (nbytes / 1e6))
print(f"{'shape':<11}{'dialect':<10}" + "".join(f"{s:>10}" for s in ("10KB", "100KB", "1MB", "10MB")) + "   10MB/10KB")
for (shape, flavor), per_mb in rows.items():
    cells = "".join(f"{v:>8.2f}ms" for v in per_mb)
    print(f"{shape:<11}{flavor:<10}{cells}   {per_mb[-1] / per_mb[0]:>6.2f}x")
print("(median milliseconds per megabyte of input)")
PY
