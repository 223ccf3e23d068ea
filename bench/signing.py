"""RSA-2048 (RS256) signing rate: the ceiling for token issue, which signs twice per request.

Run as ``python -m bench.signing --seconds 3 --procs 2``; prints one JSON object:

- ``jose``: python-jose ``jwt.encode(claims, key, "RS256", headers={"kid": ...})`` with the
  key object built once by ``jwk.construct`` (what ``application.tokens.Keyring.sign`` does),
  so it includes claims JSON and base64url work as well as the signature.
- ``cryptography``: ``private_key.sign(signing_input, PKCS1v15(), SHA256())`` on a typical
  JWT signing input: the bare RSA operation, the floor of what any JWT library can do.

Each is measured in one process (= one core's worth) and in ``--procs`` processes at once
(all cores), whose rates are summed; each also per CPU second (``time.process_time``), which
other programs on a shared machine disturb far less than the wall-clock rate.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
import uuid
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from jose import jwk, jwt

from application.tokens import generate_private_pem


def _claims() -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": "incident-tracker", "sub": "svc_" + uuid.uuid4().hex, "iat": now,
        "sid": str(uuid.uuid4()), "exp": now + 600, "jti": uuid.uuid4().hex, "typ": "access",
        "scope": "read write", "name": "bench",
    }


def _jose_signer(pem: bytes) -> Callable[[], object]:
    key = jwk.construct(pem.decode(), "RS256")
    claims = _claims()
    return lambda: jwt.encode(claims, key, "RS256", headers={"kid": "bench-key"})


def _cryptography_signer(pem: bytes) -> Callable[[], object]:
    key: Any = serialization.load_pem_private_key(pem, password=None)
    message = jwt.encode(_claims(), "x", "HS256").rsplit(".", 1)[0].encode()
    pad, digest = padding.PKCS1v15(), hashes.SHA256()
    return lambda: key.sign(message, pad, digest)


SIGNERS = {"jose": _jose_signer, "cryptography": _cryptography_signer}


def rate(kind: str, pem: bytes, seconds: float) -> tuple[float, float]:
    """Signatures per wall-clock second and per CPU second, by one process over ``seconds``.

    On a machine shared with other programs the wall-clock rate drops when they take the
    core; the rate per CPU second does not (much), so it is the steadier per-core figure.
    """
    sign = SIGNERS[kind](pem)
    for _ in range(20):  # warm up
        sign()
    count, started, cpu_started = 0, time.perf_counter(), time.process_time()
    deadline = started + seconds
    while True:
        for _ in range(20):
            sign()
        count += 20
        now = time.perf_counter()
        if now >= deadline:
            cpu = time.process_time() - cpu_started
            return count / (now - started), count / cpu if cpu else 0.0


def _child(args: tuple[str, bytes, float]) -> tuple[float, float]:
    return rate(*args)


def measure(seconds: float, procs: int) -> dict[str, Any]:
    pem = generate_private_pem(2048)
    result: dict[str, Any] = {"key_bits": 2048, "seconds": seconds, "procs": procs}
    context = multiprocessing.get_context("spawn")
    for kind in SIGNERS:
        wall, cpu = rate(kind, pem, seconds)
        with context.Pool(procs) as pool:
            rates = pool.map(_child, [(kind, pem, seconds)] * procs)
        result[kind] = {
            "one_process": round(wall, 1),
            "one_process_per_cpu_second": round(cpu, 1),
            "all_processes": round(sum(w for w, _ in rates), 1),
            "per_core_when_all_busy": round(sum(w for w, _ in rates) / procs, 1),
            "per_cpu_second_when_all_busy": round(sum(c for _, c in rates) / procs, 1),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--procs", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(measure(args.seconds, args.procs)))


if __name__ == "__main__":
    main()
