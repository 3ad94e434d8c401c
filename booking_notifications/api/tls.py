"""How a client reaches a Temporal that wants TLS, an API key or a client certificate (mTLS).

The profile (``Settings.temporal_connection``: Temporal's ``temporal.toml`` under our variables)
names files; they are read and checked here, before the SDK sees them, because the SDK's own
answer to a missing file or a certificate that does not match its key is a Rust error text (or
a handshake that fails later, far from the cause). Each problem is one line that names the
variable (or the profile key), never the path: paths are treated like the token.

A handshake that fails anyway (a server certificate from another CA, a name it does not hold, a
server that wants a client certificate) is said in our words by ``tls_refusal``.
"""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path
from typing import Any

from temporalio.envconfig import ClientConfigProfile, DataSource
from temporalio.service import TLSConfig

from booking_notifications.settings import Settings, SettingsError

_FILES = {
    "server_root_ca_cert": ("temporal_tls_server_ca", "TEMPORAL_TLS_SERVER_CA_CERT", "server_ca_cert"),
    "client_cert": ("temporal_tls_client_cert", "TEMPORAL_TLS_CLIENT_CERT", "client_cert"),
    "client_private_key": ("temporal_tls_client_key", "TEMPORAL_TLS_CLIENT_KEY", "client_key"),
}  # fmt: skip
"""For each of the profile's TLS sources: our setting (``_data`` for the PEM itself), its
variable (``_PATH`` or ``_DATA``), and its key in the TOML (``_path`` or ``_data``)."""


def connect_options(settings: Settings) -> dict[str, Any]:
    """``Client.connect``'s keyword arguments for the settings: target, namespace, API key, TLS
    (files read and checked) and the profile's gRPC metadata.

    Raises:
        SettingsError: a file is missing or unreadable, is not PEM, or the client certificate
            does not match its key, or comes without one (one line, no path).
    """
    profile = settings.temporal_connection()
    options: dict[str, Any] = {
        "target_host": settings.temporal_address,
        "namespace": settings.temporal_namespace,
        "tls": _tls(settings, profile),
    }
    if profile.api_key:
        options["api_key"] = profile.api_key
    if profile.grpc_meta:
        options["rpc_metadata"] = dict(profile.grpc_meta)
    return options


def uses_tls(settings: Settings) -> bool:
    """Whether the client speaks TLS to Temporal (an API key turns it on unless disabled)."""
    profile = settings.temporal_connection()
    if profile.tls is not None:
        return profile.tls.disabled is not True
    return bool(profile.api_key)


def _tls(settings: Settings, profile: ClientConfigProfile) -> bool | TLSConfig:
    tls = profile.tls
    if tls is None:
        return bool(profile.api_key)  # an API key means TLS with the system's CAs
    if tls.disabled:
        return False
    read = {attribute: _read(settings, attribute, getattr(tls, attribute)) for attribute in _FILES}
    ca, cert, key = read["server_root_ca_cert"], read["client_cert"], read["client_private_key"]
    if ca is not None:
        _check_certificate(settings, "server_root_ca_cert", ca)
    if (cert is None) != (key is None):
        have, lack = ("client_cert", "client_private_key")[:: 1 if cert is not None else -1]
        raise _problem(f"{_name(settings, have)} is set without {_name(settings, lack)}")
    if cert is not None and key is not None:
        _check_pair(settings, cert, key)
    return TLSConfig(
        domain=tls.server_name,
        server_root_ca_cert=ca,
        client_cert=cert,
        client_private_key=key,
    )


def _name(settings: Settings, attribute: str) -> str:
    """How a message names a TLS source: our variable when it is set (or when nothing sets the
    source at all), else the profile key."""
    field, variable, toml_key = _FILES[attribute]
    if getattr(settings, f"{field}_data") is not None:
        return f"{variable}_DATA"
    tls = settings.temporal_connection().tls
    given = None if tls is None else getattr(tls, attribute)
    if getattr(settings, field) is not None or given is None:
        return f"{variable}_PATH"
    kind = "path" if isinstance(given, Path) else "data"
    return f"tls.{toml_key}_{kind} of Temporal profile {settings.temporal_profile or 'default'!r}"


def _problem(text: str) -> SettingsError:
    return SettingsError(f"bad setting {text}")


def _read(settings: Settings, attribute: str, source: DataSource | None) -> bytes | None:
    if source is None or isinstance(source, bytes):
        return source
    if isinstance(source, str):  # the profile's inline *_data
        return source.encode()
    try:
        return source.expanduser().read_bytes()
    except FileNotFoundError:
        reason = "no such file"
    except IsADirectoryError:
        reason = "a folder, not a file"
    except PermissionError:
        reason = "cannot be read (permission denied)"
    except OSError as err:
        reason = f"cannot be read ({(err.strerror or type(err).__name__).lower()})"
    raise _problem(f"{_name(settings, attribute)}: {reason}")


def _check_certificate(settings: Settings, attribute: str, pem: bytes) -> None:
    try:
        ssl.create_default_context(cadata=pem.decode("ascii", errors="replace"))
    except (ssl.SSLError, ValueError):
        raise _problem(f"{_name(settings, attribute)}: not a PEM certificate") from None


def _check_pair(settings: Settings, cert: bytes, key: bytes) -> None:
    """The certificate parses and the key is its own (the standard library's OpenSSL reads the
    pair from files only: they go to a private temporary folder for the check)."""
    _check_certificate(settings, "client_cert", cert)
    with tempfile.TemporaryDirectory(prefix="bn-tls-") as folder:
        cert_file, key_file = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        cert_file.write_bytes(cert)
        key_file.touch(mode=0o600)
        key_file.write_bytes(key)
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(cert_file, key_file)
        except ssl.SSLError as err:
            key_name = _name(settings, "client_private_key")
            if err.reason == "KEY_VALUES_MISMATCH":
                cert_name = _name(settings, "client_cert")
                raise _problem(f"{key_name}: not the key of {cert_name}") from None
            raise _problem(f"{key_name}: not a PEM private key") from None


def tls_refusal(settings: Settings, err: BaseException) -> str | None:
    """Our words for a TLS connection to Temporal that failed, from the SDK's error; None when
    ``err`` is not about TLS (a refused port, a timeout: ``errors.temporal_unavailable``).

    The words name the setting to look at. A server that closes the connection right after the
    handshake (nginx, HAProxy) says no more than that; with TLS and no client certificate that
    is, in practice, a server that wants one.
    """
    text = str(err)
    if "UnknownIssuer" in text:
        where = (
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH"
            if _has(settings, "server_root_ca_cert")
            else "the system's CA store (set TEMPORAL_TLS_SERVER_CA_CERT_PATH)"
        )
        return f"its certificate is not signed by the CA we trust ({where})"
    if "NotValidForName" in text:
        name = _server_name(settings)
        return (
            f"its certificate is not valid for the name {name!r} "
            "(TEMPORAL_TLS_SERVER_NAME names the one it holds)"
        )
    if "Expired" in text:
        return "its certificate has expired"
    if "InvalidContentType" in text or "CorruptMessage" in text:
        return "it does not speak TLS there (TEMPORAL_TLS=false, if it is a plaintext port)"
    if "H2NotNegotiated" in text:
        return "it did not offer HTTP/2 (ALPN h2): a TLS proxy before Temporal must pass gRPC"
    if "InconsistentKeys" in text or "KeyMismatch" in text:
        return "the client certificate does not match its key"
    if not uses_tls(settings) or "after connection" not in text:
        return None
    closed = (
        "CertificateRequired",
        "connection closed",
        "broken pipe",
        "BadCertificate",
        "UnknownCA",
    )
    if any(mark.lower() in text.lower() for mark in closed):
        if not _has(settings, "client_cert"):
            return (
                "it closed the connection after the handshake: it wants a client certificate "
                "(set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH)"
            )
        return (
            "it closed the connection after the handshake: it refused our client certificate "
            "(TEMPORAL_TLS_CLIENT_CERT_PATH is not one its CA signed)"
        )
    return None


def _has(settings: Settings, attribute: str) -> bool:
    tls = settings.temporal_connection().tls
    return tls is not None and getattr(tls, attribute) is not None


def _server_name(settings: Settings) -> str:
    tls = settings.temporal_connection().tls
    if tls is not None and tls.server_name:
        return tls.server_name
    return settings.temporal_host
