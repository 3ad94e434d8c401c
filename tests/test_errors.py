"""The SDK's and the drivers' errors for an outage, in our words: one line naming the server.

The texts are the SDK core's own, as temporalio 1.35 raises them (seen on this machine against a
refused port, a server killed under a live client, and a server that accepts connections and
never answers).
"""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from temporalio.service import RPCError, RPCStatusCode

from booking_notifications.errors import (
    database_unavailable,
    is_database_outage,
    is_transient,
    temporal_unavailable,
)

AT = "127.0.0.1:7233"
REFUSED = RuntimeError(
    "Failed client connect: Server connection error: tonic::transport::Error(Transport, "
    'ConnectError(ConnectError("tcp connect error", 127.0.0.1:7233, Os { code: 111, kind: '
    'ConnectionRefused, message: "Connection refused" })))'
)
HUNG = RuntimeError(
    "Failed client connect: `get_system_info` call error after connection: Status { code: "
    'Cancelled, message: "Timeout expired", source: Some(tonic::transport::Error(Transport, '
    "TimeoutExpired(()))) }"
)
LIVE_CLIENT = RPCError("tcp connect error", RPCStatusCode.UNAVAILABLE, b"")


@pytest.mark.parametrize(
    ("err", "words"),
    [
        (REFUSED, "is unreachable (connection refused)"),
        (HUNG, "is unreachable (timed out)"),
        (LIVE_CLIENT, "is unreachable (cannot connect)"),
        (RPCError("deadline", RPCStatusCode.DEADLINE_EXCEEDED, b""), "is unreachable (timed out)"),
        (
            RPCError("Namespace nope is not found.", RPCStatusCode.NOT_FOUND, b""),
            "refused the call: Namespace nope is not found.",
        ),
    ],
    ids=["refused at connect", "accepted and never answered", "gone under a live client",
         "deadline", "a refusal of its own"],
)  # fmt: skip
def test_a_temporal_error_becomes_one_line_naming_the_server(err: Exception, words: str) -> None:
    message = str(temporal_unavailable(AT, err))

    assert message == f"Temporal at {AT} {words}"
    assert "tonic" not in message and "\n" not in message


def test_only_not_now_is_transient() -> None:
    assert is_transient(REFUSED) and is_transient(HUNG) and is_transient(LIVE_CLIENT)
    assert not is_transient(RPCError("no", RPCStatusCode.PERMISSION_DENIED, b""))
    assert not is_transient(RuntimeError("something else"))


def test_a_database_outage_is_told_from_our_own_mistakes() -> None:
    lost = OperationalError("SELECT 1", {}, ConnectionResetError(104, "Connection reset by peer"))
    ours = IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))
    bad_sql = ProgrammingError("SELEC 1", {}, Exception("syntax error"))

    assert is_database_outage(lost)
    assert not is_database_outage(ours) and not is_database_outage(bad_sql)
    assert str(database_unavailable("db:5432", lost)) == (
        "the database at db:5432 is unreachable (connection reset by peer)"
    )
