"""Operators' passwords and tokens, pure: scrypt hashes, one-time passwords, session tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

# scrypt with N=2^14, r=8, p=1 (16 MiB, about 50 ms here): the parameters RFC 7914 and OWASP
# give for interactive sign-ins. They are stored with each hash, so they can be raised later.
_N, _R, _P, _LEN = 2**14, 8, 1, 32
_SCHEME = "scrypt"
MIN_LENGTH = 12
MAX_LENGTH = 1024  # scrypt takes any length; this bounds the work a request can ask for


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, dklen=_LEN, maxmem=128 * r * n * p * 2
    )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _N, _R, _P)
    return f"{_SCHEME}${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        given = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(given, base64.b64decode(digest))


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def burn_time(password: str) -> None:
    """Compare with a hash of nothing: an unknown name costs as long as a known one, so the
    answer's timing does not tell which names exist."""
    verify_password(password, _dummy_hash())


def one_time_password() -> str:
    """What `tfs operators add` and `reset` print: 20 characters, about 120 bits."""
    return secrets.token_urlsafe(15)


def weak(password: str, name: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_LENGTH:
        return f"A password needs at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"A password has at most {MAX_LENGTH} characters."
    if password.casefold() == name.casefold():
        return "A password must not be the name."
    return None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored of a session token: its SHA-256 (the token itself is 256 random bits, so
    no slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
