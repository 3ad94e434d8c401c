"""Deterministic orchestration: the booking workflow, its data and its pure planning function."""
