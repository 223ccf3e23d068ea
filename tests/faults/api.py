"""HTTP calls the fault tests share, against a real ``incident-tracker serve`` process."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from domain.actor import public_service_id
from tests.support.server import Server


class Api:
    def __init__(self, server: Server, timeout: float = 15.0) -> None:
        self.server = server
        self.url = server.url
        self.http = httpx.Client(base_url=server.url, timeout=timeout)

    def bearer(self, scopes: tuple[str, ...] = ("read", "write")) -> dict[str, str]:
        """An Authorization header for a fresh service."""
        return self.service(scopes)[0]

    def service(
        self, scopes: tuple[str, ...] = ("read", "write")
    ) -> tuple[dict[str, str], str]:
        """A fresh service: its Authorization header and the actor id its history shows."""
        response = self.http.post("/api/v1/services/", json={
            "name": f"svc-{uuid.uuid4().hex[:8]}", "scopes": list(scopes),
        })
        assert response.status_code == 201, response.text
        service_id = response.json()["id"]
        tokens = self.http.post("/api/v1/token/", json={"service_id": service_id})
        assert tokens.status_code == 200, tokens.text
        auth = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        return auth, public_service_id(UUID(service_id))

    def create(self, headers: dict[str, str], description: str = "disk full") -> dict[str, Any]:
        response = self.http.post("/api/v1/incidents/", headers=headers,
                                  json={"source": "monitoring", "description": description})
        assert response.status_code == 201, response.text
        return response.json()

    def history(self, headers: dict[str, str], incident_id: str) -> list[dict[str, Any]]:
        response = self.http.get(f"/api/v1/incidents/{incident_id}/history", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["events"]

    def wait_until_ready(self, status: int = 200, timeout: float = 20.0) -> httpx.Response:
        """Poll ``/ready`` until it answers ``status``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                response = self.http.get("/ready", timeout=5)
                if response.status_code == status:
                    return response
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"/ready never answered {status}"
            time.sleep(0.05)

    def close(self) -> None:
        self.http.close()


@contextmanager
def serving(database_url: str, workdir: Path, **env: str) -> Iterator[Api]:
    """A server (one worker, with its projector) and a client for it."""
    with Server(database_url, workdir, env={"ACCESS_LOG": "false", **env}) as server:
        api = Api(server)
        try:
            api.wait_until_ready()
            yield api
        finally:
            api.close()
