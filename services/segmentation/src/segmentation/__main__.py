from servicekit.runtime import serve

from segmentation.app import build
from segmentation.settings import SegmentationSettings

settings = SegmentationSettings()
serve(build(settings), settings)
