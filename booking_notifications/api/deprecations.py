"""Public names that moved: still found where they were, with a ``DeprecationWarning`` naming
the new place, so a booking service upgrading finds every name it used."""

from __future__ import annotations

import warnings
from typing import Protocol

from booking_notifications.api.people import PEOPLE_METHODS, People


class _WithPeople(Protocol):
    people: People


def people_method(notifier: _WithPeople, name: str) -> object:
    """Deprecated: ``notifier.link`` and the other people methods are ``notifier.people``'s.

    ``BookingNotifier.__getattr__``: asked only for a name the notifier does not have.
    """
    if name in PEOPLE_METHODS:
        warnings.warn(f"use notifier.people.{name}", DeprecationWarning, stacklevel=2)
        return getattr(notifier.people, name)
    raise AttributeError(f"{type(notifier).__name__!r} object has no attribute {name!r}")
