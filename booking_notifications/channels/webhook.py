"""Events to booking code's receiver: one signed POST per event, per the Standard Webhooks spec.

The headers are ``webhook-id`` (the event's id, the same on every retry, so a receiver can
deduplicate), ``webhook-timestamp`` and ``webhook-signature`` (``v1,`` + HMAC-SHA256 of
``id.timestamp.body`` with the ``whsec_`` secret), made by the spec's reference library.

The receiver is not trusted to behave: a redirect is not followed (it is an answer like a 5xx),
at most ``MAX_ANSWER`` bytes of an answer are read, and an answer that does not come within
``TIMEOUT`` counts as none. So a slow, hostile or absent receiver costs one bounded request per
attempt, never a delivery worker's time.
"""

from __future__ import annotations

import base64
import binascii
import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime

import aiohttp
from standardwebhooks.webhooks import Webhook

TIMEOUT = aiohttp.ClientTimeout(total=10, sock_connect=5)
MAX_ANSWER = 64 * 1024
RETRIED_4XX = frozenset({408, 429})
"""Client errors that are worth another try (a timeout, too many requests); any other is final."""
SECRET_BYTES = (24, 64)
"""The length of a secret's key, decoded (the spec asks for 24 to 64 bytes)."""
SECRET_PREFIX = "whsec_"


@dataclass(frozen=True)
class Refused(Exception):
    """The receiver answered and means it (a 4xx other than 408 and 429): not retried."""

    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class NotDelivered(Exception):
    """Worth another try: no answer, a 5xx, a 408/429, a redirect; ``retry_after`` when the
    receiver said when (seconds)."""

    reason: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.reason


def secret_problem(secret: str) -> str | None:
    """Why ``secret`` is not a Standard Webhooks secret (without repeating it); None when it is."""
    if not secret.startswith(SECRET_PREFIX):
        return f"must start with {SECRET_PREFIX} (a Standard Webhooks secret)"
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return f"must be {SECRET_PREFIX} followed by base64"
    low, high = SECRET_BYTES
    if not low <= len(key) <= high:
        return f"must hold {low} to {high} bytes after {SECRET_PREFIX} (it holds {len(key)})"
    return None


def signed_headers(secret: str, event_id: str, at: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers for ``body`` sent at ``at``."""
    signature = Webhook(secret).sign(msg_id=event_id, timestamp=at.astimezone(UTC), data=body)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


class WebhookSender:
    """POSTs signed events to one URL over one connection pool."""

    def __init__(self, url: str, secret: str, timeout: aiohttp.ClientTimeout = TIMEOUT) -> None:
        self._url = url
        self._secret = secret
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def send(self, event_id: str, body: str, at: datetime) -> None:
        """Deliver one event; ``Refused`` or ``NotDelivered`` when it did not arrive."""
        headers = signed_headers(self._secret, event_id, at, body)
        try:
            async with self._client().post(
                self._url, data=body.encode(), headers=headers, allow_redirects=False
            ) as answer:
                await answer.content.read(MAX_ANSWER)  # the rest is dropped with the connection
                status, retry_after = answer.status, answer.headers.get("Retry-After")
        except TimeoutError:
            raise NotDelivered(f"no answer within {self._timeout.total:g} s") from None
        except aiohttp.ClientError as err:
            raise NotDelivered(f"cannot reach the receiver ({type(err).__name__})") from None
        if 200 <= status < 300:
            return
        if 400 <= status < 500 and status not in RETRIED_4XX:
            raise Refused(f"the receiver answered {status}")
        what = "a redirect, not followed" if 300 <= status < 400 else "retried"
        raise NotDelivered(f"the receiver answered {status} ({what})", _seconds(retry_after))

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                connector=aiohttp.TCPConnector(limit=16),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _seconds(retry_after: str | None) -> float | None:
    """``Retry-After`` in seconds: a number of seconds or an HTTP date; None when unreadable."""
    if not retry_after:
        return None
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
