"""Write the gateway's OpenAPI document, as the app builds it, without starting a server.

    python -m gateway.openapi console/openapi.json

Built in dev mode, so the dev-only sign-in route is described too (the console calls it there).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from gateway.app import build
from gateway.settings import GatewaySettings


def document() -> dict[str, Any]:
    return build(GatewaySettings(env="dev", log_json=False)).openapi()


def text() -> str:
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(text())
