"""Check-in links and answers for the tests that exercise check-ins between doses."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from kapbook_platform.config import DEVELOPMENT_SERVICE_TOKEN
from kapbook_platform.contracts.check_in_links import CheckInLink, CheckInOccasion, check_in_link_keys, make_check_in_token

CHECK_IN_PATH = "/api/eligibility/v1/check-in"
DEFAULT_KEYS = check_in_link_keys((), DEVELOPMENT_SERVICE_TOKEN)


def check_in_token(booking_id: str, start: datetime, *, email: str = "pat@example.org", name: str = "Pat Example",
                   occasion: CheckInOccasion = CheckInOccasion.BEFORE_DOSE, expires_at: datetime | None = None,
                   keys: tuple[str, ...] = DEFAULT_KEYS) -> str:
    """A genuine link token, as the reminders service writes it into the email."""
    link = CheckInLink(booking_id, occasion, email, name, start, expires_at or start)
    return make_check_in_token(link, keys)


def check_in_form(*, phq9: int = 1, gad7: int = 1, item9: int = 0, **changes: Any) -> dict[str, str]:
    """The check-in page's form fields: PHQ-9 items 1-8 score ``phq9``, item 9 ``item9``; no C-SSRS concern."""
    form = {f"phq9_{n}": str(phq9) for n in range(1, 9)} | {"phq9_9": str(item9)}
    form |= {f"gad7_{n}": str(gad7) for n in range(1, 8)}
    form |= {"cssrs_1": "false", "cssrs_2": "false", "cssrs_6": "false"}
    return form | {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in changes.items()}


def in_days(moment: datetime, days: float) -> datetime:
    return moment + timedelta(days=days)
