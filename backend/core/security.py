"""Secrets: salted scrypt password hashes, random bearer tokens stored only as sha256.

A token has 256 bits of randomness, so one sha256 is enough to store it (no slow KDF needed:
nobody can guess it); a password is chosen by a person, so it gets scrypt with its own salt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

TOKEN_PREFIX = "nbt_"
SESSION_PREFIX = "nbs_"
# scrypt cost: 2**14 x 8 x 1 is about 16 MiB and tens of milliseconds per check.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32
    )


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64 parts)."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValueError(
            f"a password must have between {MIN_PASSWORD} and {MAX_PASSWORD} characters"
        )
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """Constant-time check; a missing hash still costs one scrypt (no timing oracle)."""
    if len(password) > MAX_PASSWORD:
        return False
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            raise ValueError(scheme)
        expected = base64.b64decode(digest)
        got = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        _scrypt(password, b"nasboard-dummy-salt", SCRYPT_N, SCRYPT_R, SCRYPT_P)
        return False
    return hmac.compare_digest(got, expected)


def new_secret(prefix: str) -> str:
    """A fresh bearer secret: ``prefix`` + 43 url-safe characters (256 random bits)."""
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
