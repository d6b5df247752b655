"""docs/SECRETS.md lists every secret a service reads or make compose-env writes (issue 14)."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from kapbook_booking.config import BookingConfig
from kapbook_eligibility.config import EligibilityConfig
from kapbook_platform.devtools import compose_env
from kapbook_reminders.config import RemindersConfig

ROOT = Path(__file__).resolve().parents[2]
SECRET_LIKE = re.compile(r"KEY|SECRET|PASSWORD|TOKEN")


def secret_settings() -> set[str]:
    """Every variable of the three configs that is marked secret or whose name says it is one."""
    names = set()
    for config in (BookingConfig, EligibilityConfig, RemindersConfig):
        for field in dataclasses.fields(config):
            env = field.metadata.get("env")
            if env and (field.metadata.get("secret") or SECRET_LIKE.search(env)):
                names.add(env)
    return names


def documented() -> str:
    return (ROOT / "docs" / "SECRETS.md").read_text()


def test_the_finder_sees_the_secrets_we_know_of():
    assert {"BOOKING_SECRET_KEY", "BOOKING_CREDENTIAL_SIGNING_KEY", "KAPBOOK_CREDENTIAL_VERIFY_KEY",
            "ELIGIBILITY_ENCRYPTION_KEYS", "KAPBOOK_SERVICE_TOKEN", "SMTP_PASSWORD"} <= secret_settings()


def test_every_secret_setting_and_compose_secret_is_documented_with_a_rotation():
    text = documented()
    written_by_compose_env = {line.split("=", 1)[0] for line in compose_env().splitlines()}
    missing = sorted(name for name in secret_settings() | written_by_compose_env if f"`{name}`" not in text)
    assert not missing, f"docs/SECRETS.md does not list {missing}"
    rotations = set(re.findall(r"^### (.+)$", text, flags=re.MULTILINE))
    unrotated = sorted(name for name in secret_settings() | written_by_compose_env
                       if not any(name in heading or name.startswith("RABBITMQ_") and "RABBITMQ_<SERVICE>" in heading
                                  for heading in rotations))
    assert not unrotated, f"docs/SECRETS.md has no rotation steps for {unrotated}"


def test_readme_has_a_security_section_that_links_the_secrets_page():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Security\n", 1)[1].split("\n## ", 1)[0]
    assert "docs/SECRETS.md" in section
    for heading in ("What is protected", "From whom", "How", "Known gaps"):
        assert heading in section, heading
