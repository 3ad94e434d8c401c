"""Fault injection: the real stack in separate processes, broken on purpose, measured."""
