"""Survey answers and communications sent, from their topics."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contracts.marketing import CommunicationSent, FeedbackGiven
from servicekit.consuming import Delivery, Rejection

from loyalty.dependencies import LoyaltyDependencies


class Engagement(LoyaltyDependencies):
    async def on_engagement(self, deliveries: Sequence[Delivery]) -> list[Rejection]:
        """Keep survey answers (the last NPS) and the communications log; repeats change
        nothing, erased customers are not brought back."""
        docs: list[dict[str, Any]] = []
        for delivery in deliveries:
            event = delivery.event
            if isinstance(event, FeedbackGiven):
                docs.append(
                    {
                        "_id": f"nps:{event.response_id}",
                        "kind": "nps",
                        "customer_id": event.customer_id,
                        "nps": event.nps,
                        "comment": event.comment,
                        "at": event.given_at,
                    }
                )
            elif isinstance(event, CommunicationSent):
                docs.append(
                    {
                        "_id": f"communication:{event.communication_id}",
                        "kind": "communication",
                        "customer_id": event.customer_id,
                        "channel": event.channel,
                        "campaign": event.campaign,
                        "subject": event.subject,
                        "at": event.sent_at,
                    }
                )
        gone = await self.store.erased(sorted({d["customer_id"] for d in docs}))
        await self.engagement.add([d for d in docs if d["customer_id"] not in gone])
        return []
