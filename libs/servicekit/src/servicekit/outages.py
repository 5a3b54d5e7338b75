"""Which failures are outages of a server rather than the fault of the record being handled.

An outage (the database or Kafka unreachable, timing out, electing a leader) passes: the batch
waits and is tried again, with backoff, and nothing is dead-lettered. Any other exception that
repeats for one record is that record's problem (a value the domain cannot handle, a bug): after
bounded retries the record goes to its dead-letter topic and the partition flows on. This module
is the one place that tells the two apart.
"""

from __future__ import annotations

from aiokafka.errors import KafkaError, KafkaTimeoutError, KafkaUnavailableError
from pymongo.errors import ConnectionFailure, ExecutionTimeout, WTimeoutError

_OUTAGES: tuple[type[BaseException], ...] = (
    ConnectionFailure,  # AutoReconnect, ServerSelectionTimeoutError, NetworkTimeout, NotPrimary…
    ExecutionTimeout,
    WTimeoutError,
    KafkaTimeoutError,  # not marked retriable by aiokafka, but a broker that did not answer
    KafkaUnavailableError,
    ConnectionError,
    TimeoutError,  # asyncio's too
)


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) is a server being away, not a bad record."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _OUTAGES):
            return True
        if isinstance(current, KafkaError) and getattr(current, "retriable", False):
            return True  # KafkaConnectionError, KafkaTimeoutError, NotLeaderForPartition…
        current = current.__cause__ or current.__context__
    return False
