"""Request body limits per route, the same on the gateway and on the services: JSON bodies
1 MiB, attachments 5 MiB (plus the multipart envelope), CSV uploads large enough for 100,000
rows. A body past its route's limit is answered 413 with a problem naming the limit."""

from __future__ import annotations

import re
from dataclasses import dataclass

MIB = 1024 * 1024
# the multipart envelope around an attachment: boundaries, part headers, the filename
MULTIPART_ENVELOPE = 64 * 1024

# (method, path on the service) -> kind of body; anything else is a JSON body
ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("POST", re.compile(r"/customers/[^/]+/attachments"), "attachment"),
    ("POST", re.compile(r"/bulk/(imports|import-checks|suppressions|traits|fulfilments)"), "csv"),
    ("POST", re.compile(r"/lists/[^/]+/import"), "csv"),
)


@dataclass(frozen=True)
class BodyLimits:
    json: int = MIB
    attachment: int = 5 * MIB + MULTIPART_ENVELOPE
    csv: int = 32 * MIB

    def of(self, method: str, path: str) -> tuple[int, str]:
        """The limit of a request's body and what kind of body it is."""
        for route_method, pattern, kind in ROUTES:
            if method == route_method and pattern.fullmatch(path):
                return getattr(self, kind), kind
        return self.json, "json"

    @property
    def largest(self) -> int:
        return max(self.json, self.attachment, self.csv)
