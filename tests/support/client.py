"""The calls an integrating service makes, over real HTTP: shared by the end-to-end tests."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class ApiClient:
    def __init__(self, url: str, timeout: float = 15.0) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=timeout)

    def register(self, scopes: tuple[str, ...] = ("read", "write"), name: str = "") -> str:
        """A new service's id (the credential that mints its tokens)."""
        response = self.http.post(
            "/api/v1/services/",
            json={"name": name or f"svc-{uuid.uuid4().hex[:8]}", "scopes": list(scopes)},
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def tokens(self, service_id: str) -> dict[str, Any]:
        response = self.http.post("/api/v1/token/", json={"service_id": service_id})
        assert response.status_code == 200, response.text
        return response.json()

    def session(self, scopes: tuple[str, ...] = ("read", "write")) -> dict[str, Any]:
        """Tokens of a fresh service."""
        return self.tokens(self.register(scopes))

    def auth(self, scopes: tuple[str, ...] = ("read", "write")) -> dict[str, str]:
        """Authorization headers of a fresh service."""
        return bearer(self.session(scopes)["access_token"])

    def create_incident(
        self, headers: dict[str, str], source: str = "monitoring", description: str = ""
    ) -> dict[str, Any]:
        response = self.http.post(
            "/api/v1/incidents/", headers=headers,
            json={"source": source, "description": description or f"down {uuid.uuid4().hex}"},
        )
        assert response.status_code == 201, response.text
        return response.json()

    def patch_status(
        self, headers: dict[str, str], incident_id: str, status: str
    ) -> httpx.Response:
        return self.http.patch(
            f"/api/v1/incidents/{incident_id}", headers=headers, json={"status": status}
        )

    def change_status(
        self, headers: dict[str, str], incident_id: str, status: str
    ) -> dict[str, Any]:
        response = self.patch_status(headers, incident_id, status)
        assert response.status_code == 200, response.text
        return response.json()

    def history(self, headers: dict[str, str], incident_id: str) -> list[dict[str, Any]]:
        response = self.http.get(f"/api/v1/incidents/{incident_id}/history", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["events"]

    def close(self) -> None:
        self.http.close()
