"""Composition root of the loyalty service."""

from __future__ import annotations

from fastapi import FastAPI
from servicekit.consumer_slot import ConsumerSlot
from servicekit.runtime import ServiceRuntime, create_app

from loyalty import api, consumers, coupons_api
from loyalty.coupons import CouponService
from loyalty.enrollment import ENROLLMENT
from loyalty.handlers import LoyaltyService
from loyalty.predicted_value import PredictedValueService
from loyalty.referrals import ReferralService
from loyalty.rfm import RfmScoring, RfmService
from loyalty.schedule import Periodic
from loyalty.settings import LoyaltySettings
from loyalty.store import (
    MEMBERS,
    CouponStore,
    EngagementStore,
    LoyaltyStore,
    PointsStore,
    ReferralStore,
    RfmStore,
)
from loyalty.tier_reassessment import TierReassessment, TierReassessments
from loyalty.value_store import ValueStore


def build(settings: LoyaltySettings | None = None) -> FastAPI:
    settings = settings or LoyaltySettings()
    runtime = ServiceRuntime(settings)
    store = LoyaltyStore(runtime.db)
    points = PointsStore(runtime.db)
    coupon_store = CouponStore(runtime.db)
    members_relay = runtime.relay_for(MEMBERS)
    engagement = EngagementStore(runtime.db)
    referral_store = ReferralStore(runtime.db)
    referrals = ReferralService(referral_store, store, points, settings)
    loyalty = LoyaltyService(
        store,
        points,
        coupon_store,
        engagement,
        referrals,
        members_relay,
        settings,
        ConsumerSlot(ENROLLMENT, runtime.publisher),
    )
    rfm_store = RfmStore(runtime.db)
    rfm = RfmService(rfm_store, settings, runtime.jobs)
    runtime.jobs.register(RfmScoring(rfm_store, settings, settings.rfm_chunk))
    value = PredictedValueService(ValueStore(runtime.db), settings, members_relay)
    tier_reassessments = TierReassessments(runtime.jobs)
    runtime.jobs.register(TierReassessment(store, points, settings, settings.rfm_chunk))
    jobs = [
        Periodic("rfm", settings.rfm_every_seconds, rfm.run),
        Periodic("tiers", settings.tier_every_seconds, tier_reassessments.run),
        Periodic("value", settings.value_every_seconds, value.run),
    ]
    coupons = CouponService(coupon_store, store)
    consumers.subscribe(runtime, loyalty)

    async def create_indexes(_: ServiceRuntime) -> None:
        await store.create_indexes()
        await points.create_indexes()
        await coupons.store.create_indexes()
        await engagement.create_indexes()
        await referral_store.create_indexes()
        for job in jobs:
            job.start()

    async def finish(_: ServiceRuntime) -> None:
        for job in jobs:
            await job.stop()

    app = create_app(
        runtime,
        title="Loyalty",
        routers=[
            api.members,
            api.purchases,
            coupons_api.definitions,
            coupons_api.member_coupons,
            api.rfm,
            api.value,
            api.tiers,
        ],
        on_start=[create_indexes],
        on_stop=[finish],
    )
    app.state.loyalty = loyalty
    app.state.coupons = coupons
    app.state.rfm = rfm
    app.state.value = value
    app.state.tier_reassessments = tier_reassessments
    return app
