"""The bot side (the router, polling or webhook); imports worker (supervision), api, texts, channels, settings, core.

People connect their Telegram, act on reminders and choose what they receive.
``router.booking_router`` holds the handlers (a host's own aiogram Dispatcher can include it);
``run`` receives updates by long polling or by webhook; what the bot says is ``texts.bot``.
``signer_for`` (from ``texts.actions``) is re-exported here: a host that includes the router signs
its buttons with it.
"""

from booking_notifications.texts.actions import signer_for

__all__ = ["BotConflict", "signer_for"]


class BotConflict(Exception):
    """Telegram gives this bot's updates to someone else: one line saying who and what to do."""
