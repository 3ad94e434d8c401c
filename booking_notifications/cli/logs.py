"""No secret in any log line: the bot token's secret part and the database password are
replaced in every record a process writes, whoever formats it (aiogram, the SDK, tracebacks).

The channels already keep the token out of what they raise; this is the net under everything
else (a library's traceback quoting a URL, say).
"""

from __future__ import annotations

import logging

from booking_notifications.channels import token_secret
from booking_notifications.settings import Settings

HIDDEN = "[secret]"


class Redact(logging.Filter):
    """Replaces each secret in a record's formatted message and traceback."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if len(s) >= 4]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for secret in self._secrets:
            message = message.replace(secret, HIDDEN)
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, HIDDEN)
        record.msg, record.args = message, None
        return True


def secrets_of(settings: Settings) -> list[str]:
    """The bot token's secret part, the signing secrets and the database password."""
    found = []
    if settings.telegram_bot_token is not None:
        found.append(token_secret(settings.telegram_bot_token.get_secret_value()))
    for secret in (settings.callback_secret, settings.webhook_secret):
        if secret is not None:
            found.append(secret.get_secret_value())
    if settings.database_url is not None:
        from sqlalchemy.engine import make_url

        password = make_url(settings.db_url).password
        if password:
            found.append(str(password))
    return found


def redact_secrets(settings: Settings) -> None:
    """Install the filter on every handler of the root logger."""
    redact = Redact(secrets_of(settings))
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
