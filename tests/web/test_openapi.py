"""The OpenAPI document the server publishes: valid, named as the SPEC names things, secured."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.web.conftest import Api

SPEC_SCHEMAS = {
    "NewServiceRequestSchema", "ServiceResponseSchema", "CreateTokenRequestSchema",
    "CreateTokenResponseSchema", "RefreshTokenRequestSchema", "RefreshTokenResponseSchema",
    "RevokeTokenRequestSchema", "RevokeTokenResponseSchema", "ListIncidentResponseSchema",
    "NewIncidentRequestSchema", "IncidentResponseSchema", "NewIncidentStatusRequestSchema",
    "IncidentHistoryResponseSchema",
}
#: operationId -> (method, path, request schema, success status, response schema, secured)
OPERATIONS = {
    "register_service": ("post", "/api/v1/services", "NewServiceRequestSchema", "201",
                         "ServiceResponseSchema", False),
    "create_token": ("post", "/api/v1/token", "CreateTokenRequestSchema", "200",
                     "CreateTokenResponseSchema", False),
    "refresh_token": ("post", "/api/v1/token/refresh", "RefreshTokenRequestSchema", "200",
                      "RefreshTokenResponseSchema", False),
    "revoke_token": ("post", "/api/v1/token/revoke", "RevokeTokenRequestSchema", "200",
                     "RevokeTokenResponseSchema", False),
    "list_incidents": ("get", "/api/v1/incidents", None, "200", "ListIncidentResponseSchema",
                       True),
    "create_incident": ("post", "/api/v1/incidents", "NewIncidentRequestSchema", "201",
                        "IncidentResponseSchema", True),
    "change_incident_status": ("patch", "/api/v1/incidents/{incident_id}",
                               "NewIncidentStatusRequestSchema", "200",
                               "IncidentResponseSchema", True),
    "get_incident": ("get", "/api/v1/incidents/{incident_id}", None, "200",
                     "IncidentResponseSchema", True),
    "get_incident_history": ("get", "/api/v1/incidents/{incident_id}/history", None, "200",
                             "IncidentHistoryResponseSchema", True),
}


@pytest.fixture(scope="module")
def document(sqlite_api: Api) -> dict[str, Any]:
    response = sqlite_api.http.get("/docs/openapi.json")
    assert response.status_code == 200
    return response.json()


def operation(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    method, path, *_ = OPERATIONS[operation_id]
    return document["paths"][path][method]


def test_the_document_is_valid_openapi_3(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.")


def test_the_document_names_every_schema_as_the_spec_does(document: dict[str, Any]) -> None:
    assert set(document["components"]["schemas"]) >= SPEC_SCHEMAS


def test_every_operation_has_its_own_operation_id(document: dict[str, Any]) -> None:
    ids = [op.get("operationId") for ops in document["paths"].values() for op in ops.values()]
    assert sorted(ids) == sorted(OPERATIONS)


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_each_operation_references_the_spec_schemas(
    document: dict[str, Any], operation_id: str
) -> None:
    _, _, request, status, response, _ = OPERATIONS[operation_id]
    op = operation(document, operation_id)
    if request:
        body = op["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{request}"}
    ok = op["responses"][status]["content"]["application/json"]["schema"]
    assert ok == {"$ref": f"#/components/schemas/{response}"}


def test_the_bearer_scheme_is_declared(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_incident_operations_and_only_they_need_the_bearer_token(
    document: dict[str, Any], operation_id: str
) -> None:
    secured = OPERATIONS[operation_id][-1]
    security = operation(document, operation_id).get("security")
    assert security == ([{"bearerAuth": []}] if secured else None)


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_error_responses_are_problem_details(document: dict[str, Any], operation_id: str) -> None:
    responses = operation(document, operation_id)["responses"]
    errors = {status: r for status, r in responses.items() if status.startswith(("4", "5"))}
    assert errors
    for response in errors.values():
        schema = response["content"]["application/problem+json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ProblemSchema"}


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_each_operation_documents_the_errors_its_inputs_can_cause(
    document: dict[str, Any], operation_id: str
) -> None:
    _, _, request, *_, secured = OPERATIONS[operation_id]
    expected = ({"400", "413", "415", "422"} if request else set()) | (
        {"400", "401", "403"} if secured else set())
    assert set(operation(document, operation_id)["responses"]) >= expected


def test_a_created_incident_links_to_its_reads_and_its_status_change(
    document: dict[str, Any],
) -> None:
    links = operation(document, "create_incident")["responses"]["201"]["links"]
    targets = {link["operationId"] for link in links.values()}
    assert targets == {"get_incident", "change_incident_status", "get_incident_history"}
    for link in links.values():
        assert link["parameters"] == {"incident_id": "$response.body#/id"}


def test_incident_ids_in_paths_are_documented_as_uuids(document: dict[str, Any]) -> None:
    for operation_id in ("get_incident", "change_incident_status", "get_incident_history"):
        (param,) = [p for p in operation(document, operation_id)["parameters"]
                    if p["in"] == "path"]
        assert param["name"] == "incident_id" and param["required"] is True
        assert param["schema"] == {"type": "string", "format": "uuid"}


def test_the_token_flow_is_linked_from_registration_to_refresh_and_revoke(
    document: dict[str, Any],
) -> None:
    (to_token,) = operation(document, "register_service")["responses"]["201"]["links"].values()
    assert to_token == {"operationId": "create_token",
                        "requestBody": {"service_id": "$response.body#/id"}}
    for source in ("create_token", "refresh_token"):
        links = operation(document, source)["responses"]["200"]["links"]
        assert {link["operationId"] for link in links.values()} == {"refresh_token",
                                                                     "revoke_token"}
