#!/usr/bin/env bash
# Resolves the Apache Kafka runtime (broker, tools, MirrorMaker 2, a Log4j2 binding) with Maven from
# Maven Central, as pinned in scripts/kafka/pom.xml, and copies its jars into a cache directory outside
# the clone, once. Later runs find them there and return at once. Prints the Kafka home directory
# (the jars are in its lib/) on stdout; everything else goes to stderr.
#
#   KMIGRATE_CACHE   cache root (default: $XDG_CACHE_HOME/kmigrate or ~/.cache/kmigrate)
#
# Needs: java (17 or newer) and mvn on the PATH.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pom="$here/kafka/pom.xml"

version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$pom")"
[ -n "$version" ] || { echo "ensure-kafka: no <kafka.version> in $pom" >&2; exit 1; }
cache="${KMIGRATE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kmigrate}"
home="$cache/kafka-$version"
# The pom's digest is part of the marker: editing a pinned version (log4j, slf4j) resolves again.
digest="$(sha256sum "$pom" | cut -c1-16)"
marker="$home/.complete-$digest"

if [ -f "$marker" ]; then
  echo "$home"
  exit 0
fi

for tool in java mvn; do
  command -v "$tool" >/dev/null || {
    echo "ensure-kafka: \`$tool\` is not on the PATH; Apache Kafka needs Java 17+ and Maven (Debian: apt-get install openjdk-17-jdk-headless maven)" >&2
    exit 1
  }
done

echo "ensure-kafka: resolving Apache Kafka $version from Maven Central into $home/lib ..." >&2
tmp="$(mktemp -d "$cache/kafka-$version.tmp-XXXXXX" 2>/dev/null || { mkdir -p "$cache"; mktemp -d "$cache/kafka-$version.tmp-XXXXXX"; })"
trap 'rm -rf "$tmp"' EXIT
mvn -B -q -f "$pom" dependency:copy-dependencies \
  -DincludeScope=runtime -DoutputDirectory="$tmp/lib" >&2
[ -f "$tmp/lib/kafka_2.13-$version.jar" ] || { echo "ensure-kafka: Maven did not deliver kafka_2.13-$version.jar" >&2; exit 1; }
# Swap in atomically: a concurrent or interrupted run never leaves a half-filled lib/.
rm -rf "$home.old"
[ -d "$home" ] && mv "$home" "$home.old"
mv "$tmp" "$home"
rm -rf "$home.old"
touch "$home/.complete-$digest"
echo "ensure-kafka: $(ls "$home/lib" | wc -l) jars in $home/lib" >&2
echo "$home"
