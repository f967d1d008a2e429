# Shell helpers shared by the benchmark scripts (sourced, never run): free ports, an Apache Kafka
# broker of the testkit's (`local_broker`), process CPU and medians. The sourcing script sets
# `bench` (its name, for messages), `out` (its log directory) and `local_broker`, and declares
# `pids=()` (every process started, stopped by `bench_cleanup` on exit).

bench_cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
}

# start_kafka NAME: an Apache Kafka broker (single-node KRaft) on a free port; sets broker_pid
# (the process to stop), broker_cpu_pid (the broker's JVM) and broker_addr.
start_kafka() {
  local name=$1 port dir
  dir="$out/$name"
  mkdir -p "$dir"
  port="$(free_port)"
  "$local_broker" "$port" >"$dir/broker.out" 2>&1 &
  broker_pid=$!
  pids+=("$broker_pid")
  broker_addr="127.0.0.1:$port"
  for _ in $(seq 1200); do
    kill -0 "$broker_pid" 2>/dev/null || break
    if grep -q '^ready' "$dir/broker.out" 2>/dev/null; then
      broker_cpu_pid="$(pgrep -P "$broker_pid" -f kafka.Kafka | head -1)"
      [ -n "$broker_cpu_pid" ] && return
    fi
    sleep 0.1
  done
  echo "$bench: Kafka $name did not start; see $dir/broker.out" >&2
  exit 1
}

stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# cpu_ticks PID: utime + stime (+ waited-for children) in clock ticks.
cpu_ticks() {
  local stat
  read -r stat <"/proc/$1/stat"
  stat="${stat##*) }" # fields from 3 on
  # shellcheck disable=SC2086
  set -- $stat
  echo $((${12} + ${13} + ${14} + ${15}))
}
hz="$(getconf CLK_TCK)"
secs() { awk -v t="$1" -v hz="$hz" 'BEGIN {print t / hz}'; }

# median: the median of the numbers on stdin, one per line.
median() { sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
