"""Rate limits: 429 with Retry-After, per client address and per token."""

from __future__ import annotations

import uuid

from tests.support.client import bearer
from tests.web.conftest import Api, assert_problem


def client(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}  # the limited server trusts one proxy


def test_an_unauthenticated_endpoint_answers_429_once_a_client_spends_its_budget(
    limited_api: Api,
) -> None:
    answers = [
        limited_api.http.post("/api/v1/token/", json={"service_id": str(uuid.uuid4())},
                              headers=client("10.0.0.1"))
        for _ in range(6)
    ]
    assert [r.status_code for r in answers[:5]] == [404] * 5  # 5/minute on this server
    assert_problem(answers[5], 429)
    assert 1 <= int(answers[5].headers["Retry-After"]) <= 60


def test_another_client_keeps_its_own_budget(limited_api: Api) -> None:
    for _ in range(6):
        limited_api.http.post("/api/v1/token/", json={"service_id": str(uuid.uuid4())},
                              headers=client("10.0.0.2"))
    other = limited_api.http.post("/api/v1/token/", json={"service_id": str(uuid.uuid4())},
                                  headers=client("10.0.0.3"))
    assert other.status_code == 404


def test_writes_are_limited_per_token_and_reads_are_not(limited_api: Api) -> None:
    me = client("10.0.0.4")
    service = limited_api.http.post(
        "/api/v1/services/", json={"name": "rl", "scopes": ["read", "write"]}, headers=me
    ).json()
    tokens = limited_api.http.post(
        "/api/v1/token/", json={"service_id": service["id"]}, headers=me
    ).json()
    headers = {**me, **bearer(tokens["access_token"])}
    body = {"source": "operator", "description": "rate limited"}
    writes = [
        limited_api.http.post("/api/v1/incidents/", json=body, headers=headers)
        for _ in range(4)
    ]
    assert [r.status_code for r in writes[:3]] == [201] * 3  # 3/minute on this server
    assert_problem(writes[3], 429)
    reads = [limited_api.http.get("/api/v1/incidents/", headers=headers) for _ in range(5)]
    assert [r.status_code for r in reads] == [200] * 5
