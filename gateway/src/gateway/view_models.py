"""The Customer 360's shape, for the OpenAPI document (and the console's generated client).

The view is assembled from the services' JSON as they send it (``view.py``); these models
describe it without re-validating it on the way out. Parts a service owns list the fields the
console relies on and allow the rest (``extra="allow"``), so a service may add fields.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from contracts.customers import Customer
from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
PartStatus = Literal["available", "unavailable", "absent"]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class Part(BaseModel, Generic[T]):
    """One part of the view: ``data`` when its service answered, else why not."""

    status: PartStatus = Field(
        description="available; unavailable (its service is down or slow); absent (no such data)"
    )
    service: str | None = Field(default=None, description="The service that did not answer")
    http_status: int | None = None
    data: T | None = None


class NextExpiry(Open):
    at: str
    points: int


class Points(Open):
    active: int
    pending: int
    spent: int
    expired: int
    next_expiry: NextExpiry | None = None


class TopCategory(Open):
    category: str
    amount: str
    orders: int


class Nps(Open):
    nps: int | None = None
    comment: str | None = None
    at: str | None = None


class PurchaseMetrics(Open):
    lifetime_spend: str
    orders: int
    average_order_value: str | None = None
    last_purchase_at: str | None = None
    top_categories: list[TopCategory] = []
    last_nps: Nps | None = None


class NextTier(Open):
    tier: str
    points_needed: int


class Rfm(Open):
    recency: int | None = None
    frequency: int | None = None
    monetary: int | None = None


class PredictedValue(Open):
    """BG/NBD and Gamma-Gamma, as of the run ``version`` (loyalty's /value/runs)."""

    p_alive: float
    expected_purchases: float
    expected_spend_per_purchase: float
    clv: float
    version: int


class LoyaltyMember(Open):
    customer_id: str
    status: str
    tier: str | None = None
    tier_points: int | None = None
    next_tier: NextTier | None = None
    referral_code: str | None = None
    points_balance: int
    points: Points
    metrics: PurchaseMetrics
    rfm: Rfm | None = None
    predicted: PredictedValue | None = None


class PurchaseLine(Open):
    product: str
    category: str
    quantity: int | float
    amount: str | int | float


class Purchase(Open):
    order_id: str
    purchased_at: str
    total: str | int | float
    currency: str | None = None
    store: str | None = None
    lines: list[PurchaseLine] = []
    returned_at: str | None = None


class Purchases(BaseModel):
    items: list[Purchase]


class Discount(Open):
    kind: str
    value: str | int | float


class Coupon(Open):
    id: str = Field(description="The coupon's code, as the customer shows it")
    tab: Literal["active", "applied", "lapsed"]
    definition: str = Field(description="The promotion's code")
    name: str | None = None
    discount: Discount | None = None
    state: str | None = None
    issued_at: str | None = None
    usable_from: str | None = None
    expires_at: str | None = None
    redeemed_at: str | None = None
    order_id: str | None = None


class CouponTabs(BaseModel):
    active: list[Coupon]
    applied: list[Coupon]
    lapsed: list[Coupon]


class Items(BaseModel):
    items: list[dict[str, Any]]


class SegmentState(Open):
    """The customer's state in one segmentation (contracts' Assignment, keyed by its code)."""

    segment: str | None = Field(description="The segment the customer falls in; None: none")
    rule_version: int
    profile: dict[str, str] = {}


class Segments(Open):
    customer_id: str
    revision: int
    segmentations: dict[str, SegmentState]


class PlanMembership(Open):
    plan_id: str
    since: str | None = None
    segments: dict[str, str | None] = Field(
        default={}, description="Segmentation -> the segment that put the customer on the list"
    )
    bricks: list[str] | None = None
    reasons: list[Any] = []


class StaticListRef(Open):
    id: str
    name: str
    kind: str | None = None


class Lists(BaseModel):
    plans: list[PlanMembership]
    lists: list[StaticListRef]


class TimelineItem(Open):
    source: Literal["customer", "loyalty"]
    kind: str
    at: str


class TimelinePage(BaseModel):
    items: list[TimelineItem]
    next_before: str | None = Field(description="Pass as before for the next page; null: no more")


class TimelinePart(BaseModel):
    status: PartStatus
    data: TimelinePage
    loyalty: str = Field(description="included, or why loyalty's history is missing")


class Customer360(BaseModel):
    customer: Customer
    timeline: TimelinePart
    loyalty: Part[LoyaltyMember]
    purchases: Part[Purchases]
    coupons: Part[CouponTabs]
    communications: Part[Items]
    referrals: Part[dict[str, Any]]
    segments: Part[Segments]
    lists: Part[Lists]


class TimelinePartsStatus(BaseModel):
    customer: PartStatus
    loyalty: PartStatus


class Customer360TimelinePage(TimelinePage):
    parts: TimelinePartsStatus
