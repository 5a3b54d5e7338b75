from servicekit.runtime import serve

from loyalty.app import build
from loyalty.settings import LoyaltySettings

settings = LoyaltySettings()
serve(build(settings), settings)
