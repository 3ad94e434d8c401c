"""Settings never show a secret, and a setting that cannot work is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from booking_notifications.settings import Settings, SettingsError, load_settings
from tests.support.cli import cli_env, run_cli

SECRET = "s3cr3t"


def _settings(**values: str) -> Settings:
    return Settings.model_validate(values)


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://bob:{SECRET}@db:5432/app",
        f"postgresql://bob:{SECRET}%40x@db/app",  # an escaped @ in the password
        f"postgresql+asyncpg://bob:{SECRET}@db/app?ssl=require",
    ],
)
def test_no_view_of_the_settings_shows_the_database_password(url: str) -> None:
    settings = _settings(DATABASE_URL=url, TELEGRAM_BOT_TOKEN=f"123:{SECRET}")

    for view in (repr(settings), str(settings), settings.safe_db_url, str(settings.model_dump())):
        assert SECRET not in view, view
    assert settings.db_url.startswith("postgresql+asyncpg://bob:s3cr3t")  # still usable


def test_a_password_with_an_unescaped_at_sign_is_refused_naming_the_fix() -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings_from(DATABASE_URL=f"postgresql://bob:{SECRET}@x@db/app")

    message = str(caught.value)
    assert "DATABASE_URL" in message and "%40" in message
    assert SECRET not in message and "x@db" not in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "postgresql://bob@db:99999/app"),
        ("DATABASE_URL", "postgresql://bob@db:port/app"),
        ("TEMPORAL_ADDRESS", f"bob:{SECRET}@temporal:7233"),
        ("TEMPORAL_ADDRESS", "http://temporal:7233"),
        ("TELEGRAM_API_URL", f"ftp://{SECRET}"),
        ("TELEGRAM_API_URL", f"http://exa mple.org/{SECRET}"),  # refused by the channel's check
        ("METRICS_ADDRESS", "9464"),
        ("METRICS_ADDRESS", "0.0.0.0:99999"),
        ("LOG_FORMAT", "xml"),
    ],
)
def test_an_address_that_cannot_work_is_refused_in_one_line_without_secrets(
    name: str, value: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings_from(**{name: value})

    message = str(caught.value)
    assert name in message and "\n" not in message and SECRET not in message


def load_settings_from(**values: str) -> Settings:
    """``load_settings`` with these values and nothing from the environment or a .env file."""
    import os

    saved = dict(os.environ)
    try:
        for key in list(os.environ):
            if key in Settings.model_fields or key in _aliases():
                del os.environ[key]
        os.environ.update(values)
        return load_settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _aliases() -> set[str]:
    return {str(f.alias) for f in Settings.model_fields.values() if f.alias}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("at", "named"),
    [("no-such-host.invalid:5432", "no-such-host.invalid"), ("127.0.0.1:1", "127.0.0.1")],
    ids=["an unknown host", "a refused port"],
)
async def test_an_unreachable_database_is_one_line_not_a_traceback(
    tmp_path: Path, at: str, named: str
) -> None:
    env = cli_env(DATABASE_URL=f"postgresql://bob:{SECRET}@{at}/app")
    code, out, err = await run_cli("status", "1", env=env, cwd=tmp_path)

    assert code == 1 and out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and named in err and SECRET not in err


def test_the_temporal_address_is_split_once_into_host_and_port() -> None:
    settings = _settings(TEMPORAL_ADDRESS="[::1]:7233")
    assert (settings.temporal_host, settings.temporal_port) == ("[::1]", 7233)
