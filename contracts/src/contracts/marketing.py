"""Facts from marketing systems, keyed by customer id: survey answers (NPS) on
``feedback.responses`` and communications sent by the campaign system on
``campaign.communications``. Each carries its own unique id, so a repeat is a duplicate."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from contracts.events import Event

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Ref = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]


class FeedbackGiven(Event):
    """A customer answered a net-promoter survey."""

    TYPE = "cdp.feedback.FeedbackGiven"

    response_id: Ref
    customer_id: Text
    nps: Annotated[int, Field(ge=0, le=10)]
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None
    given_at: datetime


class CommunicationSent(Event):
    """A marketing communication went out to a customer."""

    TYPE = "cdp.campaign.CommunicationSent"

    communication_id: Ref
    customer_id: Text
    channel: Literal["email", "sms", "push", "mail", "phone"]
    campaign: Text
    subject: Text | None = None
    sent_at: datetime
