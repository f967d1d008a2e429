#!/usr/bin/env bash
# The kill campaign (issue 13, item 1), long form: a plan with every step kind applied against
# Apache Kafka with KILLS SIGKILLs at random moments (default 20), re-running after each, over as
# many migrations as the kills take; each migration must end exactly as an uninterrupted one
# (target records, group offsets, export file), with no offset commit or export write repeated.
# The seed is printed; SEED=<n> replays a campaign. The suite runs the same test with 4 kills.
#
#   scripts/kill-campaign.sh            # 20 kills, a new seed
#   KILLS=50 SEED=1234 scripts/kill-campaign.sh
set -euo pipefail
cd "$(dirname "$0")/.."
KMIGRATE_KAFKA_HOME="$(scripts/ensure-kafka.sh)"
export KMIGRATE_KAFKA_HOME
export KMIGRATE_CAMPAIGN_KILLS="${KILLS:-20}"
if [ -n "${SEED:-}" ]; then export KMIGRATE_CAMPAIGN_SEED="$SEED"; fi
exec cargo test --locked -p kmigrate-cli --test kill_campaign -- --nocapture
