"""CSV exports of lists, streamed page by page (never whole in memory)."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from fastapi.responses import StreamingResponse

# A page reader: (cursor) -> {"items": [...], "next_cursor": ...}
Pages = Callable[[str | None], Awaitable[dict[str, Any]]]


def cell(value: Any) -> str:
    """A value as a CSV cell: lists and mappings flattened; text a spreadsheet would read as a
    formula is quoted."""
    if isinstance(value, list):
        value = " ".join(map(str, value))
    elif isinstance(value, dict):
        value = " ".join(f"{k}={v}" for k, v in value.items() if v is not None)
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


async def _lines(pages: Pages, columns: Sequence[str]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    cursor: str | None = None
    while True:
        page = await pages(cursor)
        for item in page["items"]:
            writer.writerow([cell(item.get(c)) for c in columns])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        cursor = page["next_cursor"]
        if cursor is None:
            return


def csv_response(pages: Pages, columns: Sequence[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        _lines(pages, columns),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
