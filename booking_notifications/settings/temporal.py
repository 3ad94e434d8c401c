"""Where Temporal is and how to reach it: Temporal's own environment configuration
(``temporal.toml`` profiles, the ``TEMPORAL_*`` variables), read as settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings
from temporalio.envconfig import ClientConfigProfile

from booking_notifications.settings.values import split_host_port

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


class TemporalSettings(BaseSettings):
    """The settings that reach Temporal (a part of ``Settings``)."""

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
    def _temporal_profile(self) -> Self:
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


def client_profile(settings: TemporalSettings) -> ClientConfigProfile:
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
