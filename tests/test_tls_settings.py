"""Temporal's own environment configuration decides where and how every process connects:
a ``temporal.toml`` profile, our variables over it, and secrets (the API key, the paths) kept
out of every view of the settings and every message."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from booking_notifications.api.tls import connect_options
from booking_notifications.settings import Settings, SettingsError, load_settings, setting_names
from tests.support.tls import Certificates, tools

API_KEY = "cloud-key-s3cr3t"
PROFILE = f"""
[profile.default]
address = "127.0.0.1:7233"

[profile.prod]
address = "acme.a1b2c.tmprl.cloud:7233"
namespace = "acme.a1b2c"
api_key = "{API_KEY}"

[profile.prod.grpc_meta]
team = "bookings"

[profile.plain]
address = "temporal.internal:7233"
api_key = "{API_KEY}"

[profile.plain.tls]
disabled = true
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "temporal.toml"
    path.write_text(PROFILE)
    return path


def load(monkeypatch: pytest.MonkeyPatch, **values: str) -> Settings:
    """``load_settings`` with only these settings in the environment, and no ``.env``."""
    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    return load_settings()


def test_a_profile_gives_the_address_namespace_api_key_and_grpc_metadata(
    monkeypatch: pytest.MonkeyPatch, config_file: Path
) -> None:
    settings = load(monkeypatch, TEMPORAL_CONFIG_FILE=str(config_file), TEMPORAL_PROFILE="prod")

    assert settings.temporal_address == "acme.a1b2c.tmprl.cloud:7233"
    assert settings.temporal_namespace == "acme.a1b2c"
    options = connect_options(settings)
    assert options["api_key"] == API_KEY and options["tls"] is True  # a key means TLS
    assert options["rpc_metadata"] == {"team": "bookings"}


def test_a_variable_overrides_the_profile_as_the_temporal_cli_does(
    monkeypatch: pytest.MonkeyPatch, config_file: Path
) -> None:
    settings = load(
        monkeypatch,
        TEMPORAL_CONFIG_FILE=str(config_file),
        TEMPORAL_PROFILE="prod",
        TEMPORAL_NAMESPACE="staging.a1b2c",
        TEMPORAL_TLS_SERVER_NAME="staging.internal",
    )

    assert settings.temporal_address == "acme.a1b2c.tmprl.cloud:7233"
    assert settings.temporal_namespace == "staging.a1b2c"
    tls = connect_options(settings)["tls"]
    assert isinstance(tls, TLSConfig) and tls.domain == "staging.internal"


def test_without_any_configuration_it_is_the_local_plaintext_server(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.config/temporalio/temporal.toml
    settings = load(monkeypatch)

    options = connect_options(settings)
    assert (options["target_host"], options["namespace"]) == ("127.0.0.1:7233", "default")
    assert options["tls"] is False and "api_key" not in options


def test_temporal_tls_true_alone_uses_the_system_ca_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    tls = connect_options(load(monkeypatch, TEMPORAL_TLS="true"))["tls"]

    assert isinstance(tls, TLSConfig) and tls.server_root_ca_cert is None


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"TEMPORAL_CONFIG_FILE": "{folder}/nowhere.toml"}, "TEMPORAL_CONFIG_FILE: no such file"),
        ({"TEMPORAL_PROFILE": "nope"}, "Profile 'nope' not found"),
        ({"TEMPORAL_PROFILE": "plain"}, "TEMPORAL_API_KEY needs TLS"),
        ({"TEMPORAL_PROFILE": "prod", "TEMPORAL_TLS": "false"}, "TEMPORAL_API_KEY needs TLS"),
    ],
    ids=["a config file that is not there", "an unknown profile", "a profile's key without TLS",
         "TEMPORAL_TLS=false under a key"],
)  # fmt: skip
def test_a_configuration_that_cannot_work_is_one_line_without_the_key_or_the_path(
    monkeypatch: pytest.MonkeyPatch, config_file: Path, values: dict[str, str], words: str
) -> None:
    given = {"TEMPORAL_CONFIG_FILE": str(config_file)}
    given.update({k: v.format(folder=config_file.parent) for k, v in values.items()})
    with pytest.raises(SettingsError) as caught:
        load(monkeypatch, **given)

    message = str(caught.value)
    assert words in message and "\n" not in message
    assert API_KEY not in message and str(config_file.parent) not in message


def test_a_broken_toml_file_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    broken = tmp_path / "temporal.toml"
    broken.write_text("[profile.default\naddress = 1\n")
    with pytest.raises(SettingsError) as caught:
        load(monkeypatch, TEMPORAL_CONFIG_FILE=str(broken))

    assert "TOML parse error" in str(caught.value) and "\n" not in str(caught.value)


def test_no_view_of_the_settings_shows_the_api_key_or_the_tls_paths(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "team-secrets"
    settings = load(
        monkeypatch,
        TEMPORAL_API_KEY=API_KEY,
        TEMPORAL_TLS_CLIENT_CERT_PATH=str(folder / "client.pem"),
        TEMPORAL_TLS_CLIENT_KEY_PATH=str(folder / "client.key"),
        TEMPORAL_TLS_SERVER_CA_CERT_PATH=str(folder / "ca.pem"),
    )

    for view in (repr(settings), str(settings), str(settings.model_dump())):
        assert API_KEY not in view and "team-secrets" not in view, view
    with pytest.raises(SettingsError) as caught:
        connect_options(settings)  # the files are not there: named by variable, not by path
    assert "TEMPORAL_TLS_SERVER_CA_CERT_PATH: no such file" in str(caught.value)
    assert "team-secrets" not in str(caught.value)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    tools(proxy=False)
    return Certificates.make(tmp_path_factory.mktemp("tls"))


def test_the_pem_itself_in_a_variable_works_and_is_checked_like_a_file(
    monkeypatch: pytest.MonkeyPatch, certificates: Certificates
) -> None:
    c = certificates
    given = {
        "TEMPORAL_TLS_CLIENT_CERT_DATA": c.client_cert.read_text(),
        "TEMPORAL_TLS_CLIENT_KEY_DATA": c.client_key.read_text(),
        "TEMPORAL_TLS_SERVER_CA_CERT_DATA": c.ca.read_text(),
    }
    tls = connect_options(load(monkeypatch, **given))["tls"]
    assert isinstance(tls, TLSConfig) and tls.client_cert == c.client_cert.read_bytes()

    given["TEMPORAL_TLS_CLIENT_KEY_DATA"] = c.stranger_key.read_text()
    with pytest.raises(SettingsError) as caught:
        connect_options(load(monkeypatch, **given))
    message = str(caught.value)
    assert "TEMPORAL_TLS_CLIENT_KEY_DATA: not the key of TEMPORAL_TLS_CLIENT_CERT_DATA" in message
    assert "PRIVATE KEY" not in message


def test_a_profile_key_is_named_when_the_file_gives_the_path(
    monkeypatch: pytest.MonkeyPatch, certificates: Certificates, tmp_path: Path
) -> None:
    config = tmp_path / "temporal.toml"
    config.write_text(
        "[profile.prod.tls]\n"
        f'client_cert_path = "{certificates.client_cert}"\n'
        f'client_key_path = "{tmp_path / "gone.key"}"\n'
    )
    settings = load(monkeypatch, TEMPORAL_CONFIG_FILE=str(config), TEMPORAL_PROFILE="prod")

    with pytest.raises(SettingsError) as caught:
        connect_options(settings)
    assert str(caught.value) == (
        "bad setting tls.client_key_path of Temporal profile 'prod': no such file"
    )


def test_disabling_host_verification_is_refused_not_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SettingsError) as caught:
        load(monkeypatch, TEMPORAL_TLS_DISABLE_HOST_VERIFICATION="true")

    assert "TEMPORAL_TLS_SERVER_NAME" in str(caught.value)


def test_a_dot_env_file_configures_temporal_like_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, config_file: Path
) -> None:
    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text(
        f"TEMPORAL_CONFIG_FILE={config_file}\nTEMPORAL_PROFILE=prod\nTEMPORAL_NAMESPACE=other\n"
    )
    monkeypatch.chdir(tmp_path)
    settings = load_settings()

    assert settings.temporal_address == "acme.a1b2c.tmprl.cloud:7233"
    assert settings.temporal_namespace == "other"
    assert connect_options(settings)["api_key"] == API_KEY
