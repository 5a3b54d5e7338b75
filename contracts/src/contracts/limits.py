"""Bounds that every number on the wire shares with the databases behind it."""

from __future__ import annotations

# MongoDB stores integers in at most 64 bits: a larger one fails when it is written, so every
# integer a client or a producer sends is bounded by it where it is read.
INT64_MAX = 2**63 - 1
