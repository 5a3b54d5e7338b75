"""Where the ops commands connect: the same ``CDP_`` variables the services read."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OpsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CDP_", extra="ignore")

    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    mongodb_url: str = "mongodb://127.0.0.1:27018/"
    topic_prefix: str = Field(default="", description="The deployment's prefix of topic names")
    consumer_group_prefix: str = Field(default="", description="...and of consumer groups")
    database_prefix: str = Field(
        default="cdp_", description="A service's database is <prefix><service> (its CDP_DATABASE)"
    )

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def group(self, name: str) -> str:
        return f"{self.consumer_group_prefix}{name}"

    def database(self, service: str) -> str:
        return f"{self.database_prefix}{service}"
