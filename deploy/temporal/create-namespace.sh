#!/bin/sh
# Wait until the Temporal server serves requests, then make sure the namespace exists.
#
# Runs in the temporalio/admin-tools container (service temporal-create-namespace). An existing
# namespace is left as it is, so running it again is harmless.
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required, e.g. temporal:7233}"
NAMESPACE=${DEFAULT_NAMESPACE:-default}
ATTEMPTS=${TEMPORAL_HEALTH_CHECK_MAX_ATTEMPTS:-60}
SLEEP_SECONDS=${TEMPORAL_HEALTH_CHECK_SLEEP_SECONDS:-5}

echo "Waiting for the Temporal server at ${TEMPORAL_ADDRESS}..."
attempt=1
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  if [ "$attempt" -ge "$ATTEMPTS" ]; then
    echo "Temporal server at ${TEMPORAL_ADDRESS} not serving after $ATTEMPTS attempts" >&2
    exit 1
  fi
  echo "  not serving yet (attempt $attempt/$ATTEMPTS)"
  attempt=$((attempt + 1))
  sleep "$SLEEP_SECONDS"
done
echo "Temporal server is serving"

attempt=1
until temporal operator namespace describe --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  if temporal operator namespace create --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS"; then
    echo "Namespace '${NAMESPACE}' created"
    exit 0
  fi
  if [ "$attempt" -ge "$ATTEMPTS" ]; then
    echo "Could not create namespace '${NAMESPACE}' after $ATTEMPTS attempts" >&2
    exit 1
  fi
  echo "  namespace not ready yet (attempt $attempt/$ATTEMPTS)"
  attempt=$((attempt + 1))
  sleep "$SLEEP_SECONDS"
done
echo "Namespace '${NAMESPACE}' already exists"
