from servicekit.runtime import serve

from lists.app import build
from lists.settings import ListsSettings

settings = ListsSettings()
serve(build(settings), settings)
