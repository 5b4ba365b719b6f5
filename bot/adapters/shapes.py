"""Checking that a decoded JSON payload has the shape a platform documents.

A platform's payloads are read field by field (by the platform library and by the
adapter); a field of another type than documented (a number where text belongs, ``null``
for an object) would fail deep inside that reading. Checking the fields that are read,
before anything reads them, turns such a payload into one clear answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Check = Callable[[object], bool]


def is_int(value: object) -> bool:
    # Platforms' ids and times fit in 64 bits; bool is an int to Python but not to JSON.
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63


def is_str(value: object) -> bool:
    return isinstance(value, str)


def is_bool(value: object) -> bool:
    return isinstance(value, bool)


def is_object(value: object) -> bool:
    return isinstance(value, Mapping)


def shape(**fields: tuple[Check, bool]) -> Check:
    """An object whose fields ``name=(check, required)`` pass their check when present
    (``null`` counts as absent); fields not named are not read, so not checked."""

    def check(value: object) -> bool:
        if not isinstance(value, Mapping):
            return False
        for name, (field_check, required) in fields.items():
            present = value.get(name)
            if present is None:
                if required:
                    return False
            elif not field_check(present):
                return False
        return True

    return check


def list_of(item: Check) -> Check:
    return lambda value: isinstance(value, list) and all(item(v) for v in value)
