"""Settings, read once at the process edge from the environment (and an optional ``.env``);
imports channels (for its URL and secret checks) and core.

A bad value fails at start with one clear line (see ``SettingsError``), never a traceback. The bot
token is a ``SecretStr``: it prints as ``**********``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import SettingsConfigDict
from sqlalchemy.engine import make_url

from booking_notifications.channels import api_url_problem
from booking_notifications.core.durations import parse_duration
from booking_notifications.settings.events import EventSettings
from booking_notifications.settings.temporal import TEMPORAL_VARIABLES, TemporalSettings
from booking_notifications.settings.values import (
    DEFAULT_TASK_QUEUE,
    WEBHOOK_SECRET,
    database_url,
    default_data_dir,
    derived_key,
    split_host_port,
)

__all__ = [
    "DEFAULT_TASK_QUEUE",
    "TEMPORAL_VARIABLES",
    "Settings",
    "SettingsError",
    "database_url",
    "derived_key",
    "load_settings",
    "setting_names",
    "split_host_port",
]


FREE_RATE = 30.0
"""Messages a second Telegram lets a bot send, free."""
PAID_RATE = 1000.0
"""... and with paid broadcasts."""


class SettingsError(Exception):
    """A setting has a value we cannot use; the message names it."""


class Settings(TemporalSettings, EventSettings):
    """Everything a process needs to reach Temporal, the database and Telegram."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default_factory=default_data_dir, alias="BOOKING_NOTIFY_DATA_DIR")
    database_url: SecretStr | None = Field(default=None, alias="DATABASE_URL")
    """Secret as a whole: it usually carries a password (``db_url`` reads it, ``safe_db_url``
    shows it)."""
    task_queue: str = Field(default=DEFAULT_TASK_QUEUE, alias="TEMPORAL_TASK_QUEUE")
    workflow_id_prefix: str = Field(
        default="booking-", min_length=1, max_length=64, alias="WORKFLOW_ID_PREFIX"
    )
    """Workflow ids are ``<prefix><booking id>``: a prefix per deployment sharing a namespace."""
    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str | None = Field(default=None, alias="TELEGRAM_API_URL")
    callback_secret: SecretStr | None = Field(default=None, alias="CALLBACK_SECRET")
    """Signs the data of the bot's buttons; unset, a key derived from the bot token does (the
    buttons of messages already sent stop working when either changes)."""
    webhook_secret: SecretStr | None = Field(default=None, alias="WEBHOOK_SECRET")
    """What Telegram sends in X-Telegram-Bot-Api-Secret-Token to ``bot --webhook``; unset, one
    derived from the bot token."""
    notice_channel: Literal["telegram", "console"] | None = Field(
        default=None, alias="NOTICE_CHANNEL"
    )
    """Where notices go. Unset: Telegram (``dev`` without a token: the console, which only
    prints them); ``console`` must be chosen by name anywhere else."""
    delivery_rate: float = Field(default=FREE_RATE, gt=0, alias="DELIVERY_RATE_PER_SECOND")
    """Sends per second across every worker; unset, Telegram's limit (30, or 1,000 with paid
    broadcasts)."""
    delivery_pacing: bool = Field(default=True, alias="DELIVERY_PACING")
    """Sends take turns at the rate through a row in the database, shared by every worker
    (``db.pacer``): no sliding second sees more than the rate. False leaves only Temporal's
    token bucket, which lets the first second of a burst see up to twice the rate."""
    telegram_paid_broadcast: bool = Field(default=False, alias="TELEGRAM_PAID_BROADCAST")
    """Telegram's paid broadcasts: up to 1,000 messages a second for a fee in Stars per message
    (``allow_paid_broadcast``); the send rate follows unless DELIVERY_RATE_PER_SECOND is set."""
    delivery_concurrency: int = Field(default=4, ge=1, le=1000, alias="DELIVERY_CONCURRENCY")
    """Sends in flight per worker process, and so the most messages a crash of it can repeat."""
    workflow_cache: int = Field(default=1000, ge=0, le=100_000, alias="WORKFLOW_CACHE_SIZE")
    """Booking workflows a worker keeps in memory between their tasks (Temporal's sticky cache).
    Fewer bound its memory; 0 rebuilds every workflow from its history at each task (slower, and
    what a freshly restarted worker does anyway)."""
    delivery_retry_for: timedelta = Field(default=timedelta(minutes=5), alias="DELIVERY_RETRY_FOR")
    """How long past a notice's latest moment a failing send (5xx, network) is retried."""
    reconcile_interval: timedelta = Field(default=timedelta(seconds=30), alias="RECONCILE_INTERVAL")
    """How often the reconcile Schedule looks for bookings whose workflow never started (a crash
    between their commit and their start): with the API's 15 s grace, such a booking is picked up
    within 45 s."""
    temporal_cli: Path | None = Field(default=None, alias="TEMPORAL_CLI_PATH")
    metrics_address: str | None = Field(default=None, alias="METRICS_ADDRESS")
    """``HOST:PORT`` serving /metrics, /healthz and /readyz (``worker`` and ``bot``); unset, none."""
    log_format: Literal["text", "json"] = Field(default="text", alias="LOG_FORMAT")
    """``json``: one JSON object a line, for log collectors."""

    @field_validator("metrics_address")
    @classmethod
    def _listen_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if split_host_port(value.strip()) is None:
            raise ValueError("must be host:port, e.g. 0.0.0.0:9464")
        return value.strip()

    @field_validator("database_url", mode="before")
    @classmethod
    def _async_driver(cls, value: object) -> SecretStr | None:
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if text is None or not str(text).strip():
            return None
        return SecretStr(database_url(str(text).strip()))

    @field_validator("telegram_api_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        problem = api_url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value.rstrip("/")

    @field_validator(
        "reconcile_interval",
        "delivery_retry_for",
        mode="before",
    )
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value

    @field_validator("notice_channel", mode="before")
    @classmethod
    def _channel_name(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().lower() or None
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1 to 256 characters: letters, digits, _ and -")
        return value

    @field_validator("telegram_bot_token", "callback_secret")
    @classmethod
    def _token_or_none(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @model_validator(mode="after")
    def _rate_follows_paid_broadcasts(self) -> Self:
        if self.telegram_paid_broadcast and "delivery_rate" not in self.model_fields_set:
            self.delivery_rate = PAID_RATE
        return self

    @property
    def db_url(self) -> str:
        """The database URL; the SQLite file in the data folder unless DATABASE_URL says otherwise."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.data_dir / 'notifications.db'}"

    @property
    def safe_db_url(self) -> str:
        """The database URL with any password masked, for messages."""
        return make_url(self.db_url).render_as_string(hide_password=True)


def setting_names() -> frozenset[str]:
    """The environment variables the settings are read from."""
    return frozenset(str(field.alias) for field in Settings.model_fields.values())


def load_settings() -> Settings:
    """Read the settings; raise ``SettingsError`` with one line per bad value."""
    try:
        return Settings()
    except ValidationError as err:
        problems = []
        for error in err.errors():
            name = ".".join(str(part) for part in error["loc"])
            problems.append(f"{name}: {error['msg']}" if name else error["msg"])
        raise SettingsError("bad setting " + "; ".join(problems)) from None
