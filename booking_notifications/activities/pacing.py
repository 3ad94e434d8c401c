"""A channel whose sends and edits take turns at one rate shared by all worker processes.

``paced`` wraps the delivery worker's channel: before each call to Telegram it waits for a slot
of the deployment's ``SharedPacer`` (``db.pacer``), and a 429 holds the pacer for the
``retry_after`` Telegram gave, so the other processes wait it out too instead of each being
refused once. Without pacing (``DELIVERY_PACING=false``) only Temporal's token bucket limits the
sends, and bursts reach Telegram at up to twice the rate in a sliding second.

Once the turn has come, a delivery's send is checked to be still its attempt's (``claims``).
A slot the database cannot give is an ``Unavailable`` send (retried like a Telegram outage): a
send made without it could flood, and its outcome could not be written anyway.
"""

from __future__ import annotations

from booking_notifications.activities.claims import confirm_claim
from booking_notifications.channels import (
    BotIdentity,
    Channel,
    Editor,
    Keyboard,
    RateLimited,
    Unavailable,
)
from booking_notifications.db.pacer import Ahead, SharedPacer
from booking_notifications.errors import is_database_outage


class PacedChannel:
    """``channel``'s sends, each in a slot of ``pacer``."""

    def __init__(self, channel: Channel, pacer: SharedPacer) -> None:
        self._channel, self._pacer = channel, pacer

    async def send(self, chat_id: int, text: str, keyboard: Keyboard = ()) -> int:
        await self._turn()
        try:
            return await self._channel.send(chat_id, text, keyboard)
        except RateLimited as err:
            await self._hold(err.retry_after)
            raise

    async def check(self) -> BotIdentity:
        return await self._channel.check()

    async def close(self) -> None:
        await self._channel.close()

    async def _turn(self) -> None:
        try:
            await self._pacer.turn()
            await confirm_claim()  # the wait may have outlasted the attempt: still its send?
        except Ahead as ahead:
            raise RateLimited(ahead.wait) from None
        except Exception as err:
            if is_database_outage(err):
                reason = f"no send slot: the database failed ({type(err).__name__})"
                raise Unavailable(reason) from err
            raise

    async def _hold(self, seconds: float) -> None:
        try:
            await self._pacer.hold(seconds)
        except Exception as err:  # the 429 is what the caller must hear about
            if not is_database_outage(err):
                raise


class PacedEditor(PacedChannel):
    """A paced channel that edits too (Telegram, the console)."""

    def __init__(self, channel: Channel, pacer: SharedPacer) -> None:
        assert isinstance(channel, Editor)
        super().__init__(channel, pacer)
        self._editor = channel

    async def edit(
        self, chat_id: int, message_id: int, text: str | None, keyboard: Keyboard = ()
    ) -> None:
        await self._turn()
        try:
            await self._editor.edit(chat_id, message_id, text, keyboard)
        except RateLimited as err:
            await self._hold(err.retry_after)
            raise


def paced(channel: Channel, pacer: SharedPacer) -> PacedChannel:
    """``channel`` paced by ``pacer``, an ``Editor`` still if it was one."""
    if isinstance(channel, Editor):
        return PacedEditor(channel, pacer)
    return PacedChannel(channel, pacer)
