"""The Telegram channel: aiogram's Bot over HTTP, with every failure sorted for retry.

The Bot API base URL can point at a local Bot API server (or the project's fake one). The token
stays inside aiogram: it is never logged or put into an error message here, and no exception of
aiogram's or aiohttp's leaves this module (see ``telegram_errors``): their messages can hold the
request URL, the response body, and so the token.

A token Telegram refuses (401) or a Bot API URL that is not one (404) stops every notice of every
user, and only an operator can fix it: the channel logs that once, loudly, and again only after a
send has succeeded in between.
"""

from __future__ import annotations

import logging
import traceback

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.token import TokenValidationError, validate_token

from booking_notifications.channels import (
    BotIdentity,
    DeliveryError,
    Keyboard,
    Misconfigured,
    Rejected,
    Unavailable,
    UrlButton,
    api_url_problem,
    token_secret,
)
from booking_notifications.channels.telegram_errors import CheckedSession, sort

REQUEST_TIMEOUT = 20
DEFAULT_API_URL = "https://api.telegram.org"
NOT_MODIFIED = "message is not modified"

log = logging.getLogger(__name__)


class TelegramChannel:
    """Sends HTML messages with aiogram; one HTTP session for the life of the worker.

    A malformed token or Bot API URL raises ``Misconfigured`` here, in one line that does not
    repeat the token.
    """

    def __init__(
        self,
        token: str,
        api_url: str | None = None,
        timeout: float = REQUEST_TIMEOUT,
        *,
        paid_broadcast: bool = False,
    ) -> None:
        """``paid_broadcast``: every message asks for Telegram's paid broadcasts (up to 1,000
        a second, for a fee in Stars per message, past the free 30)."""
        self._bot = make_bot(token, api_url, timeout)
        self._secret = token_secret(token)
        self._alarmed = False
        self._paid = True if paid_broadcast else None

    @property
    def bot(self) -> Bot:
        """The aiogram Bot underneath, for the bot side (its failures are ``FailedAnswer``)."""
        return self._bot

    async def send(self, chat_id: int, text: str, keyboard: Keyboard = ()) -> int:
        try:
            message = await self._bot.send_message(
                chat_id=chat_id,
                text=text,
                reply_markup=inline_keyboard(keyboard),
                allow_paid_broadcast=self._paid,
            )
        except Exception as err:  # every failure is sorted into ours; see telegram_errors
            failure = self._sorted(err)
        else:
            if self._alarmed:
                self._alarmed = False
                log.warning("Telegram accepts the bot again: notices are being sent again")
            return message.message_id
        if isinstance(failure, Misconfigured) and not self._alarmed:
            self._alarmed = True
            log.error(
                "Telegram cannot be used: %s -- no notice can be sent until this is fixed; "
                "notices are kept and retried (logged once, until a send succeeds)",
                failure,
            )
        raise failure  # outside the except block: nothing of aiogram's is chained to it

    async def edit(
        self, chat_id: int, message_id: int, text: str | None, keyboard: Keyboard = ()
    ) -> None:
        markup = inline_keyboard(keyboard)
        try:
            if text is None:
                await self._bot.edit_message_reply_markup(
                    chat_id=chat_id, message_id=message_id, reply_markup=markup
                )
            else:
                await self._bot.edit_message_text(
                    text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup
                )
        except Exception as err:  # sorted as a send's failures are
            failure = self._sorted(err)
        else:
            return
        if isinstance(failure, Rejected) and NOT_MODIFIED in str(failure):
            return  # already as asked: a retried edit, or a message without buttons
        raise failure

    async def check(self) -> BotIdentity:
        """Ask Telegram who the bot is (getMe): the token and the URL work, or one line says why.

        Raises ``Misconfigured`` for a refused token or a wrong URL, ``Unavailable`` when the
        Bot API cannot be reached or answers with an error.
        """
        try:
            me = await self._bot.get_me()
        except Exception as err:
            failure = self._sorted(err)
        else:
            return BotIdentity(me.id, me.username, me.first_name)
        raise failure

    async def close(self) -> None:
        await self._bot.session.close()

    def _sorted(self, err: Exception) -> DeliveryError:
        """Our error for ``err``; a surprise is logged with its traceback, token blacked out."""
        sorted_error = sort(err, self._secret)
        if sorted_error is not None:
            return sorted_error
        trace = "".join(traceback.format_exception(err)).replace(self._secret, "[token]")
        log.error("unexpected error from the Telegram client, retried as unavailable:\n%s", trace)
        return Unavailable(f"unexpected error in the Telegram client: {type(err).__name__}")


def make_bot(token: str, api_url: str | None = None, timeout: float = REQUEST_TIMEOUT) -> Bot:
    """aiogram's Bot for our token and Bot API URL: HTML messages, no link previews, and every
    failure raised as ``FailedAnswer`` (no body, no URL, no token). ``Misconfigured`` (one line,
    without the token) for a malformed token or URL."""
    url = api_url or DEFAULT_API_URL
    problem = _token_problem(token) or api_url_problem(url)
    if problem is not None:
        raise Misconfigured(problem)
    session = CheckedSession(api=TelegramAPIServer.from_base(url), timeout=timeout)
    return Bot(
        token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def inline_keyboard(keyboard: Keyboard) -> InlineKeyboardMarkup | None:
    """Telegram's inline keyboard for rows of (label, callback data) and ``UrlButton``s; None
    for no buttons."""
    if not keyboard:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text=button.label, url=button.url)
                if isinstance(button, UrlButton)
                else InlineKeyboardButton(text=button[0], callback_data=button[1])
                for button in row
            ]
            for row in keyboard
        ]
    )


def _token_problem(token: str) -> str | None:
    """Why ``token`` cannot be a bot token, without repeating it; None when it can."""
    try:
        validate_token(token)
    except TokenValidationError:
        if any(char.isspace() for char in token):
            return (
                "TELEGRAM_BOT_TOKEN contains a space or a line break: "
                "set it to the token alone, with nothing around it"
            )
        return (
            "TELEGRAM_BOT_TOKEN is not a bot token: it looks like 123456:ABC-def "
            "(the bot id, a colon, the secret)"
        )
    return None
