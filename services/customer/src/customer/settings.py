from servicekit.settings import ServiceSettings


class CustomerSettings(ServiceSettings):
    service_name: str = "customer"
    http_port: int = 8101
