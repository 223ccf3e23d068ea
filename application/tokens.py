"""RS256 signing keys, JWT signing and verification, and the JWKS that publishes our keys.

python-jose is used with key *objects* built once: building a key from PEM costs ~36 ms, which
would otherwise be paid on every token. Verification pins ``RS256``, picks the key by ``kid``,
and requires every claim we rely on (jose's ``require_*`` options all default to off).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt
from jose.exceptions import JOSEError

ALGORITHM = "RS256"
_REQUIRED_CLAIMS = ("iss", "sub", "iat", "exp", "jti", "typ", "sid")


class InvalidTokenError(Exception):
    """The token is not one of ours, or no longer valid. The message is safe to show."""


class Keyring:
    """Our signing key plus any retired public keys that still verify (key rotation)."""

    def __init__(self, signing_pem: bytes, retired_public_pems: Iterable[bytes] = ()) -> None:
        self._signing_key = jwk.construct(signing_pem.decode(), ALGORITHM)
        public_pems = [public_pem(signing_pem), *retired_public_pems]
        self._verifying: dict[str, Any] = {}
        self._jwks: list[dict[str, str]] = []
        for pem in public_pems:
            key = jwk.construct(pem.decode(), ALGORITHM)
            public = key.to_dict()
            kid = _thumbprint(public)
            self._verifying[kid] = key
            self._jwks.append({
                "kty": "RSA", "use": "sig", "alg": ALGORITHM, "kid": kid,
                "n": public["n"], "e": public["e"],
            })
        self.kid = self._jwks[0]["kid"]

    def sign(self, claims: Mapping[str, Any]) -> str:
        return jwt.encode(dict(claims), self._signing_key, ALGORITHM, headers={"kid": self.kid})

    def verify(
        self, token: str, *, issuer: str, token_type: str, verify_exp: bool = True
    ) -> dict[str, Any]:
        """The token's claims, if it is ours, current and of ``token_type``."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._verifying.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise InvalidTokenError("token was not signed by a key of ours")
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=issuer,
                options={
                    "verify_aud": False,
                    **{f"require_{c}": True for c in ("iss", "sub", "iat", "jti")},
                    # jose turns a required claim into a verified one: require exp only when
                    # checking it (its presence is checked below either way).
                    "require_exp": verify_exp,
                    "verify_exp": verify_exp,
                },
            )
        except InvalidTokenError:
            raise
        except JOSEError as error:
            raise InvalidTokenError(_describe(error)) from None
        except (ValueError, TypeError, AttributeError):
            raise InvalidTokenError("token is malformed") from None
        if any(c not in claims for c in _REQUIRED_CLAIMS):
            raise InvalidTokenError("token lacks required claims")
        if claims["typ"] != token_type:
            raise InvalidTokenError(f"expected an {token_type} token")
        return claims

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": list(self._jwks)}


def _describe(error: JOSEError) -> str:
    text = str(error).lower()
    if "expired" in text:
        return "token has expired"
    if "issuer" in text:
        return "token has the wrong issuer"
    if "signature" in text:
        return "token signature is invalid"
    if "alg" in text:
        return "token algorithm is not allowed"
    return "token is malformed"


def _thumbprint(public: Mapping[str, str]) -> str:
    """RFC 7638 JWK thumbprint: a stable key id derived from the public key alone."""
    canonical = json.dumps({"e": public["e"], "kty": "RSA", "n": public["n"]},
                           separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def public_pem(private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def generate_private_pem(bits: int = 2048) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_private_pem(path: Path, pem: bytes) -> bool:
    """Write ``pem`` to ``path`` (mode 0600) unless the file exists. True if we wrote it.

    The key is written to a temporary file and hard-linked into place, which fails if another
    process got there first: concurrent workers starting on a fresh machine agree on one key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
        os.fsync(fd)
        os.close(fd)
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    return True


def load_or_create_private_pem(path: Path) -> bytes:
    if not path.exists():
        write_private_pem(path, generate_private_pem())
    return path.read_bytes()
