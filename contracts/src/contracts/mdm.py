"""Events that enterprise master-data systems publish on ``mdm.customers``, keyed by MDM code.

``version`` is the master's own, strictly increasing per MDM code (a sequence or a timestamp in
milliseconds). The customer service applies a version only if it is newer than the one it holds,
so duplicates, replays and late older versions change nothing.
"""

from __future__ import annotations

from pydantic import Field

from contracts.customers import CustomerFields, MdmCode
from contracts.events import Event


class MdmCustomerUpserted(Event):
    TYPE = "cdp.mdm.CustomerUpserted"

    mdm_code: MdmCode
    version: int = Field(ge=0)
    record: CustomerFields


class MdmCustomerDeactivated(Event):
    TYPE = "cdp.mdm.CustomerDeactivated"

    mdm_code: MdmCode
    version: int = Field(ge=0)
