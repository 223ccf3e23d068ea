"""Request and response bodies, named as the API contract names them (and OpenAPI shows them)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from domain.incident import MAX_DESCRIPTION_LENGTH, Source, Status
from domain.service import MAX_NAME_LENGTH, Scope

TIMESTAMP_FORMAT = "%d.%m.%Y %H:%M:%S"

# No NUL (PostgreSQL text cannot hold it) and at least one character that is not an ASCII
# space or control character. The same pattern is published in the OpenAPI document.
_TEXT = r"^[^\x00]*[^\x00-\x20\x7f][^\x00]*$"


@lru_cache(maxsize=1 << 16)
def format_timestamp(value: datetime) -> str:
    """``TIMESTAMP_FORMAT`` in UTC. Every list item has two, and the same incidents come back on
    page after page, so the strings are remembered (a hash lookup instead of formatting)."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    return "%02d.%02d.%04d %02d:%02d:%02d" % (  # noqa: UP031 (the fastest spelling here)
        value.day, value.month, value.year, value.hour, value.minute, value.second,
    )


Timestamp = Annotated[
    datetime,
    PlainSerializer(format_timestamp, return_type=str),
    WithJsonSchema({
        "type": "string",
        "pattern": r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}$",
        "description": "UTC, dd.mm.YYYY HH:MM:SS",
        "example": "08.11.2025 10:26:12",
    }),
]


class OpenAPI30Schema(GenerateJsonSchema):
    """JSON Schema as OpenAPI 3.0.3 understands it: ``nullable`` instead of a ``null`` type,
    ``enum`` instead of ``const``."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        inner = self.generate_inner(schema["schema"])
        if "$ref" in inner:
            return {"allOf": [inner], "nullable": True}
        return {**inner, "nullable": True}

    def literal_schema(self, schema: core_schema.LiteralSchema) -> JsonSchemaValue:
        result = super().literal_schema(schema)
        if "const" in result:
            result["enum"] = [result.pop("const")]
        return result


class Schema(BaseModel):
    """Our models: unknown fields are rejected, and the schema generator speaks OpenAPI 3.0."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def model_json_schema(  # type: ignore[override]
        cls,
        by_alias: bool = True,
        ref_template: str = "#/components/schemas/{model}",
        schema_generator: type[GenerateJsonSchema] = OpenAPI30Schema,
        mode: Literal["validation", "serialization"] = "validation",
        **kwargs: Any,
    ) -> dict[str, Any]:
        return super().model_json_schema(
            by_alias=by_alias, ref_template=ref_template, schema_generator=schema_generator,
            mode=mode, **kwargs,
        )


# Services ------------------------------------------------------------------------------------

class NewServiceRequestSchema(Schema):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=_TEXT,
                      json_schema_extra={"example": "monitoring"})
    scopes: list[Scope] = Field(min_length=1, max_length=len(Scope),
                                json_schema_extra={"uniqueItems": True})

    @field_validator("scopes")
    @classmethod
    def _unique(cls, scopes: list[Scope]) -> list[Scope]:
        if len(set(scopes)) != len(scopes):
            raise ValueError("scopes must not repeat")
        return scopes


class ServiceResponseSchema(Schema):
    id: UUID = Field(description="the service's secret: whoever holds it can obtain tokens")
    name: str
    created_at: Timestamp
    scopes: list[Scope]


# Tokens --------------------------------------------------------------------------------------

_TOKEN = Field(min_length=1, max_length=4096, description="a refresh token from this API")


class CreateTokenRequestSchema(Schema):
    service_id: UUID


class CreateTokenResponseSchema(Schema):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="seconds until the access token expires")


class RefreshTokenRequestSchema(Schema):
    refresh_token: str = _TOKEN


class RefreshTokenResponseSchema(CreateTokenResponseSchema):
    pass


class RevokeTokenRequestSchema(Schema):
    refresh_token: str = _TOKEN


class RevokeTokenResponseSchema(Schema):
    message: str


# Incidents -----------------------------------------------------------------------------------

class NewIncidentRequestSchema(Schema):
    source: Source
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION_LENGTH, pattern=_TEXT,
                             json_schema_extra={"example": "Scooter stopped charging"})


class NewIncidentStatusRequestSchema(Schema):
    status: Status


class IncidentResponseSchema(Schema):
    id: UUID
    status: Status
    source: Source
    description: str
    created_at: Timestamp
    updated_at: Timestamp
    version: int = Field(ge=1, description="number of events so far; also the ETag")


class ListIncidentResponseSchema(Schema):
    items: list[IncidentResponseSchema]
    page: int = Field(ge=1)
    page_size: int = Field(ge=20, le=50)
    total: int = Field(ge=0, description="incidents matching the filter, on all pages")


class ListIncidentQuerySchema(Schema):
    status: Status | None = None
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=20, le=50)


class IncidentVersionQuerySchema(Schema):
    version: int | None = Field(None, ge=1, le=2**31 - 1)


class ActorSchema(Schema):
    name: str
    id: str = Field(description="a non-secret, stable id of the acting service")


class HistoryEventSchema(Schema):
    version: int
    type: Literal["IncidentReported", "StatusChanged"]
    at: Timestamp
    actor: ActorSchema
    data: dict[str, str] = Field(
        description='{"source", "description"} for IncidentReported, {"from", "to"} for '
        "StatusChanged"
    )


class IncidentHistoryResponseSchema(Schema):
    incident_id: UUID
    events: list[HistoryEventSchema]


# Errors --------------------------------------------------------------------------------------

class FieldErrorSchema(Schema):
    loc: list[str | int]
    msg: str


class ProblemSchema(Schema):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldErrorSchema] | None = Field(
        None, description="422: each field that breaks the schema"
    )
    allowed_statuses: list[Status] | None = Field(
        None, description="409 on a status change: the statuses the incident may move to"
    )
    current_version: int | None = Field(
        None, description="412: the incident's current version (its ETag)"
    )
