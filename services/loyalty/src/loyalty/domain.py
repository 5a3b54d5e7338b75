"""Loyalty rules as plain Python: who is enrolled, and with which referral code."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any

from contracts.customers import Customer

REFERRAL_CODE_LENGTH = 8


def referral_code(customer_id: str) -> str:
    """A customer's referral code: short, unambiguous letters and digits, stable per customer."""
    digest = hashlib.sha256(customer_id.encode()).digest()
    return base64.b32encode(digest).decode()[:REFERRAL_CODE_LENGTH]


def may_enroll(customer: Customer) -> bool:
    return customer.status == "active"


def new_member(customer: Customer, tier: str, now: datetime) -> dict[str, Any]:
    return {
        "_id": customer.id,
        "status": "active",
        "tier": tier,
        "points_balance": 0,
        "referral_code": referral_code(customer.id),
        "enrolled_at": now,
        "customer_version": customer.version,
    }
