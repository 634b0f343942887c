"""First passwords: generated with ``secrets``, optionally hashed client-side.

The alphabet leaves out characters people misread on paper (0/O/o, 1/l/I)
because the first password travels in a printed letter. Every password has
an upper-case letter, a lower-case letter, a digit and a symbol, which is
what a ppolicy quality check usually asks for.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
LOWER = "abcdefghijkmnpqrstuvwxyz"
DIGITS = "23456789"
SYMBOLS = "#%+-=?@"
ALPHABET = UPPER + LOWER + DIGITS + SYMBOLS
MIN_LENGTH = 16


def _uniform(alphabet: str, count: int) -> list[str]:
    """``count`` characters drawn uniformly from ``alphabet`` (rejection sampling of random bytes)."""
    limit = 256 - 256 % len(alphabet)
    out: list[str] = []
    while len(out) < count:
        out += [alphabet[b % len(alphabet)] for b in secrets.token_bytes(2 * count) if b < limit]
    return out[:count]


def generate(length: int = MIN_LENGTH) -> str:
    """A password of ``length`` (at least 16) with every character class present.

    Drawn until all four classes appear, rather than forcing one of each into
    fixed places, so every position stays uniform over the whole alphabet.
    """
    length = max(length, MIN_LENGTH)
    while True:
        chars = _uniform(ALPHABET, length)
        if all(any(c in group for c in chars) for group in (UPPER, LOWER, DIGITS, SYMBOLS)):
            return "".join(chars)


def ssha512(password: str) -> str:
    """``{SSHA512}`` as OpenLDAP's pw-sha2 module reads it: base64(digest + salt)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.sha512(password.encode("utf-8") + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode("ascii")


def argon2(password: str) -> str:
    """``{ARGON2}`` (argon2id, PHC string) as OpenLDAP's argon2 module reads it."""
    from argon2 import PasswordHasher

    return "{ARGON2}" + PasswordHasher().hash(password)


CLIENT_SCHEMES = {"ssha512": ssha512, "argon2": argon2}


def client_hash(scheme: str, password: str) -> str:
    return CLIENT_SCHEMES[scheme](password)
