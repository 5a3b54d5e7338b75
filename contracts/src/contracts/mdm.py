"""Events that enterprise master-data systems publish on ``mdm.customers``, keyed by MDM code.

``version`` is the master's own, strictly increasing per MDM code (a sequence or a timestamp in
milliseconds). The customer service applies a version only if it is newer than the one it holds,
so duplicates, replays and late older versions change nothing.
"""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from contracts.customers import CustomerFields, MdmCode
from contracts.events import Event
from contracts.limits import INT64_MAX


class MdmCustomerUpserted(Event):
    TYPE = "cdp.mdm.CustomerUpserted"

    mdm_code: MdmCode
    version: int = Field(ge=0, le=INT64_MAX)
    record: CustomerFields


class MdmCustomerDeactivated(Event):
    TYPE = "cdp.mdm.CustomerDeactivated"

    mdm_code: MdmCode
    version: int = Field(ge=0, le=INT64_MAX)


class MdmCustomersMerged(Event):
    """Two master records were found to be one customer: ``merged_mdm_code`` (the loser) is
    retired into ``mdm_code`` (the survivor). ``version`` is the survivor's master version."""

    TYPE = "cdp.mdm.CustomersMerged"

    mdm_code: MdmCode
    merged_mdm_code: MdmCode
    version: int = Field(ge=0, le=INT64_MAX)

    @model_validator(mode="after")
    def _two_customers(self) -> MdmCustomersMerged:
        if self.mdm_code == self.merged_mdm_code:
            raise PydanticCustomError(
                "merge_into_itself",
                "a customer cannot be merged into itself",
                {"fields": ["merged_mdm_code"]},
            )
        return self
