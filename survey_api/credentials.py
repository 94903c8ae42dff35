"""Credentials: argon2 passwords, random bearer tokens stored only as their SHA-256, the caller's identity."""

from __future__ import annotations

import hashlib
import secrets
import uuid

import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "sv_"
_hasher = PasswordHasher()


class User(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller of a request."""

    id: uuid.UUID
    email: str
    name: str | None
    admin: bool
    token_id: uuid.UUID


def new_token() -> tuple[str, bytes]:
    """A token to show once, and the hash to keep (tokens are random, so a fast hash is enough)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
