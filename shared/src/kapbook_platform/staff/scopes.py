"""What an API token may do: its scopes, chosen when it is issued, checked on every staff route.

A token carries some of ``SCOPES``. A null scope list (every token issued before scopes existed,
and console sessions, whose people are bound by their role alone) means the role's full rights.
Reads need any scope (``read_only`` suffices); writes name the one they need; a route naming
several accepts any of them. ``ALL`` is for writes outside the four areas (staff accounts,
webhooks): only a token holding every scope (or none listed) may make them.
"""
from __future__ import annotations

from collections.abc import Iterable

READ_ONLY, BOOKINGS, SCHEDULES, REVIEWS = "read_only", "bookings", "schedules", "reviews"
SCOPES = (READ_ONLY, BOOKINGS, SCHEDULES, REVIEWS)
ANY = "any"  # a read: any scope at all
ALL = "all"  # every scope


def normalized(scopes: Iterable[str] | None) -> tuple[str, ...] | None:
    """The scopes in ``SCOPES`` order, duplicates dropped; None stays None (full rights)."""
    if scopes is None:
        return None
    chosen = set(scopes)
    unknown = chosen - set(SCOPES)
    if unknown:
        raise ValueError(f"unknown scope {', '.join(sorted(unknown))}: one of {', '.join(SCOPES)}")
    if not chosen:
        raise ValueError(f"a token needs at least one scope of {', '.join(SCOPES)}")
    return tuple(scope for scope in SCOPES if scope in chosen)


def allows(held: Iterable[str] | None, needed: str | tuple[str, ...]) -> bool:
    """Whether a token holding ``held`` (None: full rights) may do what needs ``needed``."""
    if held is None:
        return True
    held = set(held)
    if needed == ANY:
        return bool(held)
    if needed == ALL:
        return held >= set(SCOPES)
    return bool(held & ({needed} if isinstance(needed, str) else set(needed)))


def describe(needed: str | tuple[str, ...]) -> str:
    """The scope(s) ``needed``, for the refusal's message."""
    if needed == ANY:
        return "any scope"
    if needed == ALL:
        return "every scope (" + ", ".join(SCOPES) + ")"
    return " or ".join((needed,) if isinstance(needed, str) else needed)
