from servicekit.settings import ServiceSettings


class SegmentationSettings(ServiceSettings):
    service_name: str = "segmentation"
    http_port: int = 8102
    recompute_batch: int = 1000
