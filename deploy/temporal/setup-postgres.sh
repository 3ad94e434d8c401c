#!/bin/sh
# Create Temporal's two PostgreSQL databases (temporal, temporal_visibility) and bring their
# schemas to the version shipped in this admin-tools image.
#
# Runs in the temporalio/admin-tools container (service temporal-admin-tools). Every step is safe
# to repeat, so `docker compose up` may run it again on an existing volume:
#   - `create` ignores a database that already exists,
#   - `setup-schema -v 0.0` only adds the version tables, and skips a database already past 0.0,
#   - `update-schema` applies only the versions not applied yet.
set -eu

: "${POSTGRES_SEEDS:?POSTGRES_SEEDS (the PostgreSQL host) is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD (read by temporal-sql-tool) is required}"
PORT=${DB_PORT:-5432}
PLUGIN=${DB:-postgres12}
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12
ATTEMPTS=${SETUP_MAX_ATTEMPTS:-30}
SLEEP_SECONDS=${SETUP_SLEEP_SECONDS:-2}

echo "Waiting for PostgreSQL at ${POSTGRES_SEEDS}:${PORT}..."
attempt=1
until nc -z -w 5 "$POSTGRES_SEEDS" "$PORT"; do
  if [ "$attempt" -ge "$ATTEMPTS" ]; then
    echo "PostgreSQL at ${POSTGRES_SEEDS}:${PORT} not reachable after $ATTEMPTS attempts" >&2
    exit 1
  fi
  attempt=$((attempt + 1))
  sleep "$SLEEP_SECONDS"
done

sql_tool() {
  temporal-sql-tool --plugin "$PLUGIN" --ep "$POSTGRES_SEEDS" -p "$PORT" -u "$POSTGRES_USER" "$@"
}

# database name : schema folder under $SCHEMA_DIR
for pair in temporal:temporal temporal_visibility:visibility; do
  db=${pair%%:*}
  dir=${pair#*:}
  echo "Database ${db}: create, set up, update schema from ${SCHEMA_DIR}/${dir}/versioned"
  sql_tool --db "$db" create
  sql_tool --db "$db" setup-schema -v 0.0
  sql_tool --db "$db" update-schema -d "${SCHEMA_DIR}/${dir}/versioned"
done

echo "Temporal schema setup complete"
