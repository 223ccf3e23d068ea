"""The ``incident-tracker`` console script, run as an operator runs it."""

from __future__ import annotations

import re
import socket
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.deploy.conftest import run_cli
from tests.support.client import ApiClient, bearer
from tests.support.server import Server, free_port

COMMANDS = ["serve", "project", "replay", "history", "keygen"]


def test_the_top_level_help_lists_every_command(tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    listed = re.findall(r"^│ (\w+)\s", result.stdout, flags=re.MULTILINE)
    assert set(COMMANDS) <= set(listed), result.stdout


@pytest.mark.parametrize(("command", "expected"), [
    ("serve", ["--host", "--port", "--workers", "one per CPU", "--no-projector", "SIGTERM"]),
    ("project", ["projector", "read views", "--no-projector", "SIGTERM"]),
    ("replay", ["Rebuild every read model", "--batch-size", "events/s"]),
    ("history", ["audit trail", "INCIDENT_ID"]),
    ("keygen", ["RS256", "PATH", "0600", "SIGNING_KEY_FILE", "--keep-existing", "--bits"]),
])
def test_each_command_explains_itself_in_its_help(
    command: str, expected: list[str], tmp_path: Path
) -> None:
    result = run_cli(command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.replace("│", " ").split())
    assert [word for word in expected if word.lower() not in text.lower()] == [], text


@pytest.mark.parametrize(("variable", "value", "command"), [
    ("DATABASE_URL", "mysql://x", "serve"),
    ("PORT", "abc", "serve"),
    ("WORKERS", "0", "serve"),
    ("LOG_FORMAT", "xml", "project"),
    ("ACCESS_TOKEN_TTL", "forever", "replay"),
    ("SIGNING_KEY_FILE", "/no/such/key.pem", "serve"),
])
def test_invalid_configuration_exits_2_with_a_message_naming_the_variable(
    variable: str, value: str, command: str, tmp_path: Path
) -> None:
    result = run_cli(command, cwd=tmp_path, env={variable: value})
    assert result.returncode == 2
    assert "Invalid configuration" in result.stderr
    assert re.search(rf"^\s+{variable}: \S", result.stderr, flags=re.MULTILINE), result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_invalid_configuration_in_a_dot_env_file_is_reported_the_same_way(
    tmp_path: Path,
) -> None:
    (tmp_path / ".env").write_text("PORT=70000\n")
    result = run_cli("serve", cwd=tmp_path)
    assert (result.returncode, "PORT:" in result.stderr) == (2, True), result.stderr


def test_a_signing_key_file_that_holds_no_key_is_rejected_at_start(tmp_path: Path) -> None:
    junk = tmp_path / "key.pem"
    junk.write_text("not a key\n")
    result = run_cli("serve", cwd=tmp_path, env={"SIGNING_KEY_FILE": str(junk)})
    assert result.returncode == 2
    assert "SIGNING_KEY_FILE" in result.stderr and "not an unencrypted PEM private key" in (
        result.stderr), result.stderr


def test_an_unreachable_database_is_reported_in_a_sentence_not_a_traceback(
    tmp_path: Path,
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    result = run_cli("serve", cwd=tmp_path, env={"DATABASE_URL": url, "DB_CONNECT_TIMEOUT": "1"})
    assert result.returncode == 1
    assert "Cannot use the database" in result.stderr and "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_port_already_in_use_is_reported_in_a_sentence_not_a_traceback(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run_cli("serve", "--workers", "1", cwd=tmp_path, env={"PORT": port})
    assert result.returncode == 1
    assert f"Cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_keygen_writes_a_private_key_only_its_owner_can_read_and_its_public_key(
    tmp_path: Path,
) -> None:
    key = tmp_path / "keys" / "signing.pem"
    result = run_cli("keygen", str(key), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    public = serialization.load_pem_public_key(Path(f"{key}.pub").read_bytes())
    assert isinstance(private, rsa.RSAPrivateKey)
    assert public.public_numbers() == private.public_key().public_numbers()  # type: ignore[union-attr]
    assert f"SIGNING_KEY_FILE={key}" in result.stdout


def test_keygen_never_overwrites_an_existing_key(tmp_path: Path) -> None:
    key = tmp_path / "signing.pem"
    assert run_cli("keygen", str(key), cwd=tmp_path).returncode == 0
    before = key.read_bytes()
    result = run_cli("keygen", str(key), cwd=tmp_path)
    assert (result.returncode, key.read_bytes()) == (1, before)
    assert "not overwriting" in result.stderr


def test_keygen_keep_existing_leaves_the_key_alone_and_succeeds(tmp_path: Path) -> None:
    key = tmp_path / "signing.pem"
    assert run_cli("keygen", str(key), cwd=tmp_path).returncode == 0
    before = key.read_bytes()
    result = run_cli("keygen", str(key), "--keep-existing", cwd=tmp_path)
    assert (result.returncode, key.read_bytes()) == (0, before)


def test_history_prints_the_audit_trail_of_an_incident_created_through_the_api(
    sqlite_server: Server, client: ApiClient, writer_token: str,
) -> None:
    incident = client.create_incident(
        bearer(writer_token), description="checkout latency above 2 s"
    )
    client.change_status(bearer(writer_token), incident["id"], "in_progress")
    result = run_cli("history", incident["id"], cwd=sqlite_server.workdir,
                     env={"DATABASE_URL": sqlite_server.env["DATABASE_URL"]})
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if re.match(r"^│\s*\d+\s*│", line)]
    assert [row.split("│")[1].strip() for row in rows] == ["1", "2"], result.stdout
    assert "reported (monitoring): checkout latency above 2 s" in rows[0]
    assert "status new → in_progress" in rows[1]
    assert re.search(r"│ \d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d │", rows[1]), rows[1]
    assert result.stdout.count("deploy-writer") == 2  # the acting service's name, on each event


def test_history_of_an_unknown_incident_exits_1_and_says_so(sqlite_server: Server) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    result = run_cli("history", missing, cwd=sqlite_server.workdir,
                     env={"DATABASE_URL": sqlite_server.env["DATABASE_URL"]})
    assert result.returncode == 1
    assert f"incident {missing} does not exist" in result.stderr


def test_history_rejects_an_id_that_is_not_a_uuid(tmp_path: Path) -> None:
    result = run_cli("history", "INC-42", cwd=tmp_path)
    assert result.returncode == 2 and "valid UUID" in result.stderr


def test_replay_rebuilds_the_views_and_reports_events_per_second(
    sqlite_server: Server, client: ApiClient, writer_token: str,
) -> None:
    client.create_incident(bearer(writer_token))
    result = run_cli("replay", cwd=sqlite_server.workdir,
                     env={"DATABASE_URL": sqlite_server.env["DATABASE_URL"]})
    assert result.returncode == 0, result.stderr
    summary = re.search(r"replayed (\d+) events in [\d.]+ s \(([\d,]+) events/s\)", result.stdout)
    assert summary, result.stdout
    assert int(summary.group(1)) >= 2
