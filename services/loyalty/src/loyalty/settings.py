from servicekit.settings import ServiceSettings


class LoyaltySettings(ServiceSettings):
    service_name: str = "loyalty"
    http_port: int = 8104
    enroll_on_registration: bool = True
    base_tier: str = "base"
