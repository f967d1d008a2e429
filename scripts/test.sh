#!/usr/bin/env bash
# The test command (README): installs the broker when missing, then runs every test.
#
# The broker tests start their own tansu brokers on free loopback ports. To run them against a
# real Kafka pair instead, set KMIGRATE_TEST_SOURCE and KMIGRATE_TEST_TARGET to their bootstrap
# addresses (see README.md, "Testing against your own Kafka").
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${KMIGRATE_TEST_SOURCE:-}" ] && [ -z "${KMIGRATE_TANSU:-}" ]; then
  KMIGRATE_TANSU="$(scripts/ensure-tansu.sh)"
  export KMIGRATE_TANSU
fi

cargo test --workspace --locked "$@"
