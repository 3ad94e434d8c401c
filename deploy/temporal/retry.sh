# Sourced by the scripts beside it: how often to try, and what to do when a try fails.
ATTEMPTS=${TEMPORAL_HEALTH_CHECK_MAX_ATTEMPTS:-60}
SLEEP_SECONDS=${TEMPORAL_HEALTH_CHECK_SLEEP_SECONDS:-5}

# after_failure WHAT: try number $attempt at WHAT failed. Give up (exit 1) if it was the last
# one; otherwise say so, count it and wait before the next.
after_failure() {
  if [ "$attempt" -ge "$ATTEMPTS" ]; then
    echo "$1: still failing after $ATTEMPTS attempts" >&2
    exit 1
  fi
  echo "  $1: not yet (attempt $attempt/$ATTEMPTS)"
  attempt=$((attempt + 1))
  sleep "$SLEEP_SECONDS"
}
