"""HTTP calls the fault tests share, against a real ``incident-tracker serve`` process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

import httpx

from domain.actor import public_service_id
from tests.support.client import ApiClient, bearer
from tests.support.server import Server


class Api(ApiClient):
    def __init__(self, server: Server, timeout: float = 15.0) -> None:
        super().__init__(server.url, timeout)
        self.server = server

    def service(
        self, scopes: tuple[str, ...] = ("read", "write")
    ) -> tuple[dict[str, str], str]:
        """A fresh service: its Authorization header and the actor id its history shows."""
        service_id = self.register(scopes)
        auth = bearer(self.tokens(service_id)["access_token"])
        return auth, public_service_id(UUID(service_id))

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
