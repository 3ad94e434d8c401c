"""Reaching Temporal through a real TLS terminator (nginx), as teams run it: server-only TLS and
mTLS work for the CLI and the worker; a wrong CA, a wrong server name and a missing client
certificate each stop the start with one line of their own, in our words.

The dev server listens in plaintext; nginx (``tests.support.tls``) terminates TLS in front of it
with certificates this module makes, so every byte the SDK sends crosses a real handshake.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.faults.processes import forget_workflows, start_worker
from tests.support.cli import iso, run_cli
from tests.support.processes import Children
from tests.support.tls import SERVER_NAME, Certificates, TlsProxy, tools
from tests.support.waiting import eventually

pytestmark = [pytest.mark.slow, pytest.mark.backends("sqlite")]  # child processes


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    tools()  # before anything starts: skipped (or, in CI, failed) without nginx and openssl
    return Certificates.make(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def module_children(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Children]:
    started = Children(tmp_path_factory.mktemp("tls-children"))
    try:
        yield started
    finally:
        started.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def proxy(
    dev_env: WorkflowEnvironment, certificates: Certificates, module_children: Children
) -> TlsProxy:
    started = TlsProxy(
        module_children, certificates, dev_env.client.service_client.config.target_host
    )
    await started.start()
    return started


def tls_env(proxy: TlsProxy, *, mtls: bool = False, **overrides: str) -> dict[str, str]:
    """The settings of a client of ``proxy``: its CA and the name its certificate holds, and
    with ``mtls`` the client certificate and key."""
    c = proxy.certificates
    env = {
        "TEMPORAL_ADDRESS": proxy.mtls_address if mtls else proxy.tls_address,
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(c.ca),
        "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
    }
    if mtls:
        env["TEMPORAL_TLS_CLIENT_CERT_PATH"] = str(c.client_cert)
        env["TEMPORAL_TLS_CLIENT_KEY_PATH"] = str(c.client_key)
    env.update(overrides)
    return {k: v for k, v in env.items() if v}


def book_args(start: datetime, chat_id: int = 42) -> list[str]:
    return ["book", "--chat-id", str(chat_id), "--title", "Court 3", "--start", iso(start),
            "--end", iso(start + timedelta(hours=1)), "--no-end-notice", "--json"]  # fmt: skip


async def test_over_server_only_tls_the_cli_books_and_the_workflow_starts(
    dev_env: WorkflowEnvironment, proxy: TlsProxy, cli_stack_env: dict[str, str], tmp_path: Path
) -> None:
    start = datetime.now(UTC) + timedelta(days=2)
    env = {**cli_stack_env, **tls_env(proxy)}
    code, out, err = await run_cli(*book_args(start), env=env, cwd=tmp_path)

    assert code == 0, err
    workflow_id = f"{env['WORKFLOW_ID_PREFIX']}{json.loads(out)['booking_id']}"
    handle = dev_env.client.get_workflow_handle(workflow_id)  # asked in plaintext, behind nginx
    assert (await handle.describe()).status is not None
    await forget_workflows(dev_env.client, [workflow_id], env["WORKFLOW_ID_PREFIX"])


async def test_over_mtls_a_worker_polls_both_queues_and_delivers_a_booking_made_over_mtls(
    dev_env: WorkflowEnvironment,
    proxy: TlsProxy,
    db_url: str,
    task_queue: str,
    telegram: FakeTelegram,
    cli_stack_env: dict[str, str],
    tmp_path: Path,
) -> None:
    children = Children(tmp_path)
    prefix = cli_stack_env["WORKFLOW_ID_PREFIX"]
    booked: list[str] = []
    try:
        worker = await start_worker(
            children, dev_env.client, db_url=db_url, task_queue=task_queue,
            telegram_url=telegram.url, **tls_env(proxy, mtls=True),
        )  # fmt: skip
        assert worker.alive
        start = datetime.now(UTC) + timedelta(seconds=4)
        env = {**cli_stack_env, **tls_env(proxy, mtls=True)}
        code, out, err = await run_cli(*book_args(start, chat_id=77), env=env, cwd=tmp_path)
        assert code == 0, err
        booked.append(f"{prefix}{json.loads(out)['booking_id']}")

        async def started_notice_sent() -> bool:
            return len(telegram.sent_to(77)) == 1

        await eventually(started_notice_sent, within=30)
    finally:
        children.close()
        await forget_workflows(dev_env.client, booked, prefix)


@pytest.mark.parametrize(
    ("mtls", "overrides", "words"),
    [
        (False, {"ca": "wrong"}, "its certificate is not signed by the CA we trust"),
        (False, {"TEMPORAL_TLS_SERVER_NAME": "other.test"}, "not valid for the name 'other.test'"),
        (True, {"client": "none"}, "it wants a client certificate"),
        (True, {"client": "stranger"}, "it refused our client certificate"),
    ],
    ids=["a wrong CA", "a wrong server name", "no client certificate", "a stranger's certificate"],
)
async def test_a_refused_handshake_stops_the_start_with_its_own_line(
    proxy: TlsProxy,
    cli_stack_env: dict[str, str],
    tmp_path: Path,
    mtls: bool,
    overrides: dict[str, str],
    words: str,
) -> None:
    c = proxy.certificates
    given = dict(overrides)
    if given.pop("ca", None) == "wrong":
        given["TEMPORAL_TLS_SERVER_CA_CERT_PATH"] = str(c.wrong_ca)
    client = given.pop("client", None)
    if client == "none":
        given.update(TEMPORAL_TLS_CLIENT_CERT_PATH="", TEMPORAL_TLS_CLIENT_KEY_PATH="")
    elif client == "stranger":
        given["TEMPORAL_TLS_CLIENT_CERT_PATH"] = str(c.stranger_cert)
        given["TEMPORAL_TLS_CLIENT_KEY_PATH"] = str(c.stranger_key)
    env = {**cli_stack_env, **tls_env(proxy, mtls=mtls, **given)}  # "" leaves a path out

    start = datetime.now(UTC) + timedelta(days=2)
    code, out, err = await run_cli(*book_args(start), env=env, cwd=tmp_path)

    assert code == 1 and out == "" and err.count("\n") == 1, err
    assert err.startswith(f"booking-notify: Temporal at {env['TEMPORAL_ADDRESS']} refused the TLS")
    assert words in err
    assert str(c.folder) not in err and "tonic" not in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"TEMPORAL_TLS_CLIENT_CERT_PATH": "missing.pem"}, "TEMPORAL_TLS_CLIENT_CERT_PATH: no such file"),
        ({"TEMPORAL_TLS_CLIENT_KEY_PATH": "stranger.key"}, "TEMPORAL_TLS_CLIENT_KEY_PATH: not the key of"),
        ({"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "client.key"}, "TEMPORAL_TLS_SERVER_CA_CERT_PATH: not a PEM certificate"),
        ({"TEMPORAL_API_KEY": "key-abcdef", "TEMPORAL_TLS": "false"}, "TEMPORAL_API_KEY needs TLS"),
    ],
    ids=["a missing file", "a key not the certificate's", "a CA that is not a certificate", "an API key without TLS"],
)  # fmt: skip
async def test_a_tls_setting_that_cannot_work_is_one_line_and_exit_2(
    proxy: TlsProxy,
    cli_stack_env: dict[str, str],
    tmp_path: Path,
    given: dict[str, str],
    words: str,
) -> None:
    folder = proxy.certificates.folder
    paths = {k: str(folder / v) if k.endswith("_PATH") else v for k, v in given.items()}
    env = {**cli_stack_env, **tls_env(proxy, mtls=True, **paths)}

    start = datetime.now(UTC) + timedelta(days=2)
    code, out, err = await run_cli(*book_args(start), env=env, cwd=tmp_path)

    assert code == 2 and out == "" and err.count("\n") == 1, err
    assert words in err
    assert str(folder) not in err and "key-abcdef" not in err and "Traceback" not in err
