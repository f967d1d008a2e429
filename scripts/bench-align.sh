#!/usr/bin/env bash
# Alignment throughput (BENCHMARKS.md, "Aligning an external copy"; issue 11, item 3): how fast
# kmigrate rebuilds the source -> target offset map of data another tool copied, by reading both
# logs and matching records by content. On loopback only, Apache Kafka brokers:
#
#   1. starts a source and a target broker (the testkit's `local_broker`) and seeds RECORDS
#      records of 200-byte values (key, one header, explicit timestamps) into a topic of
#      PARTITIONS partitions on both: the target's copy is what an exact external copy leaves;
#   2. for each run, commits a fresh strict group on the source halfway into every partition
#      (Kafka's own kafka-consumer-groups), then runs `kmigrate apply` of a plan with
#      `sync.by: external` and that group; the `offsets:<group>` step aligns the logs and
#      commits the group on the target;
#   3. checks the target group's offsets with kafka-consumer-groups (the oracle: the logs are
#      identical, so the group must start where it stood on the source);
#   4. beside it, the read limit: two plain rdkafka consumers reading the two logs at the same time
#      (`bench_seed count`, nothing compared);
#   5. prints every run and the medians: source records aligned per second, CPU seconds per 1M
#      records (kmigrate's process over the step), and the read limit's.
#
# Contenders run ROUNDS times, interleaved, on the same two brokers.
#
#   RECORDS=1000000 PARTITIONS=4 ROUNDS=3 scripts/bench-align.sh
#
#   NO_BUILD=1           do not run cargo (use the binaries already in target/release)
#   KMIGRATE_BASELINE    another kmigrate binary to run beside this one (e.g. an older release)
#   BENCH_OUT            where to keep logs and results (default: a temp directory, printed)
#
# Needs: Java 17+ and Maven (scripts/ensure-kafka.sh), jq, awk, timeout, GNU time, bash 5.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

RECORDS="${RECORDS:-1000000}"
PARTITIONS="${PARTITIONS:-4}"
ROUNDS="${ROUNDS:-1}"
RUN_TIMEOUT="${RUN_TIMEOUT:-900}"

for tool in jq awk timeout /usr/bin/time java; do
  command -v "$tool" >/dev/null || { echo "bench-align: $tool is missing" >&2; exit 1; }
done
KMIGRATE_KAFKA_HOME="$(scripts/ensure-kafka.sh)"
export KMIGRATE_KAFKA_HOME
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release --locked -p kmigrate-cli >&2
  cargo build --release --locked -p kmigrate-kafka --example bench_seed >&2
  cargo build --release --locked -p kmigrate-testkit --example local_broker >&2
fi
target_dir="${CARGO_TARGET_DIR:-$root/target}"
kmigrate="$target_dir/release/kmigrate"
seed="$target_dir/release/examples/bench_seed"
local_broker="$target_dir/release/examples/local_broker"
export BENCH_COMPRESSION=none

out="${BENCH_OUT:-$(mktemp -d -t kmigrate-bench-align-XXXXXX)}"
mkdir -p "$out"
echo "bench-align: logs and results in $out" >&2
results="$out/results.tsv"
: >"$results"

bench=bench-align
# shellcheck source=scripts/bench-lib.sh
source "$root/scripts/bench-lib.sh"
pids=()
trap bench_cleanup EXIT

# groups BOOTSTRAP ARGS...: Kafka's kafka-consumer-groups.
groups() {
  local bootstrap=$1
  shift
  java -Xmx256m -XX:+UseSerialGC -Dlog4j2.rootLogger.level=OFF -cp "$KMIGRATE_KAFKA_HOME/lib/*" \
    org.apache.kafka.tools.consumer.group.ConsumerGroupCommand --bootstrap-server "$bootstrap" "$@"
}

# record NAME RECORDS WALL CPU NOTE
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"; }

echo "bench-align: starting the brokers and seeding $RECORDS records on both" >&2
start_kafka source
src=$broker_addr
start_kafka target
dst=$broker_addr
for b in "$src" "$dst"; do
  "$seed" create "$b" bench "$PARTITIONS"
  timeout "$RUN_TIMEOUT" "$seed" produce "$b" bench "$RECORDS" "$PARTITIONS" >>"$out/seed.json"
done
half=$((RECORDS / PARTITIONS / 2))

run_limit() {
  local dir="$out/read-$1" t0 t1
  mkdir -p "$dir"
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%U %S' -o "$dir/source.time" "$seed" count "$src" bench >"$dir/source.json" &
  local a=$!
  /usr/bin/time -f '%U %S' -o "$dir/target.time" "$seed" count "$dst" bench >"$dir/target.json" &
  local b=$!
  wait "$a" "$b"
  t1=$EPOCHREALTIME
  for side in source target; do
    [ "$(jq .records "$dir/$side.json")" = "$RECORDS" ] || { echo "bench-align: read $side: $(cat "$dir/$side.json")" >&2; exit 1; }
  done
  record read "$RECORDS" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
    "$(cat "$dir/source.time" "$dir/target.time" | awk '{s += $1 + $2} END {print s}')" "both logs read, nothing compared"
}

# run_apply NAME BINARY: kmigrate apply of a `sync.by: external` plan with one strict group.
run_apply() {
  local name=$1 binary=$2 dir="$out/$1" group="align-$1" km_pid="" t0="" t1="" c0=0 c1=0 line
  mkdir -p "$dir"
  groups "$src" --reset-offsets --group "$group" --topic bench --to-offset "$half" --execute >"$dir/reset.out" 2>&1
  cat >"$dir/plan.yaml" <<PLAN
version: 1
name: $name
source:
  bootstrap_servers: "$src"
target:
  bootstrap_servers: "$dst"
topics:
  - bench
data: synced
sync:
  by: external
cutover:
  at: "2024-01-01T00:00:00+00:00"
consumers:
  defaults: { offsets: broker-managed, loss: strict }
  groups:
    - { id: $group, drain: false }   # nothing consumes: it stays halfway
PLAN
  mkfifo "$dir/events.fifo"
  timeout "$RUN_TIMEOUT" "$binary" --output json apply "$dir/plan.yaml" >"$dir/events.fifo" 2>"$dir/stderr" &
  local apply_pid=$!
  while IFS= read -r line; do
    echo "$line" >>"$dir/events.jsonl"
    case "$line" in
      *'"event":"step_started"'*'"step":"offsets:'*)
        km_pid="$(pgrep -P "$apply_pid" | head -1 || true)"
        [ -n "$km_pid" ] || { echo "bench-align: cannot find the kmigrate process" >&2; exit 1; }
        t0=$EPOCHREALTIME c0=$(cpu_ticks "$km_pid") ;;
      *'"event":"step_done"'*'"step":"offsets:'*)
        t1=$EPOCHREALTIME c1=$(cpu_ticks "$km_pid") ;;
    esac
  done <"$dir/events.fifo"
  wait "$apply_pid" || { echo "bench-align: kmigrate apply failed; see $dir" >&2; tail -5 "$dir/stderr" >&2; exit 1; }
  [ -n "$t1" ] || { echo "bench-align: no offsets step seen; see $dir" >&2; exit 1; }
  grep -q '"exact-from-alignment"\|aligned logs' "$dir/events.jsonl" \
    || { echo "bench-align: $name did not align the logs; see $dir/events.jsonl" >&2; exit 1; }
  # The oracle: the logs are identical, so the group starts on the target where it stood on the source.
  groups "$dst" --describe --group "$group" >"$dir/describe.out" 2>&1
  local wrong
  wrong="$(awk -v want="$half" '$2 == "bench" && $4 != want' "$dir/describe.out")"
  [ -z "$wrong" ] && [ "$(awk '$2 == "bench"' "$dir/describe.out" | wc -l)" = "$PARTITIONS" ] \
    || { echo "bench-align: $name committed the wrong offsets:" >&2; cat "$dir/describe.out" >&2; exit 1; }
  record "$name" "$RECORDS" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$(secs $((c1 - c0)))" \
    "offsets step; target group at $half in each partition (kafka-consumer-groups)"
}

for round in $(seq "$ROUNDS"); do
  echo "bench-align: round $round/$ROUNDS: read limit" >&2
  run_limit "$round"
  echo "bench-align: round $round/$ROUNDS: kmigrate" >&2
  run_apply "kmigrate-$round" "$kmigrate"
  if [ -n "${KMIGRATE_BASELINE:-}" ]; then
    echo "bench-align: round $round/$ROUNDS: baseline" >&2
    run_apply "baseline-$round" "$KMIGRATE_BASELINE"
  fi
done

echo
echo "Every run ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); Apache Kafka $(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml), one node each; $RECORDS records of 200 bytes on each side, $PARTITIONS partitions):"
{
  printf 'run\trecords\twall s\trecords/s\tCPU s\tCPU s/1M\tnote\n'
  awk -F'\t' -v OFS='\t' '{printf "%s\t%d\t%.2f\t%.0f\t%.2f\t%.2f\t%s\n", $1, $2, $3, $2 / $3, $4, $4 * 1e6 / $2, $5}' "$results"
} | column -t -s $'\t'
stat_of() { awk -F'\t' -v p="$1" "\$1 ~ \"^\" p \"(-[0-9]+)?\$\" {print $2}" "$results" | median; }
echo
echo "Summary (median of $ROUNDS round(s)):"
{
  printf 'contender\trecords/s\tCPU s per 1M records\n'
  for c in kmigrate baseline read; do
    [ "$c" = baseline ] && [ -z "${KMIGRATE_BASELINE:-}" ] && continue
    printf '%s\t%.0f\t%.2f\n' "$c" "$(stat_of "$c" '$2 / $3')" "$(stat_of "$c" '$4 * 1e6 / $2')"
  done
} | column -t -s $'\t'
