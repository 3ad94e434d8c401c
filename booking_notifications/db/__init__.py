"""Persistence (models, sessions, row helpers, the migration runner); imports core and the workflows' data types."""
