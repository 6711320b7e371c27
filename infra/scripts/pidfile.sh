# Sourced by the scripts that run a throwaway server as their own process (prometheus.sh,
# registry.sh): its pid lives in a file; these stop it. The sourcing script defines say().

# stop_pidfile FILE: SIGTERM the process FILE names, SIGKILL it after 10 s, remove FILE.
stop_pidfile() {
  local file=$1 pid
  if ! { [ -f "$file" ] && pid=$(cat "$file") && kill -0 "$pid" 2>/dev/null; }; then
    rm -f "$file"
    say "not running"
    return
  fi
  kill -TERM "$pid"
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    say "killed (pid $pid did not stop within 10s of SIGTERM)"
  else
    say "stopped"
  fi
  rm -f "$file"
}
