"""Booking reminders and notices on Temporal: one durable workflow per booking, sent to Telegram."""
