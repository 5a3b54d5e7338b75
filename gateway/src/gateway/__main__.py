from servicekit.runtime import serve

from gateway.app import build
from gateway.settings import GatewaySettings

settings = GatewaySettings()
serve(build(settings), settings)
