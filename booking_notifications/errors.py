"""What the API raises when a dependency is down, and how the SDK's and drivers' errors become it.

The exceptions booking code sees (``booking_notifications.api`` exports them all)::

    InvalidBooking (ValueError)       bad input; nothing was started or written
    BookingNotFound (LookupError)     no booking has that id
    WorkflowIdTaken (RuntimeError)    the booking's workflow id names another booking's run
    Unavailable (ConnectionError)     Temporal or the database cannot be reached right now
    ├── TemporalUnavailable           "Temporal at 127.0.0.1:7233 is unreachable (connection refused)"
    └── DatabaseUnavailable           "the database at 127.0.0.1:5432 is unreachable (...)"

An ``Unavailable`` means the call changed nothing, unless its docstring says what stays pending
(``schedule`` and ``cancel`` never raise it once their rows commit). Its message is one line and
names the server, never a password, a token or the SDK's transport debug text; the original
error stays chained as ``__cause__`` for whoever wants it.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeout
from temporalio.service import RPCError, RPCStatusCode


class Unavailable(ConnectionError):
    """Temporal or the database cannot be reached right now; try again later."""


class TemporalUnavailable(Unavailable):
    """Temporal did not answer (refused, timed out, or refused the call on a server error)."""


class DatabaseUnavailable(Unavailable):
    """The database could not be reached or failed the statement on its side."""


TRANSIENT = frozenset(
    {
        RPCStatusCode.UNAVAILABLE,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.ABORTED,
        RPCStatusCode.INTERNAL,
        RPCStatusCode.UNKNOWN,
    }
)
"""RPC statuses that say "not now" rather than "no": the call may succeed when retried."""

_REASONS = (
    ("ConnectionRefused", "connection refused"),
    ("tcp connect error", "cannot connect"),
    ("connection refused", "connection refused"),
    ("dns error", "unknown host"),
    ("failed to lookup address", "unknown host"),
    ("TimedOut", "timed out"),
    ("timed out", "timed out"),
    ("Timeout expired", "timed out"),  # a server that accepts the connection and never answers
    ("Deadline", "timed out"),
    ("ConnectionReset", "connection reset"),
    ("broken pipe", "connection lost"),
    ("invalid peer certificate", "the server's certificate was refused"),
    ("certificate", "TLS handshake failed"),
)
"""Fragments of the SDK core's transport errors, and the few words each becomes."""


def temporal_reason(err: BaseException) -> str:
    """A few words for why Temporal could not be reached, from the SDK's error text."""
    text = str(err)
    if isinstance(err, RPCError):
        text = f"{err.message} {text}"
        if err.status is RPCStatusCode.DEADLINE_EXCEEDED:
            return "timed out"
    lowered = text.lower()
    for fragment, reason in _REASONS:
        if fragment.lower() in lowered:
            return reason
    if isinstance(err, RPCError) and err.status is not None:
        return err.status.name.lower().replace("_", " ")
    return "no connection"


def is_transient(err: BaseException) -> bool:
    """Whether ``err`` says Temporal is unreachable now (as opposed to refusing the call)."""
    if isinstance(err, RPCError):
        return err.status in TRANSIENT
    # Client.connect raises RuntimeError("Failed client connect: ...") when nothing answers.
    return isinstance(err, RuntimeError) and "client connect" in str(err)


def temporal_unavailable(address: str, err: BaseException) -> TemporalUnavailable:
    """Our one-line error for a Temporal that cannot be reached at ``address``, or that refused
    the call for a reason of its own (a namespace that does not exist, a permission)."""
    if isinstance(err, RPCError) and not is_transient(err):
        first = (err.message or "").splitlines()[0] if err.message else temporal_reason(err)
        return TemporalUnavailable(f"Temporal at {address} refused the call: {first}")
    return TemporalUnavailable(f"Temporal at {address} is unreachable ({temporal_reason(err)})")


def is_database_outage(err: BaseException) -> bool:
    """Whether ``err`` is the database failing (not our statement or our data being wrong)."""
    if isinstance(err, DatabaseUnavailable):
        return True
    # OperationalError / InterfaceError: the server or the connection failed (lost, shutting
    # down, locked), and any driver error SQLAlchemy saw invalidate its connection; a pool that
    # waited in vain raises sqlalchemy.exc.TimeoutError. A ProgrammingError or an IntegrityError
    # is about our statement or our data: not an outage.
    if isinstance(err, DBAPIError):
        return err.connection_invalidated or isinstance(err, (OperationalError, InterfaceError))
    return isinstance(err, SQLAlchemyTimeout)


def database_unavailable(where: str, err: BaseException) -> DatabaseUnavailable:
    """Our one-line error for a database at ``where`` (host:port or file) that failed."""
    return DatabaseUnavailable(f"the database at {where} is unreachable ({database_reason(err)})")


def os_reason(err: OSError) -> str:
    """``connection refused``, ``timed out``, ``name or service not known``: the system's words
    for a failed connect (asyncpg's own say "Connect call failed (host, port)")."""
    if isinstance(err, TimeoutError):
        return "timed out"
    if isinstance(err.errno, int) and err.errno > 0:  # a resolver's errors are negative
        return os.strerror(err.errno).lower()
    return (err.strerror or str(err) or type(err).__name__).lower()


def database_reason(err: BaseException) -> str:
    """A few words for why the database failed, without SQL, parameters or passwords."""
    cause = getattr(err, "orig", None) or err
    if isinstance(cause, DatabaseUnavailable):
        return str(cause).rpartition("(")[2].rstrip(")")
    if isinstance(cause, SQLAlchemyTimeout):
        return "no connection free in time"
    if isinstance(cause, OSError):
        return os_reason(cause)
    name = type(cause).__name__
    words = str(cause).splitlines()[0] if str(cause) else ""
    if "connection" in name.lower() or "connection" in words.lower():
        return "connection lost"
    return name


C = TypeVar("C", bound=type)


@dataclass(frozen=True)
class Servers:
    """Where an API object's Temporal and database are, as its messages name them."""

    temporal: str
    """``host:port`` of the Temporal frontend."""
    database: str
    """``host:port`` of the database server, or the path of its file; never a password."""


def in_our_words(cls: C) -> C:
    """Wrap every public coroutine method of ``cls`` so that the SDK's and the driver's errors
    for an outage leave it as ``TemporalUnavailable`` / ``DatabaseUnavailable`` (chained).

    Its instances name their servers in a ``servers`` attribute (``Servers``).
    """
    for name, method in list(vars(cls).items()):
        if not name.startswith("_") and inspect.iscoroutinefunction(method):
            setattr(cls, name, _translating(method))
    return cls


def _translating(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        except Unavailable:
            raise
        except (RPCError, RuntimeError) as err:
            if isinstance(err, RPCError) or is_transient(err):
                raise temporal_unavailable(self.servers.temporal, err) from err
            raise
        except Exception as err:
            if is_database_outage(err):
                raise database_unavailable(self.servers.database, err) from err
            raise

    return call
