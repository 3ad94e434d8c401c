"""The benchmark: booking-notify against bare Temporal, a polling loop and APScheduler.

Run ``python -m bench`` (``--quick --json`` for the reduced version); see BENCHMARKS.md.
"""
