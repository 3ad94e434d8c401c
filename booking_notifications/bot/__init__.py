"""The bot side: people connect their Telegram, act on reminders and choose what they receive.

``router.booking_router`` holds the handlers (a host's own aiogram Dispatcher can include it);
``run`` receives updates by long polling or by webhook; ``texts`` is what the bot says.
"""


class BotConflict(Exception):
    """Telegram gives this bot's updates to someone else: one line saying who and what to do."""
