"""Configuration, read once from the environment (and ``.env``), then passed down explicitly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from application.persistence import Database


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    database_url: str = Field(
        "sqlite:///incident-tracker.db",
        description="sqlite:///path (embedded default) or postgresql://user:pass@host:port/db",
    )
    host: str = Field("127.0.0.1", description="address the HTTP server binds")
    port: int = Field(8000, ge=1, le=65535, description="port the HTTP server binds")
    workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1, ge=1, le=64,
        description="HTTP worker processes (default: one per CPU)",
    )
    threads: int = Field(
        32, ge=1, le=256,
        description="threads per worker for blocking event-store calls",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="DEBUG, INFO, WARNING or ERROR"
    )
    log_format: Literal["text", "json"] = Field("text", description="text or json")
    access_log: bool = Field(True, description="log one line per request")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="comma-separated origins allowed by CORS (empty: CORS off)",
    )

    jwt_issuer: str = Field("incident-tracker", min_length=1, description="JWT `iss` claim")
    access_token_ttl: int = Field(600, ge=30, le=86_400, description="access token lifetime, s")
    refresh_token_ttl: int = Field(
        86_400, ge=60, le=90 * 86_400, description="refresh token lifetime, s"
    )
    signing_key_file: Path | None = Field(
        None,
        description="RS256 private key (PEM); unset: a dev key is generated once and kept",
    )
    dev_signing_key_file: Path = Field(
        Path(".incident-tracker/dev-signing-key.pem"),
        description="where the generated dev key is kept when SIGNING_KEY_FILE is unset",
    )
    retired_public_key_files: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="comma-separated public keys (PEM) that still verify after a key rotation",
    )
    service_registration_key: SecretStr | None = Field(
        None, description="if set, POST /services/ needs `Authorization: Bearer <key>`"
    )

    db_pool_size: int = Field(8, ge=1, le=100, description="connections per pool and process")
    db_connect_timeout: int = Field(3, ge=1, le=60, description="seconds to wait for a connection")
    db_lock_timeout: int = Field(
        5, ge=1, le=60, description="seconds a write waits for the event-store lock, then 503"
    )
    request_max_size: int = Field(65_536, ge=1024, description="largest request body, bytes")
    request_timeout: int = Field(30, ge=1, description="seconds to receive a whole request")
    read_your_writes_timeout: float = Field(
        5.0, ge=0, description="seconds a write waits for the read model to show it"
    )
    revocation_refresh: float = Field(
        1.0, gt=0, le=60, description="seconds between reloads of revoked sessions"
    )
    projection_stall: float = Field(
        10.0, gt=0, description="seconds of lag without progress before /ready fails"
    )

    @field_validator("cors_origins", "retired_public_key_files", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _parse_database_url(cls, value: str) -> str:
        Database.from_url(value)
        return value

    @property
    def database(self) -> Database:
        return Database.from_url(self.database_url)
