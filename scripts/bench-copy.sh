#!/usr/bin/env bash
# The copy benchmark (BENCHMARKS.md, "Copy throughput"; issue 5). On loopback only:
#
#   1. starts a source broker (BROKER=kafka: Apache Kafka, single-node KRaft, the testkit's; or
#      BROKER=tansu: tansu's memory engine) and seeds RECORDS records of 200-byte values
#      (key, one header, explicit timestamps) into a topic of PARTITIONS partitions, plus
#      SMALL_RECORDS into a second topic (kmigrate's peak RSS at two topic sizes);
#   2. for each contender, starts a fresh, empty target broker of the same kind and measures:
#        limit     a pure rdkafka producer (bench_seed produce, the copy pipe's producer settings)
#                  writing the same records straight to the target: the fastest any copy can be;
#        kcat      kcat -C -e | kcat -P (key and value only: it drops headers and timestamps),
#                  tuned like kmigrate's own clients (same fetch wait, fetch sizes, linger,
#                  batch sizes, buffers, idempotence and acks: a rival's slow default measures
#                  the setting, not the tool);
#        kmigrate  kmigrate apply (data: synced, cutover in the past) copying the topic;
#   3. prints every run and a summary: records/s, CPU seconds of the copying processes per 1M
#      records, the brokers' CPU, the ratios to kcat and to the limit, peak RSS.
#
# What is timed: kmigrate, its copy step (from the step_started to the step_done event on
# --output json; CPU read from /proc at both; RSS = VmHWM at the step's end), and the whole apply
# (preflight, topic, copy, cutover, verify; the copy step also reads the target behind its producer
# and folds the digests verify compares, so verify itself reads next to nothing) beside it, with
# each step's duration from the events; the limit, its own window from creating the producer to
# the end of its flush (it prints it); kcat, the whole pipe (both processes, /usr/bin/time). The
# brokers' CPU (both broker processes) is read from /proc around each run. Every contender runs
# ROUNDS times, interleaved; the summary takes the median.
# The small topic (SMALL_RECORDS) is copied in every round too, for kmigrate's RSS at two sizes.
#
#   RECORDS=1000000 SMALL_RECORDS=200000 PARTITIONS=4 ROUNDS=1 scripts/bench-copy.sh
#
#   BROKER             kafka (default; needs Java 17+ and Maven: scripts/ensure-kafka.sh) or tansu
#   NO_BUILD=1         do not run cargo (use the binaries already in target/release)
#   COMPRESSION        the codec of every writer (default none, the conditions of BENCHMARKS.md's
#                      tables): the seeded source batches, the limit producer, kcat -P, and the copy
#                      (`sync.compression`; also given to KMIGRATE_BASELINE if its `validate` takes
#                      the key: without it, a baseline compresses as kmigrate decides, lz4 here)
#   KCAT_LIBRDKAFKA    a directory holding a current librdkafka.so.1 for kcat (Debian's kcat links
#                      librdkafka 2.0.2, which cannot parse tansu's ApiVersions answer: "Read
#                      underflow"). Default: built once into the cache from the source that
#                      rdkafka-sys bundles, the librdkafka kmigrate links statically (its CMake
#                      build makes no shared library); zstd and gzip if libzstd-dev and zlib1g-dev
#                      are installed.
#   BENCH_OUT          where to keep logs and results (default: a temp directory, printed)
#   KMIGRATE_BASELINE  another kmigrate binary (e.g. built from an older commit) to measure in the
#                      same rounds, as "baseline": before/after figures under the same conditions
#
# Needs: kcat (apt-get install kcat), /usr/bin/time (apt-get install time), jq, awk, bash 5.
# Everything listens on 127.0.0.1 only; every measured run is bounded by RUN_TIMEOUT (900 s).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

RECORDS="${RECORDS:-1000000}"
SMALL_RECORDS="${SMALL_RECORDS:-200000}"
PARTITIONS="${PARTITIONS:-4}"
ROUNDS="${ROUNDS:-1}"
RUN_TIMEOUT="${RUN_TIMEOUT:-900}" # seconds, per measured run

for tool in kcat /usr/bin/time jq awk timeout; do
  command -v "$tool" >/dev/null || { echo "bench-copy: $tool is missing" >&2; exit 1; }
done

BROKER="${BROKER:-kafka}"
case "$BROKER" in
  kafka) KMIGRATE_KAFKA_HOME="$(scripts/ensure-kafka.sh)"; export KMIGRATE_KAFKA_HOME ;;
  tansu) tansu="$(scripts/ensure-tansu.sh)" ;;
  *) echo "bench-copy: BROKER=$BROKER: expected kafka or tansu" >&2; exit 64 ;;
esac
if [ -z "${NO_BUILD:-}" ]; then
  cargo build --release --locked -p kmigrate-cli >&2
  cargo build --release --locked -p kmigrate-kafka --example bench_seed >&2
  cargo build --release --locked -p kmigrate-testkit --example local_broker >&2
fi
target_dir="${CARGO_TARGET_DIR:-$root/target}"
kmigrate="$target_dir/release/kmigrate"
seed="$target_dir/release/examples/bench_seed"
local_broker="$target_dir/release/examples/local_broker"

COMPRESSION="${COMPRESSION:-none}"
export BENCH_COMPRESSION="$COMPRESSION" # bench_seed's producer: the seeded source and the limit

if [ -z "${KCAT_LIBRDKAFKA:-}" ]; then
  rdkafka_sys="$(awk '$0 == "name = \"rdkafka-sys\"" {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
  KCAT_LIBRDKAFKA="${KMIGRATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kmigrate}/librdkafka-$rdkafka_sys/src"
  if [ ! -e "$KCAT_LIBRDKAFKA/librdkafka.so.1" ]; then
    bundled="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"rdkafka-sys-$rdkafka_sys"/librdkafka 2>/dev/null | head -1 || true)"
    [ -n "$bundled" ] || { echo "bench-copy: no sources of rdkafka-sys $rdkafka_sys (cargo fetch); or set KCAT_LIBRDKAFKA" >&2; exit 1; }
    echo "bench-copy: building librdkafka $rdkafka_sys as a shared library for kcat (once)" >&2
    build="$(dirname "$KCAT_LIBRDKAFKA")"
    rm -rf "$build" && mkdir -p "$build" && cp -a "$bundled/." "$build"
    (cd "$build" && ./configure --disable-ssl --disable-gssapi --disable-curl >&2 && make -j"$(nproc)" libs >&2)
  fi
fi
kcat_version="$( (LD_LIBRARY_PATH="$KCAT_LIBRDKAFKA" kcat -V 2>&1 || true) | grep -o 'librdkafka [0-9.]*' | head -1 || true)"

# kcat with kmigrate's own client settings (crates/kmigrate-kafka/src/copy/clients.rs, at the
# default topic limits).
KCAT_CONSUMER="-X fetch.wait.max.ms=20 -X fetch.queue.backoff.ms=10 -X fetch.max.bytes=67108864 -X max.partition.fetch.bytes=16777216 -X queued.max.messages.kbytes=8192 -X check.crcs=false"
KCAT_PRODUCER="-X enable.idempotence=true -X acks=all -X linger.ms=20 -X batch.size=1048576 -X batch.num.messages=100000 -X queue.buffering.max.kbytes=8192 -X queue.buffering.max.messages=1000000"

out="${BENCH_OUT:-$(mktemp -d -t kmigrate-bench-XXXXXX)}"
if [ -n "$(ls -A "$out" 2>/dev/null)" ]; then
  echo "bench-copy: BENCH_OUT=$out is not empty (an earlier run's files would mix with this one's)" >&2
  exit 64
fi
mkdir -p "$out"
echo "bench-copy: logs and results in $out" >&2
results="$out/results.tsv"
: >"$results"

bench=bench-copy
# shellcheck source=scripts/bench-lib.sh
source "$root/scripts/bench-lib.sh"
pids=()
trap bench_cleanup EXIT

# start_broker NAME: starts a broker of kind $BROKER; sets broker_pid (the process to stop),
# broker_cpu_pid (the process whose CPU is the broker's: the JVM for Kafka) and broker_addr.
start_broker() {
  if [ "$BROKER" = kafka ]; then start_kafka "$@"; else start_tansu "$@"; fi
}

# start_tansu NAME: a memory-engine tansu. A free port can be taken before tansu binds it: then it
# exits, and another port is tried.
start_tansu() {
  local name=$1 port dir attempt
  dir="$out/$name"
  mkdir -p "$dir"
  for attempt in 1 2 3 4 5; do
    port="$(free_port)"
    (cd "$dir" && exec "$tansu" broker --cluster-id "bench-$name" \
      --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine memory://tansu/ >"$dir/tansu.log" 2>&1) &
    broker_pid=$!
    broker_cpu_pid=$broker_pid
    pids+=("$broker_pid")
    broker_addr="127.0.0.1:$port"
    for _ in $(seq 200); do
      kill -0 "$broker_pid" 2>/dev/null || break
      if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        sleep 0.2
        kill -0 "$broker_pid" 2>/dev/null && return
        break
      fi
      sleep 0.1
    done
    stop_broker "$broker_pid"
  done
  echo "bench-copy: tansu $name did not start; see $dir/tansu.log" >&2
  exit 1
}

stop_broker() { stop "$1"; }

# time_field FILE NAME: a field of /usr/bin/time -v's report.
time_field() { awk -F': ' -v k="$2" '$1 ~ k {print $2}' "$1" | tr -d '\t '; }
wall_secs() { # "h:mm:ss" or "m:ss.ss" -> seconds
  awk -F: '{ if (NF == 3) print $1 * 3600 + $2 * 60 + $3; else print $1 * 60 + $2 }' <<<"$1"
}

# record NAME RECORDS WALL CPU BROKER_CPU RSS_KB PROCESS_RSS_KB NOTE (RSS_KB: peak while copying;
# PROCESS_RSS_KB: the process's peak, for kmigrate the whole apply, verify included)
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$results"; }

echo "bench-copy: starting the source broker and seeding $RECORDS + $SMALL_RECORDS records" >&2
start_broker source
src_pid=$broker_cpu_pid
src=$broker_addr
"$seed" create "$src" bench "$PARTITIONS"
"$seed" create "$src" bench-small "$PARTITIONS"
timeout "$RUN_TIMEOUT" "$seed" produce "$src" bench "$RECORDS" "$PARTITIONS" | tee "$out/seed.json" >&2
timeout "$RUN_TIMEOUT" "$seed" produce "$src" bench-small "$SMALL_RECORDS" "$PARTITIONS" >&2

run_limit() {
  local round=$1 dir="$out/limit-$round" b0 b1
  mkdir -p "$dir"
  start_broker "target-limit-$round"
  "$seed" create "$broker_addr" bench "$PARTITIONS"
  b0=$(($(cpu_ticks "$src_pid") + $(cpu_ticks "$broker_cpu_pid")))
  timeout "$RUN_TIMEOUT" /usr/bin/time -v -o "$dir/time" \
    "$seed" produce "$broker_addr" bench "$RECORDS" "$PARTITIONS" >"$dir/produce.json"
  b1=$(($(cpu_ticks "$src_pid") + $(cpu_ticks "$broker_cpu_pid")))
  # Its own window: from creating the producer to the end of its flush (like kmigrate's copy
  # step, which also creates its clients), and the CPU it used meanwhile.
  local wall cpu
  wall="$(jq .seconds "$dir/produce.json")"
  cpu="$(jq .cpu_seconds "$dir/produce.json")"
  record limit "$RECORDS" "$wall" "$cpu" "$(awk -v t=$((b1 - b0)) -v hz="$hz" 'BEGIN {print t / hz}')" \
    "$(time_field "$dir/time" 'Maximum resident')" "$(time_field "$dir/time" 'Maximum resident')" "all fields"
  stop_broker "$broker_pid"
}

run_kcat() {
  local round=$1 dir="$out/kcat-$round" b0 b1 count
  mkdir -p "$dir"
  start_broker "target-kcat-$round"
  "$seed" create "$broker_addr" bench "$PARTITIONS"
  b0=$(($(cpu_ticks "$src_pid") + $(cpu_ticks "$broker_cpu_pid")))
  # time -v reports the shell's waited-for children: both kcat processes.
  LD_LIBRARY_PATH="$KCAT_LIBRDKAFKA" timeout "$RUN_TIMEOUT" /usr/bin/time -v -o "$dir/time" bash -c \
    "kcat -C -b '$src' -t bench -o beginning -e -q -f '%k\t%s\n' $KCAT_CONSUMER | kcat -P -b '$broker_addr' -t bench -K '\t' $KCAT_PRODUCER -X compression.type=$COMPRESSION" \
    2>"$dir/kcat.err"
  b1=$(($(cpu_ticks "$src_pid") + $(cpu_ticks "$broker_cpu_pid")))
  count="$("$seed" count "$broker_addr" bench)"
  echo "$count" >"$dir/count.json"
  local wall cpu n
  wall="$(wall_secs "$(time_field "$dir/time" 'Elapsed')")"
  cpu="$(awk '{s += $1} END {print s}' <<<"$(time_field "$dir/time" 'User time')
$(time_field "$dir/time" 'System time')")"
  n="$(jq .records <<<"$count")"
  record kcat "$n" "$wall" "$cpu" "$(awk -v t=$((b1 - b0)) -v hz="$hz" 'BEGIN {print t / hz}')" \
    "$(time_field "$dir/time" 'Maximum resident')" "$(time_field "$dir/time" 'Maximum resident')" \
    "headers $(jq .with_headers <<<"$count")/$n, source timestamps $(jq .seeded_timestamps <<<"$count")/$n"
  stop_broker "$broker_pid"
}

# takes_compression BINARY: whether its plans have `sync.compression` (kmigrate's always; an older
# baseline's only if its `validate` accepts the key).
takes_compression() {
  [ "$1" = "$kmigrate" ] && return 0
  local plan="$out/takes-compression.yaml"
  printf 'version: 1\nname: probe\nsource:\n  bootstrap_servers: "127.0.0.1:1"\ntarget:\n  bootstrap_servers: "127.0.0.1:2"\ntopics:\n  - t\ndata: synced\nsync:\n  by: kmigrate\n  compression: none\ncutover:\n  at: "2024-01-01T00:00:00+00:00"\n' >"$plan"
  "$1" validate "$plan" >/dev/null 2>&1
}

# run_kmigrate NAME TOPIC RECORDS [BINARY]
run_kmigrate() {
  local name=$1 topic=$2 n=$3 bin=${4:-$kmigrate} dir="$out/$1" km_pid t0="" t1="" c0=0 c1=0 b0=0 b1=0 line copy_hwm=0
  mkdir -p "$dir"
  start_broker "target-$name"
  cat >"$dir/plan.yaml" <<EOF
version: 1
name: $name
source:
  bootstrap_servers: "$src"
target:
  bootstrap_servers: "$broker_addr"
topics:
  - $topic
data: synced
sync:
  by: kmigrate
$(takes_compression "$bin" && echo "  compression: $COMPRESSION")
cutover:
  at: "2024-01-01T00:00:00+00:00"
EOF
  mkfifo "$dir/events.fifo"
  timeout "$RUN_TIMEOUT" /usr/bin/time -v -o "$dir/time" \
    "$bin" --output json apply "$dir/plan.yaml" >"$dir/events.fifo" 2>"$dir/stderr" &
  local time_pid=$!
  # The copy step's CPU: kmigrate's (and the brokers') CPU counters when the step starts and ends.
  while IFS= read -r line; do
    echo "$line" >>"$dir/events.jsonl"
    case "$line" in
      *'"event":"step_started"'*'"step":"copy:'*)
        # timeout -> time -> kmigrate
        km_pid="$(pgrep -P "$(pgrep -P "$time_pid" | head -1)" | head -1 || true)"
        [ -n "$km_pid" ] && [ "$(cat "/proc/$km_pid/comm" 2>/dev/null)" = kmigrate ] \
          || { echo "bench-copy: cannot find the kmigrate process" >&2; exit 1; }
        t0=$EPOCHREALTIME c0=$(cpu_ticks "$km_pid") b0=$(($(cpu_ticks "$src_pid") + $(cpu_ticks "$broker_cpu_pid"))) ;;
      *'"event":"step_done"'*'"step":"copy:'*)
        t1=$EPOCHREALTIME c1=$(cpu_ticks "$km_pid") b1=$(($(cpu_ticks "$src_pid") + $(cpu_ticks "$broker_cpu_pid")))
        copy_hwm="$(awk '/^VmHWM/ {print $2}' "/proc/$km_pid/status")" ;;
    esac
  done <"$dir/events.fifo"
  wait "$time_pid" || { echo "bench-copy: kmigrate apply failed; see $dir" >&2; tail -5 "$dir/stderr" >&2; exit 1; }
  [ -n "$t1" ] || { echo "bench-copy: no copy step seen; see $dir" >&2; exit 1; }
  local count
  count="$("$seed" count "$broker_addr" "$topic")"
  echo "$count" >"$dir/count.json"
  [ "$(jq .records <<<"$count")" = "$n" ] || { echo "bench-copy: kmigrate copied $(jq .records <<<"$count") of $n" >&2; exit 1; }
  local wall cpu apply_wall apply_cpu rss
  wall="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')"
  cpu="$(awk -v t=$((c1 - c0)) -v hz="$hz" 'BEGIN {print t / hz}')"
  apply_wall="$(wall_secs "$(time_field "$dir/time" 'Elapsed')")"
  apply_cpu="$(awk '{s += $1} END {print s}' <<<"$(time_field "$dir/time" 'User time')
$(time_field "$dir/time" 'System time')")"
  rss="$(time_field "$dir/time" 'Maximum resident')"
  # The whole apply and each step's duration (step_done's duration_ms; older binaries have none).
  local steps
  steps="$(jq -r 'select(.event == "step_done") | "\(.step | sub(":.*"; ""))=\(.duration_ms // "?")"' "$dir/events.jsonl" | paste -sd' ')"
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$n" "$apply_wall" "$apply_cpu" "$steps" >>"$out/apply.tsv"
  record "$name" "$n" "$wall" "$cpu" "$(awk -v t=$((b1 - b0)) -v hz="$hz" 'BEGIN {print t / hz}')" "$copy_hwm" "$rss" \
    "copy step; whole apply ${apply_wall}s, ${apply_cpu} CPU s; headers $(jq .with_headers <<<"$count")/$n, source timestamps $(jq .seeded_timestamps <<<"$count")/$n"
  stop_broker "$broker_pid"
}

for round in $(seq "$ROUNDS"); do
  echo "bench-copy: round $round/$ROUNDS: limit" >&2
  run_limit "$round"
  echo "bench-copy: round $round/$ROUNDS: kcat" >&2
  run_kcat "$round"
  echo "bench-copy: round $round/$ROUNDS: kmigrate" >&2
  run_kmigrate "kmigrate-$round" bench "$RECORDS"
  if [ -n "${KMIGRATE_BASELINE:-}" ]; then
    echo "bench-copy: round $round/$ROUNDS: baseline ($KMIGRATE_BASELINE)" >&2
    run_kmigrate "baseline-$round" bench "$RECORDS" "$KMIGRATE_BASELINE"
  fi
  echo "bench-copy: round $round/$ROUNDS: kmigrate on $SMALL_RECORDS records (RSS at a smaller topic)" >&2
  run_kmigrate "kmigrate-small-$round" bench-small "$SMALL_RECORDS"
done

echo
if [ "$BROKER" = kafka ]; then
  broker_desc="Apache Kafka $(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml) (KRaft, one node, the testkit's settings)"
else
  broker_desc="tansu $("$tansu" --version 2>/dev/null | head -1 || echo 0.6.0) memory engine"
fi
echo "Every run ($(nproc) cores; $broker_desc; kcat with $kcat_version):"
{
  printf 'run\trecords\twall s\trecords/s\tCPU s\tCPU s/1M\tbrokers CPU s\tpeak RSS MiB\tprocess peak RSS MiB\tnote\n'
  awk -F'\t' -v OFS='\t' '{printf "%s\t%d\t%.2f\t%.0f\t%.2f\t%.2f\t%.2f\t%.1f\t%.1f\t%s\n", $1, $2, $3, $2 / $3, $4, $4 * 1e6 / $2, $5, $6 / 1024, $7 / 1024, $8}' "$results"
} | column -t -s $'\t'

# Medians per contender (1M-record runs).
rate() { stat_of "$1" '$2 / $3'; }
cpum() { stat_of "$1" '$4 * 1e6 / $2'; }
rssm() { stat_of "$1" '$6 / 1024'; }
prssm() { stat_of "$1" '$7 / 1024'; }
lim_rate=$(rate limit) kcat_rate=$(rate kcat) km_rate=$(rate kmigrate)
echo
echo "Summary (median of $ROUNDS round(s), $RECORDS records of 200 bytes, $PARTITIONS partitions):"
{
  printf 'contender\trecords/s\tCPU s per 1M records\tvs kcat\tvs limit\tpeak RSS MiB (copying)\tprocess peak RSS MiB\n'
  for c in kmigrate ${KMIGRATE_BASELINE:+baseline} kcat limit; do
    r=$(rate "$c")
    printf '%s\t%.0f\t%.2f\t%.2fx\t%.0f%%\t%.1f\t%.1f\n' "$c" "$r" "$(cpum "$c")" \
      "$(awk -v a="$r" -v b="$kcat_rate" 'BEGIN {print a / b}')" \
      "$(awk -v a="$r" -v b="$lim_rate" 'BEGIN {print 100 * a / b}')" "$(rssm "$c")" "$(prssm "$c")"
  done
} | column -t -s $'\t'
echo
rssmax() { awk -F'\t' -v p="$1" -v c="$2" '$1 ~ "^" p "-[0-9]+$" && $c > m {m = $c} END {print m / 1024}' "$results"; }
echo "kmigrate peak RSS while copying (median / max of $ROUNDS): $(rssm kmigrate-small) / $(rssmax kmigrate-small 6) MiB at $SMALL_RECORDS records, $(rssm kmigrate) / $(rssmax kmigrate 6) MiB at $RECORDS records"
echo "kmigrate peak RSS of the whole apply, verify included (median / max): $(prssm kmigrate-small) / $(rssmax kmigrate-small 7) MiB at $SMALL_RECORDS records, $(prssm kmigrate) / $(rssmax kmigrate 7) MiB at $RECORDS records"
apply_rate() { awk -F'\t' -v p="$1" '$1 ~ "^" p "-[0-9]+$" {print $2 / $3}' "$out/apply.tsv" | median; }
apply_cpum() { awk -F'\t' -v p="$1" '$1 ~ "^" p "-[0-9]+$" {print $4 * 1e6 / $2}' "$out/apply.tsv" | median; }
echo
echo "Whole apply (preflight, topic, copy, cutover, verify; median of $ROUNDS) against the same kcat and limit:"
{
  printf 'contender\trecords/s\tCPU s per 1M records\tvs kcat\tvs limit\n'
  for c in kmigrate ${KMIGRATE_BASELINE:+baseline}; do
    r=$(apply_rate "$c")
    printf '%s (whole apply)\t%.0f\t%.2f\t%.2fx\t%.0f%%\n' "$c" "$r" "$(apply_cpum "$c")" \
      "$(awk -v a="$r" -v b="$kcat_rate" 'BEGIN {print a / b}')" "$(awk -v a="$r" -v b="$lim_rate" 'BEGIN {print 100 * a / b}')"
  done
} | column -t -s $'\t'
echo
echo "Step times, ms (each run):"
awk -F'\t' '{printf "  %s: apply %.2f s; %s\n", $1, $3, $5}' "$out/apply.tsv"
echo
echo "kmigrate vs limit: $(awk -v a="$km_rate" -v b="$lim_rate" 'BEGIN {printf "%.0f%%", 100 * a / b}'); vs kcat: $(awk -v a="$km_rate" -v b="$kcat_rate" 'BEGIN {printf "%.2fx", a / b}')"
