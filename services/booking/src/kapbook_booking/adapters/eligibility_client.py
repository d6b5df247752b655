"""Asks the eligibility service for a decision it has not told us about yet (HTTP, short timeout)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import requests
from marshmallow import EXCLUDE, ValidationError

from kapbook_platform.contracts.http import EligibilityDecisionSchema


class EligibilityServiceDown(Exception):
    """The eligibility service did not answer usefully (timeout, connection refused, 5xx)."""


@dataclass(frozen=True)
class EligibilityAnswer:
    """The eligibility service's answer to a lookup, as it comes over the wire (with the outcome).

    Never stored as such: the gate turns it into an EligibilityDecision (allowed or blocked).
    """

    screening_id: str
    patient_email: str
    outcome: str
    clinician_decision: str | None
    decided_at: datetime
    valid_until: datetime


@dataclass(frozen=True)
class EligibilityDecision:
    """What the booking service keeps of a screening: may this email book treatment, and until when.

    No outcome word and no reason: ``allowed`` is False for a crisis, a contraindication, a
    screening waiting for review or one a clinician declined alike.
    """

    screening_id: str
    patient_email: str
    allowed: bool
    decided_at: datetime
    valid_until: datetime


@dataclass
class EligibilityClient:
    base_url: str
    service_token: str
    timeout: float = 2.0
    http: requests.Session = field(default_factory=requests.Session)

    def decision(self, screening_id: str) -> EligibilityAnswer | None:
        """The decision for a screening, or None if the eligibility service does not know it."""
        url = f"{self.base_url.rstrip('/')}/api/eligibility/v1/decisions/{requests.utils.quote(screening_id, safe='')}"
        try:
            response = self.http.get(url, headers={"Authorization": f"Bearer {self.service_token}"}, timeout=self.timeout)
        except requests.RequestException as error:
            raise EligibilityServiceDown(repr(error)) from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise EligibilityServiceDown(f"HTTP {response.status_code}")
        try:
            body = EligibilityDecisionSchema(unknown=EXCLUDE).load(response.json())
        except (ValueError, ValidationError) as error:
            raise EligibilityServiceDown(f"unexpected answer: {error}") from None
        return EligibilityAnswer(**body)
