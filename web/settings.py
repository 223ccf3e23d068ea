"""Configuration, read once from the environment (and ``.env``), then passed down explicitly."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from limits import parse_many
from pydantic import Field, FilePath, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from application.persistence import Database


class Settings(BaseSettings):
    """Every variable here is listed in ``.env.example`` and the README (tests/deploy checks).

    An empty value (``WORKERS=``) means "use the default", so ``.env.example`` can list
    every variable, including those whose default is computed or unset.
    """

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", frozen=True, env_ignore_empty=True
    )

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
    signing_key_file: FilePath | None = Field(
        None,
        description="RS256 private key (PEM); unset: a dev key is generated once and kept",
    )
    dev_signing_key_file: Path = Field(
        Path(".incident-tracker/dev-signing-key.pem"),
        description="where the generated dev key is kept when SIGNING_KEY_FILE is unset",
    )
    retired_public_key_files: Annotated[list[FilePath], NoDecode] = Field(
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
    rate_limit_anonymous: str = Field(
        "20/second;600/minute",
        description="per client address on services/token endpoints, per worker; off: none",
    )
    rate_limit_writes: str = Field(
        "200/second", description="per access token on POST/PATCH incidents, per worker; off: none"
    )
    rate_limit_storage: str = Field(
        "memory://", description="where rate-limit counters live: memory:// or redis://host:port"
    )

    @field_validator("cors_origins", "retired_public_key_files", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("rate_limit_anonymous", "rate_limit_writes")
    @classmethod
    def _parse_rate_limits(cls, value: str) -> str:
        if value.strip().lower() != "off":
            try:
                parse_many(value)
            except ValueError:
                raise ValueError(
                    "expected limits like '20/second;600/minute', or 'off'"
                ) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _parse_database_url(cls, value: str) -> str:
        Database.from_url(value)
        return value

    @field_validator("signing_key_file")
    @classmethod
    def _check_signing_key(cls, path: Path | None) -> Path | None:
        if path is not None:
            try:
                pem = path.read_bytes()
            except OSError as error:
                raise ValueError(f"cannot read {path}: {error.strerror}") from error
            try:
                key = serialization.load_pem_private_key(pem, password=None)
            except (ValueError, TypeError, UnsupportedAlgorithm) as error:
                raise ValueError(
                    f"{path} is not an unencrypted PEM private key "
                    "(make one with `incident-tracker keygen PATH`)"
                ) from error
            if not isinstance(key, rsa.RSAPrivateKey):
                raise ValueError(f"{path} is not an RSA key; RS256 needs one")
        return path

    @field_validator("retired_public_key_files")
    @classmethod
    def _check_public_keys(cls, paths: list[Path]) -> list[Path]:
        for path in paths:
            try:
                serialization.load_pem_public_key(path.read_bytes())
            except OSError as error:
                raise ValueError(f"cannot read {path}: {error.strerror}") from error
            except (ValueError, TypeError, UnsupportedAlgorithm) as error:
                raise ValueError(f"{path} is not a PEM public key") from error
        return paths

    @property
    def database(self) -> Database:
        return Database.from_url(self.database_url)
