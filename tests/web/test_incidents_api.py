"""Incidents over real HTTP: report, list, change status, read now or as it was, audit trail."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.web.conftest import Api, assert_problem, assert_validation_problem

TIMESTAMP = re.compile(r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}$")
INCIDENT_FIELDS = {"id", "status", "source", "description", "created_at", "updated_at", "version"}


def parse_timestamp(value: str) -> datetime:
    return datetime.strptime(value, "%d.%m.%Y %H:%M:%S").replace(tzinfo=UTC)


def list_page(api: Api, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = api.http.get("/api/v1/incidents/", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def total(api: Api, headers: dict[str, str], **params: Any) -> int:
    return list_page(api, headers, page_size=20, **params)["total"]


# Reporting -----------------------------------------------------------------------------------

def test_reporting_an_incident_answers_201_with_etag_and_location(
    api: Api, writer: dict[str, str]
) -> None:
    response = api.http.post("/api/v1/incidents/", headers=writer,
                             json={"source": "partner", "description": "Scooter stopped charging"})
    assert response.status_code == 201
    body = response.json()
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/api/v1/incidents/{body['id']}"
    assert response.headers["content-type"] == "application/json"


def test_a_new_incident_is_new_at_version_one_with_utc_timestamps(
    api: Api, writer: dict[str, str]
) -> None:
    body = api.create_incident(writer, source="operator", description="Battery swollen")
    assert set(body) == INCIDENT_FIELDS
    assert body["id"] == str(uuid.UUID(body["id"]))  # lower-case, hyphenated
    assert (body["status"], body["source"], body["description"], body["version"]) == (
        "new", "operator", "Battery swollen", 1)
    assert TIMESTAMP.match(body["created_at"]) and body["updated_at"] == body["created_at"]
    assert abs(parse_timestamp(body["created_at"]) - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_reported_incident_is_visible_at_once_to_another_client(
    api: Api, writer: dict[str, str]
) -> None:
    reader = api.auth(("read",))
    created = api.create_incident(writer)
    response = api.http.get(f"/api/v1/incidents/{created['id']}", headers=reader)
    assert response.status_code == 200 and response.json() == created
    pages = math.ceil(total(api, reader) / 20)
    assert created in list_page(api, reader, page=pages, page_size=20)["items"]


# Listing -------------------------------------------------------------------------------------

def test_listing_defaults_to_the_first_page_of_fifty(api: Api, incident: dict[str, Any]) -> None:
    body = list_page(api, api.auth(("read",)))
    assert set(body) == {"items", "page", "page_size", "total"}
    assert (body["page"], body["page_size"]) == (1, 50)
    assert len(body["items"]) == min(body["total"], 50)
    assert all(set(item) == INCIDENT_FIELDS for item in body["items"])


def test_total_counts_every_incident_on_all_pages(api: Api, writer: dict[str, str]) -> None:
    before = total(api, writer)
    for _ in range(3):
        api.create_incident(writer)
    assert total(api, writer) == before + 3


def test_pages_follow_creation_order_oldest_first(api: Api, writer: dict[str, str]) -> None:
    mine = [api.create_incident(writer)["id"] for _ in range(21)]
    count = total(api, writer)
    last = math.ceil(count / 20)
    tail = [item["id"] for page in (last - 1, last)
            for item in list_page(api, writer, page=page, page_size=20)["items"]]
    assert tail[-21:] == mine


def test_the_whole_list_is_ordered_by_creation_time(api: Api, writer: dict[str, str]) -> None:
    api.create_incident(writer)
    items: list[dict[str, Any]] = []
    page = 1
    while batch := list_page(api, writer, page=page, page_size=50)["items"]:
        items += batch
        page += 1
    created = [parse_timestamp(item["created_at"]) for item in items]
    assert created == sorted(created)
    assert len({item["id"] for item in items}) == len(items) == total(api, writer)


def test_the_status_filter_lists_only_incidents_with_that_status(
    api: Api, writer: dict[str, str]
) -> None:
    before = total(api, writer, status="in_progress")
    moved, stayed = api.create_incident(writer), api.create_incident(writer)
    assert api.patch_status(writer, moved["id"], "in_progress").status_code == 200
    body = list_page(api, writer, status="in_progress", page=math.ceil((before + 1) / 20),
                     page_size=20)
    ids = [item["id"] for item in body["items"]]
    assert body["total"] == before + 1
    assert moved["id"] in ids and stayed["id"] not in ids
    assert {item["status"] for item in body["items"]} == {"in_progress"}


def test_a_page_past_the_end_is_empty(api: Api, incident: dict[str, Any]) -> None:
    body = list_page(api, api.auth(("read",)), page=1_000_000, page_size=20)
    assert body["items"] == [] and body["total"] >= 1
    assert (body["page"], body["page_size"]) == (1_000_000, 20)


# Changing status -----------------------------------------------------------------------------

def test_status_changes_follow_the_workflow_and_count_versions(
    api: Api, writer: dict[str, str], incident: dict[str, Any]
) -> None:
    for version, status in enumerate(["in_progress", "resolved", "in_progress", "closed"], 2):
        response = api.patch_status(writer, incident["id"], status)
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["version"]) == (status, version)
        assert response.headers["etag"] == f'"{version}"'


def test_setting_the_current_status_again_records_nothing(
    api: Api, writer: dict[str, str], incident: dict[str, Any]
) -> None:
    response = api.patch_status(writer, incident["id"], "new")
    assert response.status_code == 200
    assert response.json() == incident and response.headers["etag"] == '"1"'
    history = api.http.get(f"/api/v1/incidents/{incident['id']}/history", headers=writer).json()
    assert len(history["events"]) == 1


def test_a_transition_outside_the_workflow_is_409_naming_the_allowed_statuses(
    api: Api, writer: dict[str, str], incident: dict[str, Any]
) -> None:
    api.patch_status(writer, incident["id"], "in_progress")
    body = assert_problem(api.patch_status(writer, incident["id"], "new"), 409)
    assert body["allowed_statuses"] == ["resolved", "closed"]
    assert "resolved" in body["detail"] and "closed" in body["detail"]


def test_a_closed_incident_allows_no_further_status(
    api: Api, writer: dict[str, str], incident: dict[str, Any]
) -> None:
    api.patch_status(writer, incident["id"], "closed")
    body = assert_problem(api.patch_status(writer, incident["id"], "in_progress"), 409)
    assert body["allowed_statuses"] == []
    assert "final" in body["detail"]


def test_if_match_with_the_current_version_applies_the_change(
    api: Api, writer: dict[str, str], incident: dict[str, Any]
) -> None:
    response = api.http.patch(f"/api/v1/incidents/{incident['id']}",
                              headers={**writer, "If-Match": '"1"'}, json={"status": "resolved"})
    assert response.status_code == 200 and response.json()["version"] == 2


def test_if_match_with_a_stale_version_is_412_and_changes_nothing(
    api: Api, writer: dict[str, str], incident: dict[str, Any]
) -> None:
    api.patch_status(writer, incident["id"], "in_progress")
    response = api.http.patch(f"/api/v1/incidents/{incident['id']}",
                              headers={**writer, "If-Match": '"1"'}, json={"status": "closed"})
    assert assert_problem(response, 412)["current_version"] == 2
    current = api.http.get(f"/api/v1/incidents/{incident['id']}", headers=writer).json()
    assert (current["status"], current["version"]) == ("in_progress", 2)


@pytest.mark.parametrize("value", ["version one", "1", 'W/"1"', '"v1"', '"1", "2"'])
def test_an_if_match_that_names_no_single_strong_version_is_412(
    api: Api, writer: dict[str, str], incident: dict[str, Any], value: str
) -> None:
    response = api.http.patch(f"/api/v1/incidents/{incident['id']}",
                              headers={**writer, "If-Match": value}, json={"status": "closed"})
    assert_problem(response, 412)


def test_if_match_star_applies_the_change(
    api: Api, writer: dict[str, str], incident: dict[str, Any]
) -> None:
    response = api.http.patch(f"/api/v1/incidents/{incident['id']}",
                              headers={**writer, "If-Match": "*"}, json={"status": "closed"})
    assert response.status_code == 200 and response.json()["status"] == "closed"


def test_changing_an_unknown_incident_is_404(api: Api, writer: dict[str, str]) -> None:
    assert_problem(api.patch_status(writer, str(uuid.uuid4()), "closed"), 404)


def test_a_status_change_is_visible_at_once_to_another_client(
    api: Api, writer: dict[str, str], incident: dict[str, Any]
) -> None:
    reader = api.auth(("read",))
    changed = api.patch_status(writer, incident["id"], "resolved").json()
    assert api.http.get(f"/api/v1/incidents/{incident['id']}", headers=reader).json() == changed
    resolved = list_page(api, reader, status="resolved", page_size=20,
                         page=math.ceil(total(api, reader, status="resolved") / 20))
    assert changed in resolved["items"]


# Idempotency ---------------------------------------------------------------------------------

def test_repeating_an_idempotency_key_returns_the_original_incident(
    api: Api, writer: dict[str, str]
) -> None:
    headers = {**writer, "Idempotency-Key": f"report-{uuid.uuid4()}"}
    body = {"source": "monitoring", "description": "Disk full"}
    first = api.http.post("/api/v1/incidents/", headers=headers, json=body)
    count = total(api, writer)
    again = api.http.post("/api/v1/incidents/", headers=headers, json=body)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert total(api, writer) == count
    history = api.http.get(f"/api/v1/incidents/{first.json()['id']}/history", headers=writer)
    assert len(history.json()["events"]) == 1


def test_reusing_an_idempotency_key_with_a_different_body_is_422(
    api: Api, writer: dict[str, str]
) -> None:
    headers = {**writer, "Idempotency-Key": f"report-{uuid.uuid4()}"}
    api.http.post("/api/v1/incidents/", headers=headers,
                  json={"source": "monitoring", "description": "Disk full"})
    response = api.http.post("/api/v1/incidents/", headers=headers,
                             json={"source": "monitoring", "description": "Disk on fire"})
    assert "Idempotency-Key" in assert_problem(response, 422)["detail"]


def test_an_idempotency_key_belongs_to_the_service_that_sent_it(
    api: Api, writer: dict[str, str]
) -> None:
    key = {"Idempotency-Key": f"report-{uuid.uuid4()}"}
    body = {"source": "monitoring", "description": "Disk full"}
    mine = api.http.post("/api/v1/incidents/", headers={**writer, **key}, json=body)
    theirs = api.http.post("/api/v1/incidents/", headers={**api.auth(), **key}, json=body)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]


# Reading, now and as it was ------------------------------------------------------------------

def test_getting_an_incident_returns_it_with_its_etag(
    api: Api, writer: dict[str, str], incident: dict[str, Any]
) -> None:
    response = api.http.get(f"/api/v1/incidents/{incident['id']}", headers=writer)
    assert response.status_code == 200
    assert response.json() == incident and response.headers["etag"] == '"1"'


def test_an_earlier_version_shows_the_incident_as_it_was(
    api: Api, writer: dict[str, str], incident: dict[str, Any]
) -> None:
    for status in ("in_progress", "resolved"):
        api.patch_status(writer, incident["id"], status)
    response = api.http.get(f"/api/v1/incidents/{incident['id']}", headers=writer,
                            params={"version": 2})
    assert response.status_code == 200 and response.headers["etag"] == '"2"'
    assert (response.json()["status"], response.json()["version"]) == ("in_progress", 2)
    first = api.http.get(f"/api/v1/incidents/{incident['id']}?version=1", headers=writer)
    assert first.json() == incident


def test_a_version_beyond_the_current_one_is_404(
    api: Api, writer: dict[str, str], incident: dict[str, Any]
) -> None:
    response = api.http.get(f"/api/v1/incidents/{incident['id']}?version=2", headers=writer)
    assert "version" in assert_problem(response, 404)["detail"]


@pytest.mark.parametrize("version", ["0", "-1", "two"])
def test_a_version_that_is_not_a_positive_number_is_422(
    api: Api, writer: dict[str, str], incident: dict[str, Any], version: str
) -> None:
    response = api.http.get(f"/api/v1/incidents/{incident['id']}?version={version}",
                            headers=writer)
    assert_validation_problem(response, "query", "version")


def test_getting_an_unknown_incident_is_404(api: Api, writer: dict[str, str]) -> None:
    assert_problem(api.http.get(f"/api/v1/incidents/{uuid.uuid4()}", headers=writer), 404)


# History -------------------------------------------------------------------------------------

def test_history_lists_every_event_in_order_with_who_did_it(api: Api) -> None:
    reporter, closer = api.register(name="monitoring"), api.register(name="operator-console")
    reporter_auth = {"Authorization": f"Bearer {api.tokens(reporter)['access_token']}"}
    closer_auth = {"Authorization": f"Bearer {api.tokens(closer)['access_token']}"}
    created = api.create_incident(reporter_auth, source="partner", description="No GPS")
    api.patch_status(closer_auth, created["id"], "closed")
    response = api.http.get(f"/api/v1/incidents/{created['id']}/history", headers=closer_auth)
    assert response.status_code == 200
    body = response.json()
    assert body["incident_id"] == created["id"]
    reported, closed = body["events"]
    assert (reported["version"], reported["type"]) == (1, "IncidentReported")
    assert reported["data"] == {"source": "partner", "description": "No GPS"}
    assert (closed["version"], closed["type"]) == (2, "StatusChanged")
    assert closed["data"] == {"from": "new", "to": "closed"}
    assert reported["actor"]["name"] == "monitoring"
    assert closed["actor"]["name"] == "operator-console"
    assert reported["actor"]["id"] != closed["actor"]["id"]
    assert TIMESTAMP.match(reported["at"]) and TIMESTAMP.match(closed["at"])


def test_history_never_shows_the_service_id(api: Api) -> None:
    service_id = api.register()
    headers = {"Authorization": f"Bearer {api.tokens(service_id)['access_token']}"}
    created = api.create_incident(headers)
    response = api.http.get(f"/api/v1/incidents/{created['id']}/history", headers=headers)
    actor = response.json()["events"][0]["actor"]
    assert set(actor) == {"name", "id"} and actor["id"]
    for form in (service_id, service_id.replace("-", "")):
        assert form not in response.text


def test_history_of_an_unknown_incident_is_404(api: Api, writer: dict[str, str]) -> None:
    response = api.http.get(f"/api/v1/incidents/{uuid.uuid4()}/history", headers=writer)
    assert_problem(response, 404)
