from servicekit.runtime import serve

from customer.app import build
from customer.settings import CustomerSettings

settings = CustomerSettings()
serve(build(settings), settings)
