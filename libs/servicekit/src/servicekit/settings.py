"""Settings every service reads from the environment (prefix ``CDP_``), once, at start-up."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekit.body_limits import MIB, MULTIPART_ENVELOPE, BodyLimits

DEV_JWT_SECRET = "dev-only-secret-change-me-in-production-0123456789"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CDP_", extra="ignore")

    env: Literal["dev", "production"] = Field(
        default="production",
        description="dev: the local platform and its tests (./dev up sets it); anything else is "
        "production, where the public dev secret and short secrets are refused",
    )
    service_name: str = "service"
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    mongodb_url: str = "mongodb://127.0.0.1:27018/"
    database: str = Field(default="", description="Defaults to cdp_<service_name>")
    topic_prefix: str = Field(default="", description="Prepended to every topic name")
    consumer_group_prefix: str = ""
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_issuer: str = "cdp"
    jwt_jwks: str | None = Field(
        default=None,
        description="Outside dev mode: the JSON Web Key Set (a file, or the identity provider's "
        "https URL) whose public keys (RS256, ES256; by kid) verify tokens",
    )
    consumer_max_records: int = 1000
    outbox_sweep_seconds: float = Field(
        default=5.0, description="How often to check for undelivered events after a failure"
    )
    outbox_safety_sweep_seconds: float = Field(
        default=600.0, description="How often to sweep regardless (replicas that crashed for good)"
    )
    max_body_bytes: int = Field(default=MIB, description="A JSON request body's limit (413)")
    attachment_max_body_bytes: int = Field(
        default=5 * MIB + MULTIPART_ENVELOPE,
        description="An attachment upload's limit: the file (5 MiB) and its multipart envelope",
    )
    csv_max_body_bytes: int = Field(
        default=32 * MIB, description="A CSV upload's limit: imports of 100,000 rows and more"
    )
    idempotency_ttl_seconds: float = Field(
        default=86_400.0, description="How long an Idempotency-Key and its answer are kept"
    )
    idempotency_lease_seconds: float = Field(
        default=600.0,
        description="After this, a key whose request never finished (a crash) may be used again",
    )
    job_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="A batch job's lease: a replica that crashed mid-job is resumed by another "
        "(or by itself restarted) within about this long",
    )
    log_json: bool = True
    fault_crash_at: str = Field(
        default="", description="Test-only: crash (SIGKILL self) at this named point"
    )
    fault_consumers_paused: bool = Field(
        default=False,
        description="Test-only: serve HTTP but consume nothing (another writer acts before a "
        "redelivery)",
    )

    def body_limits(self) -> BodyLimits:
        return BodyLimits(
            json=self.max_body_bytes,
            attachment=self.attachment_max_body_bytes,
            csv=self.csv_max_body_bytes,
        )

    @model_validator(mode="after")
    def _public_keys_in_production(self) -> Self:
        """Dev mode verifies tokens with the shared dev secret; anything else with the public
        keys of a JWKS, and holds no signing secret."""
        if self.env == "dev":
            return self
        if "jwt_secret" in self.model_fields_set and self.jwt_secret.get_secret_value():
            raise ValueError(
                "refusing to start with a JWT secret outside dev mode: tokens are verified by "
                "public keys there (CDP_JWT_JWKS); unset CDP_JWT_SECRET (or CDP_ENV=dev on a "
                "developer's machine)"
            )
        if not self.jwt_jwks:
            raise ValueError(
                "refusing to start outside dev mode without CDP_JWT_JWKS: the JSON Web Key Set "
                "(a file or https URL) whose public keys verify tokens (or CDP_ENV=dev on a "
                "developer's machine)"
            )
        return self

    @property
    def database_name(self) -> str:
        return self.database or f"cdp_{self.service_name}"

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def group(self, name: str) -> str:
        return f"{self.consumer_group_prefix}{name}"
