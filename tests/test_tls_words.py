"""The SDK's own texts for a failed TLS connection, as it raised them through nginx here
(``tests/test_tls.py``), become our one line: the fast lane's check of the mapping."""

from __future__ import annotations

import pytest

from booking_notifications.api.tls import tls_refusal
from booking_notifications.settings import Settings

CONNECT = "Failed client connect: Server connection error: tonic::transport::Error(Transport, "
AFTER = "Failed client connect: `get_system_info` call error after connection: Status { "


@pytest.mark.parametrize(
    ("given", "sdk", "words"),
    [
        ({"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "ca.pem"}, CONNECT + "ConnectError(Custom { kind: InvalidData, error: InvalidCertificate(UnknownIssuer) }))", "not signed by the CA we trust (TEMPORAL_TLS_SERVER_CA_CERT_PATH)"),
        ({"TEMPORAL_TLS": "true"}, CONNECT + "ConnectError(Custom { kind: InvalidData, error: InvalidCertificate(UnknownIssuer) }))", "the system's CA store"),
        ({"TEMPORAL_TLS_SERVER_NAME": "other.test"}, CONNECT + 'ConnectError(Custom { kind: InvalidData, error: InvalidCertificate(NotValidForNameContext { expected: DnsName("other.test"), presented: [] }) }))', "not valid for the name 'other.test'"),
        ({"TEMPORAL_TLS": "true"}, AFTER + 'code: Cancelled, message: "operation was canceled", source: Some(tonic::transport::Error(Transport, hyper::Error(Canceled, "connection closed"))) }', "it wants a client certificate"),
        ({"TEMPORAL_TLS_CLIENT_CERT_PATH": "c.pem", "TEMPORAL_TLS_CLIENT_KEY_PATH": "c.key"}, AFTER + 'code: Unknown, message: "transport error", source: Some(tonic::transport::Error(Transport, hyper::Error(Io, Custom { kind: BrokenPipe, error: "stream closed because of a broken pipe" }))) }', "it refused our client certificate"),
        ({"TEMPORAL_TLS": "true"}, CONNECT + "ConnectError(Custom { kind: InvalidData, error: InvalidMessage(InvalidContentType) }))", "it does not speak TLS there"),
        ({"TEMPORAL_TLS": "true"}, CONNECT + "ConnectError(H2NotNegotiated))", "ALPN h2"),
    ],
    ids=["a wrong CA", "a private CA unknown to the system", "a wrong name", "no client certificate",
         "a stranger's certificate", "a plaintext port", "a proxy without HTTP/2"],
)  # fmt: skip
def test_a_refused_handshake_is_said_in_our_words(
    given: dict[str, str], sdk: str, words: str
) -> None:
    settings = Settings.model_validate({"TEMPORAL_ADDRESS": "127.0.0.1:7443", **given})

    refusal = tls_refusal(settings, RuntimeError(sdk))

    assert refusal is not None and words in refusal and "tonic" not in refusal


@pytest.mark.parametrize(
    "sdk",
    [
        CONNECT + "ConnectError(ConnectError(\"tcp connect error\", Os { code: 111, kind: ConnectionRefused }))",
        AFTER + 'code: Cancelled, message: "operation was canceled", source: Some(tonic::transport::Error(Transport, hyper::Error(Canceled, "connection closed"))) }',
    ],
    ids=["a refused port", "a connection closed, in plaintext"],
)  # fmt: skip
def test_an_outage_without_tls_is_left_to_the_outage_words(sdk: str) -> None:
    settings = Settings.model_validate({"TEMPORAL_ADDRESS": "127.0.0.1:7233"})

    assert tls_refusal(settings, RuntimeError(sdk)) is None
