#!/usr/bin/env bash
# Apply's bookkeeping at scale (BENCHMARKS.md, "State at scale"; issue 13 item 4): a plan of
# TOPICS topics and CONSUMER_GROUPS groups (default 5,000 and 1,000: 12,003 steps), no cluster involved.
#
#   1. the example `apply_bookkeeping` (crates/kmigrate-migration/examples) applies the plan with steps
#      that do nothing but return outputs shaped like the real ones: the first apply (every step
#      runs: the walker and every checkpoint save), then RUNS no-op applies (every step done),
#      timed in-process; the plan and its finished state are kept in a directory;
#   2. `kmigrate apply` (the release binary) on that plan, RUNS times: the no-op apply as an
#      operator runs it, process start, plan parsing and validation included. Its clusters are
#      127.0.0.1:9 and 127.0.0.2:9, where nothing listens: a done step never connects, so any
#      connection attempt would fail the run.
#
#   scripts/bench-state.sh                      # TOPICS=5000 CONSUMER_GROUPS=1000 RUNS=5
#   TOPICS=1000 CONSUMER_GROUPS=200 scripts/bench-state.sh
#   NO_BUILD=1 scripts/bench-state.sh           # use the binaries already built
set -euo pipefail
cd "$(dirname "$0")/.."

TOPICS="${TOPICS:-5000}"
CONSUMER_GROUPS="${CONSUMER_GROUPS:-1000}"
RUNS="${RUNS:-5}"
target_dir="${CARGO_TARGET_DIR:-target}"

if [[ -z "${NO_BUILD:-}" ]]; then
  cargo build --release --locked -p kmigrate-cli -p kmigrate-migration --example apply_bookkeeping
fi
work="$(mktemp -d -t kmigrate-bench-state-XXXXXX)"
trap 'rm -rf "$work"' EXIT

echo "== apply_bookkeeping (in-process)"
"$target_dir/release/examples/apply_bookkeeping" "$TOPICS" "$CONSUMER_GROUPS" --runs "$RUNS" --keep "$work"

echo "== kmigrate apply $work/plan.yaml (every step done), $RUNS runs"
times=()
for _ in $(seq "$RUNS"); do
  start=$(date +%s%N)
  if ! "$target_dir/release/kmigrate" apply "$work/plan.yaml" --output json >"$work/apply.out" 2>&1; then
    cat "$work/apply.out"
    echo "bench-state: the no-op apply failed" >&2
    exit 1
  fi
  end=$(date +%s%N)
  times+=("$(( (end - start) / 1000000 ))")
done
grep -q '"already_done":' "$work/apply.out" || { cat "$work/apply.out"; exit 1; }
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "kmigrate apply (no-op): median ${sorted[$(( ${#sorted[@]} / 2 ))]} ms  (runs: ${times[*]} ms)"
grep -o '"already_done":[0-9]*' "$work/apply.out" | head -1
ls -l "$work/.kmigrate"
