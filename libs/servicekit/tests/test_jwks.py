"""Outside dev mode tokens are verified by the public keys of a JWKS, each found by its kid: RS256
and ES256 tokens of the identity provider pass, a token signed with the dev secret (or any shared
secret), an unknown kid, a key used with another algorithm or no signature at all is a 401, a
rotated key is picked up without a restart, and a key set that cannot be used stops the start
with the reason."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi import FastAPI
from servicekit import auth, problems
from servicekit.auth import CurrentIdentity, TokenVerifier
from servicekit.jwks import KeySet, KeySetError
from servicekit.settings import DEV_JWT_SECRET, ServiceSettings


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "ana", "role": "rep", "teams": ["north"], "iss": "cdp", "iat": now,
            "exp": now + 600, **extra}  # fmt: skip


def public_jwk(private: Any, kid: str, algorithm: str) -> dict[str, Any]:
    algo = jwt.get_algorithm_by_name(algorithm)
    return {**json.loads(algo.to_jwk(private.public_key())), "kid": kid, "use": "sig"}


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Any]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "jwks.json"
    path.write_text(
        json.dumps(
            {"keys": [public_jwk(rsa_key, "rsa-1", "RS256"), public_jwk(ec_key, "ec-1", "ES256")]}
        )
    )
    return {"rsa": rsa_key, "ec": ec_key, "path": path}


def sign(private: Any, kid: str, algorithm: str, **extra: Any) -> str:
    return jwt.encode(claims(**extra), private, algorithm=algorithm, headers={"kid": kid})


def refused(verifier: TokenVerifier, token: str) -> bool:
    try:
        verifier.verify(token)
    except auth.Unauthorized:
        return True
    return False


def test_tokens_signed_by_the_key_sets_keys_pass_and_nothing_else(keys) -> None:
    verifier = TokenVerifier("cdp", keys=KeySet(str(keys["path"])))
    rep = verifier.verify(sign(keys["rsa"], "rsa-1", "RS256"))
    assert (rep.user, rep.role, rep.teams) == ("ana", "rep", frozenset({"north"}))
    assert verifier.verify(sign(keys["ec"], "ec-1", "ES256")).user == "ana"

    dev = jwt.encode(claims(), DEV_JWT_SECRET, algorithm="HS256")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert refused(verifier, dev)  # no shared secret outside dev mode
    assert refused(verifier, sign(keys["rsa"], "rsa-9", "RS256"))  # unknown kid
    assert refused(verifier, sign(other, "rsa-1", "RS256"))  # a kid it does not hold the key of
    assert refused(verifier, sign(keys["ec"], "rsa-1", "ES256"))  # the kid's key, not its alg
    assert refused(verifier, jwt.encode(claims(), None, algorithm="none"))
    assert refused(verifier, sign(keys["rsa"], "rsa-1", "RS256", iss="elsewhere"))
    assert refused(verifier, sign(keys["rsa"], "rsa-1", "RS256", exp=int(time.time()) - 5))


def test_a_rotated_key_is_read_without_a_restart(keys) -> None:
    key_set = KeySet(str(keys["path"]), refresh_seconds=0)
    verifier = TokenVerifier("cdp", keys=key_set)
    new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = sign(new, "rsa-2", "RS256")
    assert refused(verifier, token)
    published = json.loads(keys["path"].read_text())
    published["keys"].append(public_jwk(new, "rsa-2", "RS256"))
    keys["path"].write_text(json.dumps(published))
    assert verifier.verify(token).user == "ana"


def test_a_key_set_that_cannot_verify_stops_the_start(keys, tmp_path: Path) -> None:
    with pytest.raises(KeySetError, match="cannot read the JWKS at"):
        KeySet(str(tmp_path / "missing.json"))
    private = tmp_path / "private.json"
    algo = jwt.get_algorithm_by_name("RS256")
    private.write_text(json.dumps({"keys": [{**json.loads(algo.to_jwk(keys["rsa"])), "kid": "k"}]}))
    with pytest.raises(KeySetError, match="private key"):
        KeySet(str(private))
    shared = tmp_path / "shared.json"
    shared.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]}))
    with pytest.raises(KeySetError, match="algorithm"):
        KeySet(str(shared))


async def test_a_production_service_takes_provider_tokens_and_refuses_dev_ones(
    keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("CDP_ENV", "CDP_JWT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    app = FastAPI()
    problems.install(app)
    app.state.settings = ServiceSettings(jwt_jwks=str(keys["path"]))

    @app.get("/me")
    async def me(identity: CurrentIdentity) -> dict[str, str]:
        return {"user": identity.user}

    dev = jwt.encode(claims(), DEV_JWT_SECRET, algorithm="HS256")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:

        async def status(token: str) -> int:
            answer = await client.get("/me", headers={"authorization": f"Bearer {token}"})
            return answer.status_code

        assert await status(sign(keys["rsa"], "rsa-1", "RS256")) == 200
        assert await status(dev) == 401
