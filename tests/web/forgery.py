"""What an attacker can make of our tokens: unsigned, re-signed, tampered or stale copies."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwt


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def header_of(token: str) -> dict[str, Any]:
    return json.loads(unb64url(token.split(".")[0]))


def claims_of(token: str) -> dict[str, Any]:
    return json.loads(unb64url(token.split(".")[1]))


def unsigned(token: str) -> str:
    """The same claims with ``alg: none`` and no signature."""
    header = {"alg": "none", "typ": "JWT", "kid": header_of(token)["kid"]}
    return f"{b64url_json(header)}.{b64url_json(claims_of(token))}."


def public_pem_from_jwks(jwks: dict[str, Any], kid: str) -> bytes:
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    numbers = rsa.RSAPublicNumbers(
        int.from_bytes(unb64url(key["e"]), "big"), int.from_bytes(unb64url(key["n"]), "big")
    )
    return numbers.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def hs256_with_secret(token: str, secret: bytes) -> str:
    """The same claims, HMAC-signed with ``secret`` (the key-confusion attack)."""
    header = {"alg": "HS256", "typ": "JWT", "kid": header_of(token)["kid"]}
    signing_input = f"{b64url_json(header)}.{b64url_json(claims_of(token))}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def signed_by_another_key(token: str) -> str:
    """The same claims and ``kid``, signed by an RSA key that is not ours."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return jwt.encode(claims_of(token), pem.decode(), "RS256",
                      headers={"kid": header_of(token)["kid"]})


def tampered(token: str, **changes: Any) -> str:
    """Our signature over claims that have been edited since."""
    header, _, signature = token.split(".")
    return f"{header}.{b64url_json({**claims_of(token), **changes})}.{signature}"


def resigned(
    token: str, key_file: Path, *, kid: str | None = None, drop: tuple[str, ...] = (),
    **changes: Any,
) -> str:
    """Validly signed with the server's own key, with edited claims (an ``exp`` long past, no
    ``exp`` at all, ...) or another ``kid``: what a leaked key or a buggy issuer could produce."""
    claims = {k: v for k, v in {**claims_of(token), **changes}.items() if k not in drop}
    return jwt.encode(claims, key_file.read_text(), "RS256",
                      headers={"kid": kid or header_of(token)["kid"]})
