"""What the tests share, apart from fixtures (those are in ``tests/conftest.py``).

- ``bookings``: booking requests relative to a moment, a fixed ``NOW`` and the default ``PLAN``
  (no worker imported: cheap to collect);
- ``stack``: the real API and workers on a Temporal environment and a database;
- ``time_skipping``: leaving no workflow running on the time-skipping server, which would stop
  its clock for the tests after;
- ``waiting``: poll until a condition holds, sleep until a wall-clock moment;
- ``cli``: ``booking-notify`` as a separate process, with only the settings a test gives it;
- ``processes``: child processes that are always cleaned up, and free ports (the fault tests and
  the benchmark use it: stdlib only, so ``python -m bench`` imports it without pytest);
- ``dst``: hypothesis strategies for times near the real DST changes of odd zones;
- ``postgres``: where the test PostgreSQL server is, and skipping versus failing under CI.

A test module imports from here, never from another test module.
"""
