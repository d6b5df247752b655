"""The rule a staff password must meet (pure: the list of common passwords is passed in).

Length is what makes a password hard to guess, so the rule is a minimum length and a refusal of
the passwords attackers try first: the bundled list of the most common ones, those with digits or
symbols tacked on the end ("password2024!"), one character repeated, and runs such as "1234567890123". No composition rules
(NIST SP 800-63B section 5.1.1.2 advises against them).
"""
from __future__ import annotations

import re
from collections.abc import Collection

from kapbook_booking.domain.errors import Invalid

MIN_LENGTH = 12
MAX_LENGTH = 256  # hashing cost is per byte; nobody types more
MIN_DISTINCT = 5
_TRAILING = re.compile(r"[^a-z]+$")
_LEADING = re.compile(r"^[^a-z]+")
# Runs along the digits, the alphabet and the keyboard rows, forwards and backwards, wrapping round.
_RUNS = tuple(run * 30 for base in ("0123456789", "abcdefghijklmnopqrstuvwxyz", "qwertyuiop", "asdfghjkl", "zxcvbnm")
              for run in (base, base[::-1]))


class WeakPassword(Invalid):
    """The password breaks the rule; ``errors["password"]`` says how, for people."""

    code = "weak_password"


def password_problems(password: str, common: Collection[str]) -> list[str]:
    """What is wrong with ``password`` (empty when it is acceptable); ``common`` is lower-case."""
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters (a few unrelated words make a good password)."]
    if len(password) > MAX_LENGTH:
        return [f"Use at most {MAX_LENGTH} characters."]
    lowered = password.lower()
    bases = {lowered, _TRAILING.sub("", lowered), _LEADING.sub("", lowered), _LEADING.sub("", _TRAILING.sub("", lowered))}
    if any(base and base in common for base in bases):
        return ["This is one of the most common passwords (or one with a few characters added); choose another."]
    if len(set(lowered)) < MIN_DISTINCT:
        return ["This password repeats too few characters; choose another."]
    if any(lowered in run for run in _RUNS):
        return ["This password is a run of neighbouring keys or characters; choose another."]
    return []


def check_password(password: str, common: Collection[str]) -> None:
    """Raise ``WeakPassword`` (a 422 naming the ``password`` field) unless ``password`` meets the rule."""
    problems = password_problems(password, common)
    if problems:
        raise WeakPassword("The password is too easy to guess. " + problems[0], errors={"password": problems})
