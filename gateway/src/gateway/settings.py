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
    # attachments pass through (the customer service enforces its own, smaller limit)
    max_body_bytes: int = 6 * 1024 * 1024
    console_dir: str = Field(
        default="", description="The built web console (console/dist), served at /; empty: none"
    )
