from pydantic import Field
from servicekit.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    http_port: int = 8080
    customer_url: str = "http://127.0.0.1:8101"
    segmentation_url: str = "http://127.0.0.1:8102"
    lists_url: str = "http://127.0.0.1:8103"
    loyalty_url: str = "http://127.0.0.1:8104"
    # per kind of route: reads answer fast or not at all; a relayed write may wait on the
    # database; the Customer 360 shows what answered in time; CSV uploads take minutes
    upstream_timeout_seconds: float = 5.0
    write_timeout_seconds: float = 30.0
    view_part_timeout_seconds: float = 1.0
    bulk_timeout_seconds: float = 600.0
    # load shedding: requests in flight per service; beyond, 503 with Retry-After at once
    max_in_flight_per_service: int = 64
    shed_retry_after_seconds: int = 1
    # token buckets at the gateway (429 with Retry-After beyond): generous for work at a screen
    # or a system's steady calls, they stop a runaway script
    rate_limit_identity_per_second: float = Field(
        default=100.0, description="Calls a second per identity (token subject), sustained"
    )
    rate_limit_identity_burst: int = Field(default=1000, description="Calls at once per identity")
    rate_limit_address_per_second: float = Field(
        default=200.0, description="Calls a second per client address, sustained"
    )
    rate_limit_address_burst: int = Field(default=2000, description="Calls at once per address")
    console_dir: str = Field(
        default="", description="The built web console (console/dist), served at /; empty: none"
    )
