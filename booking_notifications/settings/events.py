"""Events to booking code: the webhook, its secret, how long events are retried and kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

from booking_notifications.channels import api_url_problem
from booking_notifications.channels.webhook import secret_problem
from booking_notifications.core.durations import parse_duration


class EventSettings(BaseSettings):
    """The settings of the events relay (a part of ``Settings``)."""

    events_webhook_url: str | None = Field(default=None, alias="EVENTS_WEBHOOK_URL")
    """Where events are POSTed, signed (Standard Webhooks); unset, they are only kept as rows."""
    events_webhook_secret: SecretStr | None = Field(default=None, alias="EVENTS_WEBHOOK_SECRET")
    """The ``whsec_...`` secret the events are signed with; required with the URL."""
    events_retry_for: timedelta = Field(default=timedelta(hours=24), alias="EVENTS_RETRY_FOR")
    """How long an event that does not get through is retried before it counts as failed."""
    events_retention: timedelta = Field(default=timedelta(days=30), alias="EVENTS_RETENTION")
    """How long events are kept as rows (and readable with ``events``), delivered or not."""

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

    @field_validator("events_retry_for", "events_retention", mode="before")
    @classmethod
    def _events_duration(cls, value: object) -> object:
        return parse_duration(value) if isinstance(value, str) else value
