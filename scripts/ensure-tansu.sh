#!/usr/bin/env bash
# Installs the tansu broker (a Kafka-protocol broker on crates.io) into a cache directory outside the
# clone, once. Later runs find it there and return at once. Prints the path of the binary on stdout.
#
#   KMIGRATE_CACHE   cache root (default: $XDG_CACHE_HOME/kmigrate or ~/.cache/kmigrate)
#   TANSU_VERSION    tansu version to install (default: 0.6.0, the one the tests were written against)
set -euo pipefail

version="${TANSU_VERSION:-0.6.0}"
cache="${KMIGRATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kmigrate}"
root="$cache/tansu-$version"
bin="$root/bin/tansu"

if [ -x "$bin" ]; then
  echo "$bin"
  exit 0
fi

echo "tansu $version not found in $root; building it from crates.io (about 9 minutes on two cores)..." >&2
mkdir -p "$root"
# A target directory of its own, so that the build neither pollutes nor waits on the project's.
CARGO_TARGET_DIR="$cache/tansu-build" cargo install tansu \
  --version "$version" --locked --no-default-features --features dynostore,libsql \
  --root "$root" >&2
rm -rf "$cache/tansu-build"
echo "$bin"
