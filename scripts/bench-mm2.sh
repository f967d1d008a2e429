#!/usr/bin/env bash
# MirrorMaker 2 against kmigrate's own copy and the pure-producer limit (BENCHMARKS.md,
# "MirrorMaker 2 on Kafka Connect"; issue 11, item 6). On loopback only, Apache Kafka brokers:
#
#   1. starts a source broker (the testkit's, `local_broker`) and seeds RECORDS records of
#      200-byte values (key, one header, explicit timestamps) into a topic of PARTITIONS partitions;
#   2. for each contender, a fresh, empty target broker:
#        limit     a pure rdkafka producer writing the same records straight to the target;
#        kmigrate  kmigrate apply (data synced by kmigrate, cutover in the past);
#        mm2       kmigrate apply with `sync.by: mirrormaker2` on one Kafka Connect worker in
#                  distributed mode (the testkit's, `local_connect`: its internal topics on the
#                  target, offsets flushed every second), default tasks (tasks.max=1);
#   3. prints every run and the medians: records/s, CPU seconds per 1M records, the brokers' CPU,
#      and the time to first byte.
#
# What is timed: for kmigrate and mm2, from the start of the copying step (`copy:bench`; for mm2,
# `connectors`, which submits the connectors) to the moment the target holds every record
# (`bench_seed reach`, high watermarks polled every 50 ms), and, beside it, to the end of the step
# that waits for the copy (`copy:` / `mirror:`, which for MirrorMaker also waits for Connect to
# commit its offsets); CPU: kmigrate's process plus, for mm2, the Connect worker's JVM, over the
# step window; time to first byte: from launching `kmigrate apply` to the first record on the
# target (the same preflight and topic steps come first in both). The limit: its own window (the
# producer's creation to its flush). Every contender runs ROUNDS times, interleaved.
#
#   RECORDS=1000000 PARTITIONS=4 ROUNDS=1 scripts/bench-mm2.sh
#
#   NO_BUILD=1   do not run cargo (use the binaries already in target/release)
#   BENCH_OUT    where to keep logs and results (default: a temp directory, printed)
#
# Needs: Java 17+ and Maven (scripts/ensure-kafka.sh), jq, awk, timeout, bash 5.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

RECORDS="${RECORDS:-1000000}"
PARTITIONS="${PARTITIONS:-4}"
ROUNDS="${ROUNDS:-1}"
RUN_TIMEOUT="${RUN_TIMEOUT:-900}"

for tool in jq awk timeout; do
  command -v "$tool" >/dev/null || { echo "bench-mm2: $tool is missing" >&2; exit 1; }
done
KMIGRATE_KAFKA_HOME="$(scripts/ensure-kafka.sh)"
export KMIGRATE_KAFKA_HOME
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release --locked -p kmigrate-cli >&2
  cargo build --release --locked -p kmigrate-kafka --example bench_seed >&2
  cargo build --release --locked -p kmigrate-testkit --example local_broker --example local_connect >&2
fi
target_dir="${CARGO_TARGET_DIR:-$root/target}"
kmigrate="$target_dir/release/kmigrate"
seed="$target_dir/release/examples/bench_seed"
local_broker="$target_dir/release/examples/local_broker"
local_connect="$target_dir/release/examples/local_connect"
export BENCH_COMPRESSION=none

out="${BENCH_OUT:-$(mktemp -d -t kmigrate-bench-mm2-XXXXXX)}"
mkdir -p "$out"
echo "bench-mm2: logs and results in $out" >&2
results="$out/results.tsv"
: >"$results"

bench=bench-mm2
# shellcheck source=scripts/bench-lib.sh
source "$root/scripts/bench-lib.sh"
pids=()
trap bench_cleanup EXIT

start_broker() { start_kafka "$@"; }

# start_connect NAME BOOTSTRAP: sets connect_pid, connect_jvm_pid and connect_url.
start_connect() {
  local dir="$out/$1"
  mkdir -p "$dir"
  "$local_connect" "$2" >"$dir/connect.out" 2>&1 &
  connect_pid=$!
  pids+=("$connect_pid")
  for _ in $(seq 1800); do
    kill -0 "$connect_pid" 2>/dev/null || break
    if grep -q '^ready' "$dir/connect.out" 2>/dev/null; then
      read -r _ connect_url connect_jvm_pid _ <"$dir/connect.out"
      return
    fi
    sleep 0.1
  done
  echo "bench-mm2: Kafka Connect did not start; see $dir/connect.out" >&2
  exit 1
}

# record NAME RECORDS WALL CPU BROKERS_CPU TTFB STEP_WALL NOTE
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"; }

echo "bench-mm2: starting the source broker and seeding $RECORDS records" >&2
start_broker source
src_pid=$broker_cpu_pid
src=$broker_addr
"$seed" create "$src" bench "$PARTITIONS"
timeout "$RUN_TIMEOUT" "$seed" produce "$src" bench "$RECORDS" "$PARTITIONS" | tee "$out/seed.json" >&2

run_limit() {
  local dir="$out/limit-$1" b0 b1
  mkdir -p "$dir"
  start_broker "target-limit-$1"
  "$seed" create "$broker_addr" bench "$PARTITIONS"
  b0=$(($(cpu_ticks "$src_pid") + $(cpu_ticks "$broker_cpu_pid")))
  timeout "$RUN_TIMEOUT" "$seed" produce "$broker_addr" bench "$RECORDS" "$PARTITIONS" >"$dir/produce.json"
  b1=$(($(cpu_ticks "$src_pid") + $(cpu_ticks "$broker_cpu_pid")))
  record limit "$RECORDS" "$(jq .seconds "$dir/produce.json")" "$(jq .cpu_seconds "$dir/produce.json")" \
    "$(secs $((b1 - b0)))" "" "" "producer only"
  stop "$broker_pid"
}

# run_apply NAME SYNC: kmigrate apply with `sync.by: SYNC` (kmigrate or mirrormaker2).
run_apply() {
  local name=$1 sync=$2 dir="$out/$1" km_pid="" start t0="" t1="" c0=0 c1=0 b0=0 b1=0 line first last
  local begin_step end_step worker_cpu=0 sync_yaml
  mkdir -p "$dir"
  start_broker "target-$name"
  if [ "$sync" = mirrormaker2 ]; then
    start_connect "connect-$name" "$broker_addr"
    begin_step='"step":"connectors"' end_step='"step":"mirror:'
    sync_yaml="  by: mirrormaker2
  connect:
    url: \"$connect_url\"
    name_prefix: bench"
  else
    connect_jvm_pid="" begin_step='"step":"copy:' end_step='"step":"copy:'
    sync_yaml="  by: kmigrate
  compression: none"
  fi
  cat >"$dir/plan.yaml" <<EOF
version: 1
name: $name
source:
  bootstrap_servers: "$src"
target:
  bootstrap_servers: "$broker_addr"
topics:
  - bench
data: synced
sync:
$sync_yaml
cutover:
  at: "2024-01-01T00:00:00+00:00"
EOF
  "$seed" reach "$broker_addr" bench 1 >"$dir/first" &
  local first_pid=$!
  "$seed" reach "$broker_addr" bench "$RECORDS" >"$dir/last" &
  local last_pid=$!
  mkfifo "$dir/events.fifo"
  start=$EPOCHREALTIME
  timeout "$RUN_TIMEOUT" "$kmigrate" --output json apply "$dir/plan.yaml" >"$dir/events.fifo" 2>"$dir/stderr" &
  local apply_pid=$!
  workers() { [ -n "$connect_jvm_pid" ] && cpu_ticks "$connect_jvm_pid" || echo 0; }
  while IFS= read -r line; do
    echo "$line" >>"$dir/events.jsonl"
    case "$line" in
      *'"event":"step_started"'*"$begin_step"*)
        km_pid="$(pgrep -P "$apply_pid" | head -1 || true)"
        [ -n "$km_pid" ] && [ "$(cat "/proc/$km_pid/comm" 2>/dev/null)" = kmigrate ] \
          || { echo "bench-mm2: cannot find the kmigrate process" >&2; exit 1; }
        t0=$EPOCHREALTIME c0=$(($(cpu_ticks "$km_pid") + $(workers)))
        b0=$(($(cpu_ticks "$src_pid") + $(cpu_ticks "$broker_cpu_pid"))) ;;
      *'"event":"step_done"'*"$end_step"*)
        t1=$EPOCHREALTIME c1=$(($(cpu_ticks "$km_pid") + $(workers)))
        b1=$(($(cpu_ticks "$src_pid") + $(cpu_ticks "$broker_cpu_pid"))) ;;
    esac
  done <"$dir/events.fifo"
  wait "$apply_pid" || { echo "bench-mm2: kmigrate apply failed; see $dir" >&2; tail -5 "$dir/stderr" >&2; exit 1; }
  wait "$first_pid" "$last_pid"
  [ -n "$t1" ] || { echo "bench-mm2: no copy step seen; see $dir" >&2; exit 1; }
  first="$(cat "$dir/first")" last="$(cat "$dir/last")"
  local count
  count="$("$seed" count "$broker_addr" bench)"
  echo "$count" >"$dir/count.json"
  [ "$(jq .records <<<"$count")" = "$RECORDS" ] || { echo "bench-mm2: $name copied $(jq .records <<<"$count") of $RECORDS" >&2; exit 1; }
  local wall step_wall ttfb
  wall="$(awk -v a="$t0" -v b="$last" 'BEGIN {print b - a}')"
  step_wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
  ttfb="$(awk -v a="$start" -v b="$first" 'BEGIN {print b - a}')"
  record "$name" "$RECORDS" "$wall" "$(secs $((c1 - c0)))" "$(secs $((b1 - b0)))" "$ttfb" "$step_wall" \
    "headers $(jq .with_headers <<<"$count")/$RECORDS, source timestamps $(jq .seeded_timestamps <<<"$count")/$RECORDS"
  [ "$sync" = mirrormaker2 ] && stop "$connect_pid"
  stop "$broker_pid"
}

for round in $(seq "$ROUNDS"); do
  echo "bench-mm2: round $round/$ROUNDS: limit" >&2
  run_limit "$round"
  echo "bench-mm2: round $round/$ROUNDS: kmigrate" >&2
  run_apply "kmigrate-$round" kmigrate
  echo "bench-mm2: round $round/$ROUNDS: mm2" >&2
  run_apply "mm2-$round" mirrormaker2
done

echo
echo "Every run ($(nproc) cores; Apache Kafka $(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml), one node each; $RECORDS records of 200 bytes, $PARTITIONS partitions):"
{
  printf 'run\trecords\tcopy wall s\trecords/s\tCPU s\tCPU s/1M\tbrokers CPU s\ttime to first byte s\tstep wall s\tnote\n'
  awk -F'\t' -v OFS='\t' '{printf "%s\t%d\t%.2f\t%.0f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%s\n", $1, $2, $3, $2 / $3, $4, $4 * 1e6 / $2, $5, $6, $7, $8}' "$results"
} | column -t -s $'\t'
stat_of() { awk -F'\t' -v p="$1" "\$1 ~ \"^\" p \"(-[0-9]+)?\$\" && $2 != \"\" {print $2}" "$results" | median; }
echo
echo "Summary (median of $ROUNDS round(s)):"
{
  printf 'contender\trecords/s\tCPU s per 1M records\tbrokers CPU s\ttime to first byte s\n'
  for c in mm2 kmigrate limit; do
    printf '%s\t%.0f\t%.2f\t%.2f\t%s\n' "$c" "$(stat_of "$c" '$2 / $3')" "$(stat_of "$c" '$4 * 1e6 / $2')" \
      "$(stat_of "$c" '$5')" "$([ "$c" = limit ] && echo - || stat_of "$c" '$6')"
  done
} | column -t -s $'\t'
