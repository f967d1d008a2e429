#!/usr/bin/env bash
# Fuzzes plan validation (fuzz/fuzz_targets/validate.rs: bytes → kmigrate_plan::parse → every
# diagnostic rendered by miette) with cargo fuzz (libFuzzer, AddressSanitizer).
#
#   scripts/fuzz.sh                 # 10 minutes (FUZZ_TIME=600)
#   FUZZ_TIME=60 scripts/fuzz.sh    # a shorter run
#   scripts/fuzz.sh -runs=0 fuzz/artifacts/validate/crash-...   # replay one input
#
# Extra arguments go to libFuzzer. Needs cargo-fuzz (`cargo install cargo-fuzz --locked`, from
# crates.io) and a nightly compiler; on a stable toolchain the script sets RUSTC_BOOTSTRAP=1 (the
# sanitizer flags are nightly-only), FUZZ_TOOLCHAIN=nightly uses an installed nightly instead.
# Not part of CI or the workspace build: fuzz/ is its own Cargo project with its own target
# directory (fuzz/target).
#
# Seeds: every plan in tests/plans/ (invalid ones and the crashes found so far, tests/plans/fuzz/)
# and plans/, plus what earlier runs kept in fuzz/corpus/validate (git-ignored). A crash, a
# timeout (-timeout, seconds per input), an RSS over -rss_limit_mb or a single allocation over
# -malloc_limit_mb stops the run and leaves the input in fuzz/artifacts/validate/: fix it, then
# add the input to tests/plans/fuzz/ (crates/kmigrate-plan/tests/fuzz_corpus.rs runs them all).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
  exit 1
fi

toolchain=()
if [[ -n "${FUZZ_TOOLCHAIN:-}" ]]; then
  toolchain=("+$FUZZ_TOOLCHAIN")
else
  export RUSTC_BOOTSTRAP=1
fi
# The fuzz project's own target directory, whatever the workspace uses.
export CARGO_TARGET_DIR="$PWD/fuzz/target"

corpus=fuzz/corpus/validate
mkdir -p "$corpus" fuzz/artifacts/validate
seeds=(tests/plans/invalid plans)
[[ -d tests/plans/fuzz ]] && seeds+=(tests/plans/fuzz)

# -rss_limit_mb and -malloc_limit_mb make unbounded allocation a crash; -timeout a hang.
exec cargo "${toolchain[@]}" fuzz run --fuzz-dir fuzz validate "$corpus" "${seeds[@]}" -- \
  -dict=fuzz/validate.dict \
  -max_total_time="${FUZZ_TIME:-600}" \
  -timeout=10 \
  -rss_limit_mb=2048 \
  -malloc_limit_mb=512 \
  -max_len=16384 \
  -print_final_stats=1 \
  "$@"
