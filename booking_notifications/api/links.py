"""Connect links: how a person tells us which Telegram chat is theirs.

Booking code asks for a link for its own user key; the person opens it, Telegram sends the bot
``/start <token>``, and the user row gets that chat. A token is 32 unguessable characters (192
random bits), single use, expires (24 h by default), and only its SHA-256 is stored: a copy of
the database does not give anyone a working link.
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 24
"""Random bytes per token: 32 URL-safe characters, within Telegram's 64 for a start payload."""
_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


def new_token() -> tuple[str, str]:
    """A fresh token and the digest that is stored in its place."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, digest(token)


def digest(token: str) -> str:
    """What is stored of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def deep_link(bot_username: str, token: str) -> str:
    """``https://t.me/<bot>?start=<token>``: opening it starts the bot with the token."""
    return f"https://t.me/{bot_username}?start={token}"


def looks_like_token(payload: str) -> bool:
    """Whether a /start payload could be a token (Telegram allows only these characters)."""
    return _PAYLOAD.fullmatch(payload) is not None
