#!/usr/bin/env bash
# The test command (README): fetches the broker when missing, then runs every test.
#
# The broker tests run on Apache Kafka (KRaft, started by the testkit on free loopback ports; the jars
# come from Maven Central through scripts/ensure-kafka.sh into ~/.cache/kmigrate, once). Other brokers:
#   KMIGRATE_TEST_BROKER=tansu                 tansu 0.6 (built by scripts/ensure-tansu.sh, ~9 min)
#   KMIGRATE_TEST_SOURCE / KMIGRATE_TEST_TARGET a real Kafka pair (README, "Testing against your own Kafka")
# Arguments are passed to `cargo test` (e.g. `scripts/test.sh -p kmigrate-cli --test copy`).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${KMIGRATE_TEST_SOURCE:-}" ]; then
  case "${KMIGRATE_TEST_BROKER:-kafka}" in
    kafka)
      KMIGRATE_KAFKA_HOME="$(scripts/ensure-kafka.sh)"
      export KMIGRATE_KAFKA_HOME
      ;;
    tansu)
      if [ -z "${KMIGRATE_TANSU:-}" ]; then
        KMIGRATE_TANSU="$(scripts/ensure-tansu.sh)"
        export KMIGRATE_TANSU
      fi
      ;;
    *)
      echo "test.sh: KMIGRATE_TEST_BROKER=$KMIGRATE_TEST_BROKER: expected kafka or tansu" >&2
      exit 64
      ;;
  esac
fi

# librdkafka is built from source with CMake: say so before cargo fails on it.
if ! command -v cmake >/dev/null; then
  echo "test.sh: cmake not found: building librdkafka needs it (Debian/Ubuntu: apt-get install cmake; macOS: brew install cmake)" >&2
  exit 1
fi

cargo test --workspace --locked "$@"
