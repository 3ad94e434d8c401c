#!/bin/sh
# Wait until the Temporal server serves requests, then make sure the namespace exists.
#
# Runs in the temporalio/admin-tools container (service temporal-create-namespace). An existing
# namespace is left as it is, so running it again is harmless.
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is required, e.g. temporal:7233}"
NAMESPACE=${DEFAULT_NAMESPACE:-default}
. "$(dirname "$0")/retry.sh"

echo "Waiting for the Temporal server at ${TEMPORAL_ADDRESS}..."
attempt=1
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  after_failure "Temporal server at ${TEMPORAL_ADDRESS}"
done
echo "Temporal server is serving"

attempt=1
until temporal operator namespace describe --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  if temporal operator namespace create --namespace "$NAMESPACE" --address "$TEMPORAL_ADDRESS"; then
    echo "Namespace '${NAMESPACE}' created"
    exit 0
  fi
  after_failure "namespace '${NAMESPACE}'"
done
echo "Namespace '${NAMESPACE}' already exists"
