"""The bot in several replicas: one webhook URL on a load balancer, any replica answers.

Long polling allows one process per bot (Telegram answers a second poller 409, and the second
``booking-notify bot`` exits). With ``--webhook``, replicas share the URL and the secret (derived
from the token), each registers the same webhook, and nginx spreads Telegram's posts over them:
every user is answered once, by either replica, and when one replica is killed the other answers
everything (nginx passes a refused connection on).
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from pathlib import Path

import pytest

from booking_notifications.testing.fake_chats import TelegramUser
from booking_notifications.testing.fake_telegram import FakeTelegram
from tests.support.balancer import LoadBalancer
from tests.support.cli import CLI
from tests.support.processes import Child, Children, free_port
from tests.support.scrape import scrape
from tests.support.tls import tools

pytestmark = [pytest.mark.slow, pytest.mark.backends("sqlite")]  # child processes

REPLICAS = 2
USERS = 12
"""Two rounds of /start, all answered within Telegram's 30 messages a second."""
FIRST = 880_000
UPDATES = "booking_notify_bot_updates_total"
HELLO = "Hello! To get your booking"


@dataclass(frozen=True)
class Replica:
    child: Child
    metrics: str
    """The base URL of its /metrics."""


async def start_replica(
    children: Children, env: dict[str, str], webhook: str, port: int
) -> Replica:
    """``booking-notify bot --webhook`` listening on ``port``, once it receives updates."""
    metrics = f"127.0.0.1:{free_port()}"
    child = children.start(
        f"bot-{port}",
        [CLI, "bot", "--webhook", webhook, "--listen", f"127.0.0.1:{port}"],
        env={**env, "METRICS_ADDRESS": metrics},
        cwd=children.folder,
    )
    await child.wait_for_line("receiving updates by webhook", 60)
    return Replica(child, f"http://{metrics}")


async def everyone_greeted(fake: FakeTelegram, users: range) -> None:
    def done() -> bool:
        return all(any(m.text.startswith(HELLO) for m in fake.messages_to(u)) for u in users)

    await fake.wait_until(done, 60)


async def test_replicas_behind_a_load_balancer_each_answer_and_one_killed_leaves_none_unanswered(
    cli_stack_env: dict[str, str], tmp_path: Path
) -> None:
    tools(proxy=False, nginx=True)
    async with FakeTelegram() as fake:
        env = {**cli_stack_env, "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_API_URL": fake.url}
        children = Children(tmp_path)
        try:
            ports = [free_port() for _ in range(REPLICAS)]
            balancer = LoadBalancer(children, tmp_path / "lb", [f"127.0.0.1:{p}" for p in ports])
            await balancer.start()
            webhook = f"http://{balancer.address}/telegram/updates"
            replicas = []
            for port in ports:
                replicas.append(await start_replica(children, env, webhook, port))
                await asyncio.sleep(fake.updates.set_webhook_interval)  # Telegram: 1 a second

            first = range(FIRST, FIRST + USERS)
            for user in first:
                await fake.user_says(user, "/start", TelegramUser(user, f"User {user}"))
            await everyone_greeted(fake, first)
            handled = [(await scrape(r.metrics)).value(UPDATES) for r in replicas]

            replicas[0].child.send(signal.SIGKILL)
            await replicas[0].child.wait(10)
            second = range(FIRST + USERS, FIRST + 2 * USERS)
            for user in second:
                await fake.user_says(user, "/start", TelegramUser(user, f"User {user}"))
            await everyone_greeted(fake, second)
            survivor = (await scrape(replicas[1].metrics)).value(UPDATES)
        finally:
            children.close()

    print(
        f"BOT REPLICAS {REPLICAS} behind nginx: {USERS} /start handled {[int(h) for h in handled]}; "
        f"one killed, then {USERS} more all by the survivor ({int(survivor - handled[1])})"
    )
    assert fake.webhook is not None and fake.webhook.url == webhook
    assert all(h > 0 for h in handled) and sum(handled) == USERS
    assert survivor - handled[1] == USERS
    greetings = [
        m for u in [*first, *second] for m in fake.messages_to(u) if m.text.startswith(HELLO)
    ]
    assert len(greetings) == 2 * USERS  # each user answered once
