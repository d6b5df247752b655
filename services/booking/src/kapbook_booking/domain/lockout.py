"""When console sign-in is refused for a while after failures (pure: counts and times passed in).

Per account (by email, known or not: the lockout must not tell which emails exist) and per IP
address (one address trying many accounts). While either count of failures within ``window``
reaches its limit, sign-in from there is refused without looking at the password.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class LockoutPolicy:
    per_account: int = 5
    per_ip: int = 20
    window: timedelta = timedelta(minutes=15)

    def locked(self, account_failures: int, ip_failures: int) -> bool:
        return account_failures >= self.per_account or ip_failures >= self.per_ip
