"""Seen from outside: metrics (the Temporal SDK's and ours), health endpoints, JSON logs.

- ``metrics``: our metric names, and the small classes the activities and the bot record through;
- ``runtime``: the Temporal runtime whose Prometheus exporter serves them, on a loopback port;
- ``server``: ``METRICS_ADDRESS``, serving that exposition as /metrics, plus /healthz and /readyz;
- ``due``: the one gauge that says reminders stopped (notices due but not sent), from SQL;
- ``jsonlog``: ``LOG_FORMAT=json``.

Imports the domain (channels, db, workflow types), never the CLI or the test doubles.
"""
