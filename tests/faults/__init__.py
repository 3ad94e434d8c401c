"""Fault injection: the real stack in separate processes, broken on purpose, measured.

Each ``test_*.py`` arranges (a worker, bookings), breaks something and measures, then reports
its figures and asserts on them. Their own helpers:

- ``scene``: the API, the workers and the bookings of one fault test, forgotten at its end;
- ``processes``: the worker, the Temporal dev server and a PostgreSQL cluster as child processes;
- ``figures``: what is measured (deliveries, duplicates, lateness, attempts) and the report;
- ``telegram``: the fake Bot API with network latency.
"""
