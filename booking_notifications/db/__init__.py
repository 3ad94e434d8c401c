"""Persistence: the SQL mirror of users, bookings and notices."""
