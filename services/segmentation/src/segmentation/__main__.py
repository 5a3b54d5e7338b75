from servicekit.runtime import serve

from segmentation.app import Settings, build

settings = Settings()
serve(build(settings), settings)
