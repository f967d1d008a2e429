#!/usr/bin/env bash
# A real migration, end to end, on this machine: two local Kafka-protocol brokers (tansu), one as
# the old cluster (127.0.0.1:19092) and one as the new (127.0.0.1:29092), and plans/quickstart.yaml:
# copy topics orders and payments, wait at the producer-cutover gate, then position consumer group
# billing (broker-managed, strict) and export analytics' offsets (self-stored).
#
#   examples/quickstart.sh
#
# Installs the broker on first use (about 9 minutes of building), builds kmigrate, and stops the
# brokers when done. Work files go to a temporary directory, which is printed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

tansu=$(scripts/ensure-tansu.sh)
echo "==> building kmigrate"
cargo build --quiet -p kmigrate-cli -p kmigrate-testkit --example quickstart_seed
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
kmigrate="$target_dir/debug/kmigrate"
seed="$target_dir/debug/examples/quickstart_seed"

work=$(mktemp -d -t kmigrate-quickstart-XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "==> brokers stopped; files kept in $work"
}
trap cleanup EXIT

start_broker() { # name port
  local dir="$work/$1" url="tcp://127.0.0.1:$2"
  if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then
    echo "port $2 is in use: stop what listens there (plans/quickstart.yaml expects the brokers on 19092 and 29092)" >&2
    exit 1
  fi
  mkdir -p "$dir"
  # SQLite storage: tansu's memory engine answers end-offset lookups wrongly.
  (cd "$dir" && exec "$tansu" broker --cluster-id "quickstart-$1" --listener-url "$url" \
      --advertised-listener-url "$url" --storage-engine sqlite://tansu.db >"$dir/tansu.log" 2>&1) &
  pids+=($!)
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "broker $1 did not start; its log:" >&2; cat "$dir/tansu.log" >&2; exit 1
}

echo "==> starting the old cluster (127.0.0.1:19092) and the new one (127.0.0.1:29092)"
start_broker old 19092
start_broker new 29092

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
