"""Plain values the settings are made of, and the checks they share: no pydantic here."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from pathlib import Path

from sqlalchemy.engine import make_url

DEFAULT_TASK_QUEUE = "booking-notifications"
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
"""What Telegram accepts as a webhook's secret_token."""


def default_data_dir() -> Path:
    """Where ``dev`` keeps its SQLite files: ``$XDG_DATA_HOME/booking-notify``."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "booking-notify"


def derived_key(secret: str, context: bytes) -> bytes:
    """A key for one purpose (``context``) derived from a secret, such as the bot token: the
    same in every process, and unrelated to the keys derived for other purposes."""
    return hmac.new(secret.encode(), context, hashlib.sha256).digest()


def split_host_port(text: str) -> tuple[str, int] | None:
    """``HOST:PORT`` as its host and port number; None when it is not that."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


def database_url(text: str) -> str:
    """``text`` as an async SQLAlchemy URL (asyncpg, aiosqlite); ``ValueError`` naming what is
    wrong, never repeating the URL (it may hold a password)."""
    for plain, driver in (
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
        ("sqlite://", "sqlite+aiosqlite://"),
    ):
        if text.startswith(plain):
            text = driver + text.removeprefix(plain)
    if not text.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        raise ValueError("must be a postgresql:// or sqlite:// URL")
    authority = text.split("://", 1)[1].split("/", 1)[0]
    if authority.count("@") > 1:
        raise ValueError("the password holds an unescaped '@': write it as %40")
    try:
        port = make_url(text).port
    except ValueError:
        raise ValueError("the port is not a number") from None
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range")
    return text
