#!/usr/bin/env bash
# A real migration, end to end, on this machine: two local Apache Kafka brokers (KRaft), one as the
# old cluster (127.0.0.1:19092) and one as the new (127.0.0.1:29092), and plans/quickstart.yaml:
# copy topics orders and payments, wait at the producer-cutover gate, then position consumer group
# billing (broker-managed, strict) and export analytics' offsets (self-stored).
#
#   examples/quickstart.sh
#
# Fetches Apache Kafka from Maven Central on first use (scripts/ensure-kafka.sh; needs Java 17+ and
# Maven). Without Java 17+ it falls back to tansu, a Kafka-protocol broker built from crates.io
# (about 9 minutes the first time), and says so. Builds kmigrate, and stops the brokers when done.
# Work files go to a temporary directory, which is printed.
#
#   QUICKSTART_BROKER=kafka|tansu   force a broker (default: kafka when Java 17+ and mvn are there)
set -euo pipefail
cd "$(dirname "$0")/.."

java_major() { # prints the major version of `java`, or 0
  local v
  v=$(java -version 2>&1 | sed -n 's/.*version "\([0-9][0-9]*\).*/\1/p' | head -1)
  echo "${v:-0}"
}
broker="${QUICKSTART_BROKER:-}"
if [ -z "$broker" ]; then
  if command -v java >/dev/null && command -v mvn >/dev/null && [ "$(java_major)" -ge 17 ]; then
    broker=kafka
  else
    broker=tansu
    echo "==> Java 17+ and Maven not found: using tansu (a Kafka-protocol broker) instead of Apache Kafka"
  fi
fi

case "$broker" in
  kafka) echo "==> brokers: Apache Kafka $(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml) (KRaft)"
         KMIGRATE_KAFKA_HOME=$(scripts/ensure-kafka.sh); export KMIGRATE_KAFKA_HOME ;;
  tansu) tansu=$(scripts/ensure-tansu.sh); echo "==> brokers: tansu ($tansu)" ;;
  *) echo "QUICKSTART_BROKER=$broker: expected kafka or tansu" >&2; exit 64 ;;
esac

# librdkafka is built from source with CMake: say so before cargo fails on it.
if ! command -v cmake >/dev/null; then
  echo "quickstart: cmake not found: building librdkafka needs it (Debian/Ubuntu: apt-get install cmake; macOS: brew install cmake)" >&2
  exit 1
fi
echo "==> building kmigrate"
# Two commands: with a target flag (--example), cargo builds only the targets named.
cargo build --quiet --locked -p kmigrate-cli --bin kmigrate
cargo build --quiet --locked -p kmigrate-testkit --example quickstart_seed --example local_broker
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
kmigrate="$target_dir/debug/kmigrate"
seed="$target_dir/debug/examples/quickstart_seed"
local_broker="$target_dir/debug/examples/local_broker"

work=$(mktemp -d -t kmigrate-quickstart-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "==> brokers stopped; files kept in $work"
}
trap cleanup EXIT

start_broker() { # name port
  local dir="$work/$1" port=$2
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is in use: stop what listens there (plans/quickstart.yaml expects the brokers on 19092 and 29092)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  if [ "$broker" = kafka ]; then
    "$local_broker" "$port" >"$dir/broker.out" 2>&1 &
  else
    # SQLite storage: tansu's memory engine answers end-offset lookups wrongly.
    (cd "$dir" && exec "$tansu" broker --cluster-id "quickstart-$1" --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" --storage-engine sqlite://tansu.db >"$dir/broker.out" 2>&1) &
  fi
  pids+=($!)
}
wait_broker() { # name port
  local dir="$work/$1" port=$2 pid=$3
  for _ in $(seq 1200); do
    kill -0 "$pid" 2>/dev/null || break
    if [ "$broker" = kafka ]; then
      grep -q '^ready' "$dir/broker.out" 2>/dev/null && return 0
    else
      (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    fi
    sleep 0.1
  done
  echo "broker $1 did not start; its output:" >&2; cat "$dir/broker.out" >&2; exit 1
}

echo "==> starting the old cluster (127.0.0.1:19092) and the new one (127.0.0.1:29092)"
start_broker old 19092
start_broker new 29092
wait_broker old 19092 "${pids[0]}"
wait_broker new 29092 "${pids[1]}"

echo "==> seeding the old cluster"
"$seed" old 127.0.0.1:19092

cp plans/quickstart.yaml "$work/quickstart.yaml"
plan="$work/quickstart.yaml"
run() { echo; echo "\$ kmigrate $*"; "$kmigrate" "$@"; }

run validate "$plan"
run plan "$plan" || true
set +e
run apply "$plan"
code=$?
set -e
[ "$code" -eq 3 ] || { echo "expected apply to pause at the cutover gate (exit 3), got $code" >&2; exit 1; }

echo
echo "==> switching the producers: they now write to the new cluster"
"$seed" new 127.0.0.1:29092 5

run apply "$plan" --approve cutover
run status "$plan"

echo
echo "==> where billing starts on the new cluster (the 5 new records per partition are still to read):"
"$seed" show 127.0.0.1:29092 billing
echo
echo "==> analytics' offsets to load into its own store ($work/offsets/analytics.csv):"
cat "$work/offsets/analytics.csv"
