#!/usr/bin/env bash
# Runs every fuzz target for a bounded time, each seeded from the repository's own
# fixtures. CI runs `bash fuzz/run.sh` (20 s per target); a longer hunt is
#
#   bash fuzz/run.sh 3600            # an hour per target
#   bash fuzz/run.sh 600 split spec  # ten minutes, two targets
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`).
# A failure leaves the input under fuzz/artifacts/<target>/; replay it with
# `cargo +nightly fuzz run <target> fuzz/artifacts/<target>/<file>`.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-20}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(split sql_header py_reader spec config)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/retort-fuzz-target}"
corpus_root="${RETORT_FUZZ_CORPUS:-$HOME/.cache/retort-fuzz-corpus}"

python3 seed.py "$corpus_root"
cargo +nightly fuzz build -O >/dev/null
for target in "${targets[@]}"; do
  mkdir -p "artifacts/$target"
  echo "fuzzing $target for ${seconds}s"
  log="$(mktemp)"
  status=0
  cargo +nightly fuzz run -O "$target" "$corpus_root/$target" -- \
    -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="artifacts/$target/" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -a -E '^(stat::number_of_executed_units|stat::new_units_added)|^Done' "$log" || true
  if [ "$status" -ne 0 ]; then
    grep -a -E -A12 'panicked|ERROR' "$log" | head -40
    echo "fuzz target $target failed; its input is in fuzz/artifacts/$target/"
    exit 1
  fi
  rm -f "$log"
done
