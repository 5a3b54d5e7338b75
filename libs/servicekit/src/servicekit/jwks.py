"""The public keys that verify tokens outside dev mode: a JSON Web Key Set (RFC 7517) read from a
file (a mounted ConfigMap) or an https URL (the identity provider's), each key found by the
token's ``kid``. The services hold no signing secret: whoever issues tokens keeps the private
keys. A ``kid`` not in the set reads the set again, at most once per ``refresh_seconds``, so keys
rotate without a restart (the identity provider publishes the new key before signing with it).
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import jwt

from servicekit.problems import Unauthorized

ALGORITHMS = ("RS256", "ES256")
FETCH_TIMEOUT_SECONDS = 5.0


class KeySetError(ValueError):
    """The key set cannot be read or holds no usable key (the service does not start)."""


def _algorithm(key: jwt.PyJWK, entry: dict[str, Any]) -> str:
    """The key's algorithm: its ``alg``, else what its type implies (RSA: RS256, P-256: ES256)."""
    algorithm = entry.get("alg") or {"RSA": "RS256", "EC": "ES256"}.get(key.key_type or "")
    if algorithm not in ALGORITHMS:
        raise KeySetError(
            f"key {entry.get('kid')!r}: algorithm {algorithm!r} is not one of {ALGORITHMS}"
        )
    return algorithm


def parse(text: str, source: str) -> dict[str, tuple[Any, str]]:
    """kid -> (public key, algorithm) of every signing key in the set."""
    try:
        entries = json.loads(text)["keys"]
    except (ValueError, KeyError, TypeError) as exc:
        raise KeySetError(f"{source} is not a JSON Web Key Set ({{'keys': [...]}})") from exc
    keys: dict[str, tuple[Any, str]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if not entry.get("kid"):
            raise KeySetError(f"{source}: every key needs a kid")
        if "d" in entry:
            raise KeySetError(f"{source}: key {entry['kid']!r} is a private key, not a public one")
        try:
            key = jwt.PyJWK(entry)
        except jwt.PyJWKError as exc:
            raise KeySetError(f"{source}: key {entry['kid']!r} cannot be read: {exc}") from exc
        keys[entry["kid"]] = (key.key, _algorithm(key, entry))
    if not keys:
        raise KeySetError(f"{source} holds no signing key")
    return keys


def read(source: str) -> str:
    if source.startswith(("https://", "http://")):
        with urllib.request.urlopen(source, timeout=FETCH_TIMEOUT_SECONDS) as answer:
            return answer.read().decode()
    return Path(source).read_text()


class KeySet:
    """The keys of one source, read at construction (a source that cannot be read stops the
    start with the reason) and again when a token names a key not yet known."""

    def __init__(self, source: str, refresh_seconds: float = 60.0) -> None:
        self.source = source
        self.refresh_seconds = refresh_seconds
        try:
            self._keys = parse(read(source), source)
        except OSError as exc:
            raise KeySetError(f"cannot read the JWKS at {source}: {exc}") from exc
        self._read_at = time.monotonic()

    def key(self, kid: str, algorithm: str) -> Any:
        """The public key ``kid`` names, if it signs with ``algorithm``."""
        if kid not in self._keys and time.monotonic() - self._read_at >= self.refresh_seconds:
            self._read_at = time.monotonic()
            try:
                self._keys = parse(read(self.source), self.source)
            except (OSError, KeySetError):
                pass  # keep the keys held; the token is refused below
        found = self._keys.get(kid)
        if found is None or found[1] != algorithm:
            raise Unauthorized("invalid token")
        return found[0]
