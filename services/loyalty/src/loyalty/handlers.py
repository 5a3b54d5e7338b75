"""The loyalty service's use cases, one module each: enrollment and leaving the program
(enrollment), purchases and the points they earn, returns and transfers (purchases), tiers,
points spent and adjusted (points), the member's views (member_views), engagement."""

from __future__ import annotations

from dataclasses import dataclass

from loyalty.engagement import Engagement
from loyalty.enrollment import Enrollment
from loyalty.purchases import Purchases


@dataclass
class LoyaltyService(Enrollment, Purchases, Engagement):
    """Every use case of the service, over one set of dependencies."""
