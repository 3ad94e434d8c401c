"""Deterministic orchestration (the booking and reconcile workflows, their data, the pure planner); imports only core."""
