# Sourced by the bench scripts: one `crm serve` start measured.
#
# serve_ready BIN DIR PORT LOG [SERVE FLAGS...]
#   starts BIN serving DIR on 127.0.0.1:PORT (its output to LOG; more flags after LOG, e.g.
#   --store postgres://…), waits for /readyz, waits 2 s,
#   reads its memory and stops it; sets READY (seconds to ready), RSS_MB and HWM_MB. Exits the
#   script if the server ends before it is ready.
serve_ready() {
  local bin=$1 dir=$2 port=$3 log=$4 started pid rss hwm
  shift 4
  started=$(date +%s.%N)
  "$bin" --data-dir "$dir" serve --listen "127.0.0.1:$port" "$@" >"$log" 2>&1 &
  pid=$!
  until curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "server exited; see $log" >&2
      exit 1
    fi
    sleep 0.2
  done
  READY=$(echo "$(date +%s.%N) - $started" | bc)
  sleep 2
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill -INT "$pid"
  wait "$pid" || true
  RSS_MB=$((rss / 1024))
  HWM_MB=$((hwm / 1024))
}
