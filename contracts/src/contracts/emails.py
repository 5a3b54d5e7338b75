"""Email addresses: pydantic's ``EmailStr`` rules and normalised form, without its cost for the
addresses nearly every record has.

``EmailStr`` runs email-validator, whose Unicode and IDNA checks took a sixth of the customer
service's CPU under an MDM load, and every service that reads ``customer.events`` validates the
address again. A plain address (lower-case ASCII, a dot-atom local part, lower-case letter, digit
and hyphen labels, within the length limits, not under a special-use domain) is valid and already
normalised: it is accepted as it is. Anything else goes to ``EmailStr``'s own validation, so what
is accepted, refused and how it is written never differs (tests/contract/test_emails.py compares
the two over generated addresses).
"""

from __future__ import annotations

import re
from typing import Annotated

from email_validator import SPECIAL_USE_DOMAIN_NAMES
from pydantic import AfterValidator, WithJsonSchema
from pydantic.networks import validate_email

_ATEXT = r"a-z0-9_!#$%&'*+\-/=?^`{|}~"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
PLAIN = re.compile(
    rf"(?P<local>[{_ATEXT}]+(?:\.[{_ATEXT}]+)*)@(?P<domain>(?:{_LABEL}\.)+(?:[a-z0-9][a-z0-9-]{{0,61}})?[a-z])"
)
_SPECIAL = tuple(SPECIAL_USE_DOMAIN_NAMES)


def plain(value: str) -> bool:
    """Whether ``value`` is valid and normalised as it stands, by the rules above."""
    if len(value) > 254:
        return False
    match = PLAIN.fullmatch(value)
    if match is None or len(match["local"]) > 64:
        return False
    domain = match["domain"]
    if len(domain) > 253 or "--" in domain:  # "xn--" (IDNA) and "ab--" need the full check
        return False
    return not any(domain == d or domain.endswith("." + d) for d in _SPECIAL)


def normalised(value: str) -> str:
    if plain(value):
        return value
    return validate_email(value)[1]


Email = Annotated[
    str, AfterValidator(normalised), WithJsonSchema({"type": "string", "format": "email"})
]
