"""Two API nodes and one projector on one PostgreSQL database, as in a multi-machine deployment.

Each node is its own `incident-tracker serve --no-projector` process; the projector is a separate
`incident-tracker project`; they share only the database and the signing key (made by keygen).
Reads right after a write go to the *other* node, without waiting: read-your-writes must hold
across nodes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.deploy.conftest import clean_env, run_cli, wait_for
from tests.support.client import ApiClient, bearer
from tests.support.databases import PostgresDatabases
from tests.support.server import ROOT, Server

NODE_ARGS = ("serve", "--no-projector", "--workers", "1")


@dataclass
class Cluster:
    a: ApiClient
    b: ApiClient
    projector: subprocess.Popen[bytes]


@pytest.fixture(scope="module")
def cluster(
    postgres: PostgresDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    workdir = tmp_path_factory.mktemp("deploy-multinode")
    key = workdir / "keys" / "signing-key.pem"
    assert run_cli("keygen", str(key), cwd=workdir).returncode == 0
    env = {"SIGNING_KEY_FILE": str(key)}
    database_url = postgres.create()
    nodes = [Server(database_url, workdir / name, args=NODE_ARGS, env=env) for name in "ab"]
    log = workdir / "projector.log"
    projector: subprocess.Popen[bytes] | None = None
    try:
        for node in nodes:
            node.start(timeout=60)
        with log.open("wb") as out:
            projector = subprocess.Popen(
                [sys.executable, "-m", "web.cli", "project"], cwd=workdir, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
                env=clean_env(DATABASE_URL=database_url, PYTHONPATH=str(ROOT), **env),
            )
        wait_for(lambda: "projector started" in log.read_text(), timeout=60,
                 what="the projector to start")
        a, b = (ApiClient(node.url) for node in nodes)
        yield Cluster(a, b, projector)
        a.close()
        b.close()
    finally:
        if projector is not None and projector.poll() is None:
            projector.send_signal(signal.SIGTERM)
            try:
                projector.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(projector.pid, signal.SIGKILL)
                projector.wait()
        for node in nodes:
            node.stop()


@pytest.fixture(scope="module")
def token(cluster: Cluster) -> str:
    return cluster.a.tokens(cluster.a.register())["access_token"]


def test_an_incident_created_on_one_node_is_immediately_readable_on_the_other(
    cluster: Cluster, token: str
) -> None:
    created = cluster.a.create_incident(bearer(token), description="payments API returns 502")
    response = cluster.b.http.get(f"/api/v1/incidents/{created['id']}", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == created


def test_an_incident_created_on_one_node_is_immediately_listed_on_the_other(
    cluster: Cluster, token: str
) -> None:
    created = cluster.a.create_incident(bearer(token))
    listing = cluster.b.http.get(  # the module's database is fresh: one page holds them all
        "/api/v1/incidents/", headers=bearer(token), params={"status": "new", "page_size": 50}
    ).json()
    assert listing["total"] <= 50
    assert created in listing["items"]


def test_a_status_change_on_the_second_node_shows_in_the_history_read_on_the_first(
    cluster: Cluster, token: str
) -> None:
    created = cluster.a.create_incident(bearer(token))
    cluster.b.change_status(bearer(token), created["id"], "in_progress")
    cluster.b.change_status(bearer(token), created["id"], "resolved")
    history = cluster.a.http.get(
        f"/api/v1/incidents/{created['id']}/history", headers=bearer(token)
    ).json()
    changes = [(e["data"]["from"], e["data"]["to"])
               for e in history["events"] if e["type"] == "StatusChanged"]
    assert changes == [("new", "in_progress"), ("in_progress", "resolved")]
    current = cluster.a.http.get(f"/api/v1/incidents/{created['id']}", headers=bearer(token))
    assert (current.json()["status"], current.json()["version"]) == ("resolved", 3)


def test_a_token_issued_by_one_node_is_accepted_by_the_other(cluster: Cluster) -> None:
    tokens = cluster.b.tokens(cluster.b.register())
    response = cluster.a.http.get("/api/v1/incidents/", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200, response.text


def test_a_refresh_token_rotated_on_one_node_no_longer_works_on_the_other(
    cluster: Cluster,
) -> None:
    first = cluster.a.tokens(cluster.a.register())
    rotated = cluster.a.http.post(
        "/api/v1/token/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200, rotated.text
    replayed = cluster.b.http.post(
        "/api/v1/token/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert replayed.status_code == 401


def test_a_session_revoked_on_one_node_is_refused_by_the_other_within_seconds(
    cluster: Cluster,
) -> None:
    tokens = cluster.a.tokens(cluster.a.register())
    revoked = cluster.a.http.post(
        "/api/v1/token/revoke", json={"refresh_token": tokens["refresh_token"]}
    )
    assert revoked.status_code == 200, revoked.text

    def refused_by_b() -> bool:
        response = cluster.b.http.get("/api/v1/incidents/",
                                      headers=bearer(tokens["access_token"]))
        return response.status_code == 401

    assert wait_for(refused_by_b, timeout=10, what="node b to refuse the revoked session")


def test_both_nodes_publish_the_same_signing_key(cluster: Cluster) -> None:
    keys = [node.http.get("/.well-known/jwks.json").json() for node in (cluster.a, cluster.b)]
    assert keys[0] == keys[1] and len(keys[0]["keys"]) == 1
