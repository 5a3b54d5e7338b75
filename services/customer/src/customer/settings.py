from pydantic import Field
from servicekit.settings import ServiceSettings

ATTACHMENT_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "text/plain",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


class CustomerSettings(ServiceSettings):
    service_name: str = "customer"
    http_port: int = 8101
    attachment_max_bytes: int = Field(default=5 * 1024 * 1024, le=15 * 1024 * 1024)
    attachment_types: tuple[str, ...] = ATTACHMENT_TYPES
    import_chunk: int = 1000  # CSV rows per chunk of an import job
