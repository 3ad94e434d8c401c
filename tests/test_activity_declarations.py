"""The workflows call activities through typed declarations; the worker runs implementations
registered under the same names. They must agree, or a workflow would send what no one reads."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

import pytest
from temporalio import activity

from booking_notifications.activities.edits import EditActivities
from booking_notifications.activities.notices import NoticeActivities
from booking_notifications.activities.reconcile import ReconcileActivities
from booking_notifications.workflows import activities as declared

PAIRS: list[tuple[Callable[..., Any], Callable[..., Any]]] = [
    (declared.mirror_notices, NoticeActivities.mirror),
    (declared.deliver_notice, NoticeActivities.deliver),
    (declared.reconcile_bookings, ReconcileActivities.reconcile),
    (declared.edit_sent_message, EditActivities.edit),
    (declared.edit_sent_messages, EditActivities.edit_all),
]


def _name(fn: Callable[..., Any]) -> str:
    definition = activity._Definition.from_callable(fn)
    assert definition is not None and definition.name is not None
    return definition.name


def _shape(fn: Callable[..., Any]) -> tuple[list[str], dict[str, Any]]:
    names = [p for p in inspect.signature(fn).parameters if p != "self"]
    return names, {k: v for k, v in typing.get_type_hints(fn).items() if k != "self"}


@pytest.mark.parametrize(("declaration", "implementation"), PAIRS, ids=lambda f: f.__name__)
def test_an_implementation_runs_under_its_declared_name_and_signature(
    declaration: Callable[..., Any], implementation: Callable[..., Any]
) -> None:
    assert _name(implementation) == _name(declaration)
    assert _shape(implementation) == _shape(declaration)


def test_every_implementation_is_declared() -> None:
    implemented = {
        _name(member)
        for cls in (NoticeActivities, ReconcileActivities, EditActivities)
        for _, member in inspect.getmembers(cls, inspect.isfunction)
        if activity._Definition.from_callable(member) is not None
    }
    assert implemented == {_name(d) for d, _ in PAIRS}
