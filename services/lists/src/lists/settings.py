from servicekit.settings import ServiceSettings


class ListsSettings(ServiceSettings):
    service_name: str = "lists"
    http_port: int = 8103
    rebuild_batch: int = 1000
