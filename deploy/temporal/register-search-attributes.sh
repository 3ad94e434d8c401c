#!/bin/sh
# Register the custom search attributes of booking_notifications/workflows/search.py in the
# namespace, then wait until the server accepts a visibility query that uses them.
#
# Runs in the temporalio/admin-tools container (service temporal-search-attributes), after the
# namespace exists. An attribute already registered with the right type is left as it is, so
# running it again is harmless; one registered with another type stops the stack with an error.
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required, e.g. temporal:7233}"
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
. "$(dirname "$0")/retry.sh"

# name=type, as in booking_notifications/workflows/search.py
ATTRIBUTES="BookingId=Keyword BookingStartsAt=Datetime NextNotificationAt=Datetime"

# The type an attribute is registered with in the namespace, empty when it is not registered;
# exit status 1 when the server could not be asked.
registered_type() {
  listing=$(temporal operator search-attribute list --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS") || return 1
  printf '%s\n' "$listing" | awk -v name="$1" '$1 == name { print $2; exit }'
}

ensure_attribute() {
  name=$1
  type=$2
  attempt=1
  while :; do
    if current=$(registered_type "$name"); then
      if [ -n "$current" ]; then
        if [ "$(printf '%s' "$current" | tr '[:upper:]' '[:lower:]')" = "$(printf '%s' "$type" | tr '[:upper:]' '[:lower:]')" ]; then
          echo "Search attribute ${name} (${type}) already registered"
          return 0
        fi
        echo "Search attribute ${name} is registered as ${current}, not ${type}: fix it by hand" >&2
        exit 1
      fi
      if temporal operator search-attribute create --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" \
        --name "$name" --type "$type"; then
        echo "Search attribute ${name} (${type}) registered"
        return 0
      fi
    fi
    after_failure "search attribute ${name}"
  done
}

query=""
for pair in $ATTRIBUTES; do
  name=${pair%%=*}
  type=${pair#*=}
  ensure_attribute "$name" "$type"
  case $type in
    Datetime) clause="${name} > '2000-01-01T00:00:00Z'" ;;
    *) clause="${name} = 'registration-probe'" ;;
  esac
  query="${query:+$query AND }${clause}"
done

# The frontend learns of new attributes when it refreshes its namespace cache (seconds later);
# until then a query (and a workflow) naming them is refused. Wait for that here, not in the worker.
echo "Waiting until the server accepts: ${query}"
attempt=1
until temporal workflow list --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" --query "$query" --limit 1 >/dev/null 2>&1; do
  after_failure "a query on the search attributes"
done
echo "Search attributes ready in namespace '${NAMESPACE}'"
