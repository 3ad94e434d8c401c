"""What a booking costs on Temporal Cloud, which bills per action: counted from the real history
of each notice plan, run on the time-skipping server by the real worker (the fake Bot API behind
aiogram, so sent messages have ids and are edited when the booking changes or ends).

The figures are BENCHMARKS.md's "Actions per booking" table (``pytest tests/test_cost.py -s``
prints it). A change that costs an action more per booking fails here and says where.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from booking_notifications.observe.actions import billable_actions
from tests.support.stack import Stack

pytestmark = pytest.mark.backends("sqlite")

H = timedelta(hours=1)
Plan = Callable[[Stack], Awaitable[int]]


async def two_reminders(s: Stack) -> int:
    """The default plan: 24 h and 1 h reminders, start and end notices."""
    return (await s.book(30 * H))[0]


async def one_reminder(s: Stack) -> int:
    return (await s.book(30 * H, reminders=[H]))[0]


async def start_only(s: Stack) -> int:
    return (await s.book(30 * H, reminders=[], end_notice=False))[0]


async def cancelled(s: Stack) -> int:
    """The 24 h reminder sent, then cancelled: the cancellation told, the reminder edited."""
    booking_id, _ = await s.book(30 * H)
    await s.env.sleep(7 * H)
    await s.notifier.cancel(booking_id, reason="closed")
    return booking_id


async def moved(s: Stack) -> int:
    """The 24 h reminder sent, then moved a day later: it re-arms, the user is told."""
    booking_id, now = await s.book(30 * H)
    await s.env.sleep(7 * H)
    await s.notifier.reschedule(booking_id, now + 50 * H, now + 51 * H)
    return booking_id


PLANS: dict[str, tuple[Plan, int]] = {
    "two reminders, start, end": (two_reminders, 12),
    "one reminder, start, end": (one_reminder, 9),
    "start only": (start_only, 6),
    "two reminders, cancelled after the first": (cancelled, 10),
    "two reminders, moved after the first": (moved, 22),
}
"""Each plan and what it costs: a change that costs more fails, and so does one that saves (the
table in BENCHMARKS.md must say so)."""


@pytest.mark.parametrize("name", PLANS)
async def test_a_booking_costs_the_actions_of_its_plan(time_stack: Stack, name: str) -> None:
    plan, cost = PLANS[name]
    booking_id = await plan(time_stack)
    await time_stack.result(booking_id)
    history = await time_stack.handle(booking_id).fetch_history()

    actions = billable_actions(history)

    kinds = ", ".join(f"{n} {k}" for k, n in sorted(actions.items()))
    print(f"\n| {name} | {sum(actions.values())} | {kinds} |")
    assert sum(actions.values()) == cost, kinds
