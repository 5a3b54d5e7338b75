"""What the customer service consumes: MDM events from enterprise systems, its own customer
events (to keep the change history, off the request path), and the lists service's teams (which
teams exist)."""

from __future__ import annotations

from contracts.topics import LISTS_TEAMS, MDM_CUSTOMERS
from servicekit.consuming import subscribe_batch
from servicekit.runtime import ServiceRuntime

from customer.handlers import CustomerService
from customer.history import CUSTOMER_EVENTS_FOR_HISTORY
from customer.teams import TeamReplica


def subscribe(runtime: ServiceRuntime, customers: CustomerService, teams: TeamReplica) -> None:
    assert runtime.broker is not None
    subscribe_batch(
        runtime.broker,
        runtime.publisher,
        runtime.settings,
        MDM_CUSTOMERS,
        group="customer-mdm-ingest",
        handler=customers.ingest_mdm,
    )
    subscribe_batch(
        runtime.broker,
        runtime.publisher,
        runtime.settings,
        CUSTOMER_EVENTS_FOR_HISTORY,  # only what a history entry keeps
        group="customer-history",
        handler=customers.record_history,
    )
    subscribe_batch(
        runtime.broker,
        runtime.publisher,
        runtime.settings,
        LISTS_TEAMS,
        group="customer-teams",
        handler=teams.on_team_events,
    )
