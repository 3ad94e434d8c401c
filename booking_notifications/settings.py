"""Settings, read once at the process edge from the environment (and an optional ``.env``).

A bad value fails at start with one clear line (see ``SettingsError``), never a traceback. The bot
token is a ``SecretStr``: it prints as ``**********``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from temporalio.envconfig import ClientConfigProfile

from booking_notifications.channels import api_url_problem
from booking_notifications.channels.webhook import secret_problem
from booking_notifications.core.durations import parse_duration

DEFAULT_TASK_QUEUE = "booking-notifications"
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
"""What Telegram accepts as a webhook's secret_token."""


def default_data_dir() -> Path:
    """Where ``dev`` keeps its SQLite files: ``$XDG_DATA_HOME/booking-notify``."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "booking-notify"


TEMPORAL_VARIABLES = {
    "TEMPORAL_ADDRESS": "temporal_address",
    "TEMPORAL_NAMESPACE": "temporal_namespace",
    "TEMPORAL_API_KEY": "temporal_api_key",
    "TEMPORAL_TLS": "temporal_tls",
    "TEMPORAL_TLS_CLIENT_CERT_PATH": "temporal_tls_client_cert",
    "TEMPORAL_TLS_CLIENT_KEY_PATH": "temporal_tls_client_key",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH": "temporal_tls_server_ca",
    "TEMPORAL_TLS_SERVER_NAME": "temporal_tls_server_name",
    "TEMPORAL_TLS_CLIENT_CERT_DATA": "temporal_tls_client_cert_data",
    "TEMPORAL_TLS_CLIENT_KEY_DATA": "temporal_tls_client_key_data",
    "TEMPORAL_TLS_SERVER_CA_CERT_DATA": "temporal_tls_server_ca_data",
}
"""Temporal's environment configuration variables that we read as settings (and so from .env),
then hand to ``temporalio.envconfig`` as its environment."""


class SettingsError(Exception):
    """A setting has a value we cannot use; the message names it."""


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


class Settings(BaseSettings):
    """Everything a process needs to reach Temporal, the database and Telegram."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(default_factory=default_data_dir, alias="BOOKING_NOTIFY_DATA_DIR")
    database_url: SecretStr | None = Field(default=None, alias="DATABASE_URL")
    """Secret as a whole: it usually carries a password (``db_url`` reads it, ``safe_db_url``
    shows it)."""
    temporal_address: str = Field(default="127.0.0.1:7233", alias="TEMPORAL_ADDRESS")
    """The frontend: the variable, else the profile's ``address``, else the local default."""
    temporal_namespace: str = Field(default="default", alias="TEMPORAL_NAMESPACE")
    temporal_config_file: SecretStr | None = Field(default=None, alias="TEMPORAL_CONFIG_FILE")
    """Temporal's own ``temporal.toml`` (the CLI's); unset, its default place, if it exists."""
    temporal_profile: str | None = Field(default=None, alias="TEMPORAL_PROFILE")
    temporal_api_key: SecretStr | None = Field(default=None, alias="TEMPORAL_API_KEY")
    temporal_tls: bool | None = Field(default=None, alias="TEMPORAL_TLS")
    temporal_tls_client_cert: SecretStr | None = Field(
        default=None, alias="TEMPORAL_TLS_CLIENT_CERT_PATH"
    )
    """Paths are secrets too (they name a team's layout): messages name the variable instead."""
    temporal_tls_client_key: SecretStr | None = Field(
        default=None, alias="TEMPORAL_TLS_CLIENT_KEY_PATH"
    )
    temporal_tls_server_ca: SecretStr | None = Field(
        default=None, alias="TEMPORAL_TLS_SERVER_CA_CERT_PATH"
    )
    temporal_tls_server_name: str | None = Field(default=None, alias="TEMPORAL_TLS_SERVER_NAME")
    temporal_tls_client_cert_data: SecretStr | None = Field(
        default=None, alias="TEMPORAL_TLS_CLIENT_CERT_DATA"
    )
    """The PEM itself instead of a path (a secret store's variable)."""
    temporal_tls_client_key_data: SecretStr | None = Field(
        default=None, alias="TEMPORAL_TLS_CLIENT_KEY_DATA"
    )
    temporal_tls_server_ca_data: SecretStr | None = Field(
        default=None, alias="TEMPORAL_TLS_SERVER_CA_CERT_DATA"
    )
    temporal_tls_no_host_check: bool = Field(
        default=False, alias="TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"
    )
    """The CLI's; the Python SDK cannot, so it is refused rather than ignored."""
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
    delivery_rate: float = Field(default=30.0, gt=0, alias="DELIVERY_RATE_PER_SECOND")
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
    events_webhook_url: str | None = Field(default=None, alias="EVENTS_WEBHOOK_URL")
    """Where events are POSTed, signed (Standard Webhooks); unset, they are only kept as rows."""
    events_webhook_secret: SecretStr | None = Field(default=None, alias="EVENTS_WEBHOOK_SECRET")
    """The ``whsec_...`` secret the events are signed with; required with the URL."""
    events_retry_for: timedelta = Field(default=timedelta(hours=24), alias="EVENTS_RETRY_FOR")
    """How long an event that does not get through is retried before it counts as failed."""
    events_retention: timedelta = Field(default=timedelta(days=30), alias="EVENTS_RETENTION")
    """How long events are kept as rows (and readable with ``events``), delivered or not."""

    @field_validator("temporal_address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        address = split_host_port(value)
        if address is None or any(mark in address[0] for mark in "@/ "):
            # The value is not repeated: a mistyped one may carry credentials.
            raise ValueError("must be host:port, e.g. 127.0.0.1:7233 (no scheme, no credentials)")
        return value

    @field_validator(
        "temporal_config_file",
        "temporal_profile",
        *(name for name in TEMPORAL_VARIABLES.values() if name.startswith("temporal_tls")),
        "temporal_api_key",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _temporal_profile(self) -> Settings:
        """Where Temporal is, as Temporal's own configuration says (``temporal.toml`` profile,
        then our variables over it, as the ``temporal`` CLI reads them); the address and the
        namespace become the effective ones, so every message names the right server."""
        profile = self.temporal_connection()
        if "temporal_address" not in self.model_fields_set and profile.address:
            if split_host_port(profile.address) is None:
                raise ValueError("the Temporal profile's address must be host:port")
            self.temporal_address = profile.address
        if "temporal_namespace" not in self.model_fields_set and profile.namespace:
            self.temporal_namespace = profile.namespace
        if self.temporal_tls_no_host_check:
            raise ValueError(
                "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION is not supported here: set "
                "TEMPORAL_TLS_SERVER_NAME to a name the server's certificate holds"
            )
        if profile.api_key and profile.tls is not None and profile.tls.disabled:
            raise ValueError(
                "TEMPORAL_API_KEY needs TLS: with TEMPORAL_TLS=false (or tls.disabled in the "
                "profile) the key would cross the network in the clear"
            )
        return self

    def temporal_connection(self) -> ClientConfigProfile:
        """Temporal's client profile: the file's, with each variable set here overriding it.

        Raises:
            ValueError: the file or the profile cannot be read (one line, no path).
        """
        return client_profile(self)

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

    @field_validator("events_webhook_url")
    @classmethod
    def _events_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        problem = api_url_problem(value.strip(), "EVENTS_WEBHOOK_URL")
        if problem is not None:
            raise ValueError(problem)
        return value.strip()

    @field_validator("events_webhook_secret")
    @classmethod
    def _events_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # as unset (compose passes an empty value): the URL then needs one
        problem = secret_problem(value.get_secret_value().strip())
        if problem is not None:
            raise ValueError(problem)
        return SecretStr(value.get_secret_value().strip())

    @model_validator(mode="after")
    def _events_signed(self) -> Self:
        if self.events_webhook_url is not None and self.events_webhook_secret is None:
            raise ValueError(
                "EVENTS_WEBHOOK_URL is set without EVENTS_WEBHOOK_SECRET (a whsec_ secret)"
            )
        if self.events_retention < self.events_retry_for:
            raise ValueError("EVENTS_RETENTION must be at least EVENTS_RETRY_FOR")
        return self

    @field_validator(
        "reconcile_interval",
        "delivery_retry_for",
        "events_retry_for",
        "events_retention",
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

    @property
    def temporal_host(self) -> str:
        return self._temporal_host_port[0]

    @property
    def temporal_port(self) -> int:
        return self._temporal_host_port[1]

    @property
    def _temporal_host_port(self) -> tuple[str, int]:
        address = split_host_port(self.temporal_address)
        assert address is not None  # the validator refused anything else
        return address


def client_profile(settings: Settings) -> ClientConfigProfile:
    """The profile ``temporalio.envconfig`` loads from the file, under our values of its
    variables (set ones only: a default must not override the file)."""
    env = {}
    for variable, name in TEMPORAL_VARIABLES.items():
        value = getattr(settings, name)
        if name not in settings.model_fields_set or value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[variable] = str(value).lower() if isinstance(value, bool) else str(value)
    # gRPC headers have no fixed names: TEMPORAL_GRPC_META_<NAME> from the process environment.
    env.update((k, v) for k, v in os.environ.items() if k.startswith("TEMPORAL_GRPC_META_"))
    source = None
    if settings.temporal_config_file is not None:
        source = Path(settings.temporal_config_file.get_secret_value()).expanduser()
        if not source.is_file():
            raise ValueError("TEMPORAL_CONFIG_FILE: no such file")
    try:
        return ClientConfigProfile.load(
            settings.temporal_profile, config_source=source, override_env_vars=env
        )
    except Exception as err:  # the bridge's ConfigError: a TOML error, an unknown profile
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"Temporal's client configuration: {first}") from None


def setting_names() -> frozenset[str]:
    """The environment variables the settings are read from."""
    return frozenset(str(field.alias) for field in Settings.model_fields.values())


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
