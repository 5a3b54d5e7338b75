from servicekit.runtime import serve

from lists.app import Settings, build

settings = Settings()
serve(build(settings), settings)
