"""The Customer 360 timeline's order and its page cursor.

Interactions (customer service) and loyalty history (loyalty service) merge into one list,
newest first; items at the same time are ordered by source, then by their id (each service
gives its items a stable id). A page's ``next_before`` is a cursor naming its last item's
(time, source, id), so the next page starts right after that item, also when many items share
its time (every date-only fulfilment sits at midnight). A plain timestamp is still accepted as
``before`` (items strictly older), as earlier clients sent.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from servicekit.problems import Invalid

TIMELINE_PAGE = 20


def _at(item: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(item["at"]).replace("Z", "+00:00"))


def merge_timelines(
    interactions: list[dict[str, Any]], loyalty: list[dict[str, Any]], limit: int
) -> dict[str, Any]:
    """Interactions and loyalty history in one list, newest first; ``next_before`` pages on."""
    items = [{"source": "customer", **i} for i in interactions]
    items += [{"source": "loyalty", **i} for i in loyalty]
    items.sort(key=lambda i: (i["source"], str(i.get("id", ""))))
    items.sort(key=_at, reverse=True)  # stable: ties keep the source and id order
    items = items[:limit]
    more = len(interactions) + len(loyalty) > limit
    return {"items": items, "next_before": cursor_after(items[-1]) if more and items else None}


@dataclass(frozen=True)
class Position:
    """Where a page ends: an item's time as its service gave it, its source and id (None for
    a plain timestamp: every item at that time is beyond it)."""

    at: str
    source: str | None = None
    item_id: str | None = None

    def part_params(self, source: str) -> dict[str, str]:
        """The ``before``/``before_id`` that ask ``source`` for its items after this position."""
        if self.source is None or source < self.source:
            return {"before": self.at}  # its items at this time came before the position
        if source > self.source:
            return {"before": self.at, "before_id": ""}  # all of its items at this time follow
        return {"before": self.at, "before_id": self.item_id or ""}


def cursor_after(item: dict[str, Any]) -> str:
    raw = json.dumps([str(item["at"]), item["source"], str(item.get("id", ""))]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def position(before: str) -> Position:
    """``before`` as given: a page's ``next_before``, or a timestamp."""
    try:
        datetime.fromisoformat(before.replace("Z", "+00:00"))
        return Position(before)
    except ValueError:
        pass
    try:
        raw = base64.urlsafe_b64decode(before + "=" * (-len(before) % 4))
        at, source, item_id = json.loads(raw)
        datetime.fromisoformat(str(at).replace("Z", "+00:00"))
        return Position(str(at), str(source), str(item_id))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise Invalid.from_errors(
            [{"loc": ("before",), "msg": "not a next_before this API gave out", "type": "cursor"}]
        ) from exc
