"""First passwords: generated with ``secrets``, optionally hashed client-side.

The alphabet leaves out characters people misread on paper (0/O/o, 1/l/I)
because the first password travels in a printed letter. Every password has
an upper-case letter, a lower-case letter, a digit and a symbol, which is
what a ppolicy quality check usually asks for.
"""

from __future__ import annotations

import base64
import hashlib

from .entropy import random_bytes

UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"
LOWER = "abcdefghijkmnpqrstuvwxyz"
DIGITS = "23456789"
SYMBOLS = "#%+-=?@"
ALPHABET = UPPER + LOWER + DIGITS + SYMBOLS
MIN_LENGTH = 16
#: added to a server's refusal of a generated password (ppolicy's quality check answers constraintViolation)
POLICY_HINT = " (if the server's password policy asks for longer passwords, raise directory.password_length)"


def _sampler(alphabet: str) -> tuple[bytes, bytes]:
    """A ``bytes.translate`` table and deletion set that turn random bytes into characters of ``alphabet``,
    uniformly: a byte at or above the largest multiple of its length is dropped (rejection sampling)."""
    limit = 256 - 256 % len(alphabet)
    table = bytes(ord(alphabet[b % len(alphabet)]) if b < limit else 0 for b in range(256))
    return table, bytes(range(limit, 256))


_TABLE, _REJECTED = _sampler(ALPHABET)
#: each alphabet character's class (1-4) as a ``bytes.translate`` table: the check that all four appear
#: is one C call, not a set intersection per class (4.1 -> 1.6 us a password)
_CLASS_OF = bytes(next((n for n, group in enumerate((UPPER, LOWER, DIGITS, SYMBOLS), 1) if chr(b) in group), 0)
                  for b in range(256))


def generate(length: int = MIN_LENGTH) -> str:
    """A password of ``length`` (at least 16) with every character class present.

    Drawn until all four classes appear, rather than forcing one of each into
    fixed places, so every position stays uniform over the whole alphabet.
    """
    length = max(length, MIN_LENGTH)
    while True:
        drawn = b""
        while len(drawn) < length:
            drawn += random_bytes(2 * length).translate(_TABLE, _REJECTED)
        drawn = drawn[:length]
        if len(set(drawn.translate(_CLASS_OF))) == 4:
            return drawn.decode("ascii")


def ssha512(password: str) -> str:
    """``{SSHA512}`` as OpenLDAP's pw-sha2 module reads it: base64(digest + salt)."""
    salt = random_bytes(16)
    digest = hashlib.sha512(password.encode("utf-8") + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode("ascii")


def argon2(password: str) -> str:
    """``{ARGON2}`` (argon2id, PHC string) as OpenLDAP's argon2 module reads it."""
    from argon2 import PasswordHasher

    return "{ARGON2}" + PasswordHasher().hash(password)


CLIENT_SCHEMES = {"ssha512": ssha512, "argon2": argon2}
#: ``server``: RFC 3062 Password Modify after the add. ``server-add``: the add carries the password and the server
#: hashes it (OpenLDAP ppolicy's ``ppolicy_hash_cleartext``), one write per new mailbox instead of two; every other
#: password (a reset, an entry found without one) still goes by Password Modify.
SERVER_SCHEMES = ("server", "server-add")
SCHEMES = (*SERVER_SCHEMES, *CLIENT_SCHEMES)


def client_hash(scheme: str, password: str) -> str:
    return CLIENT_SCHEMES[scheme](password)


def value_in_add(scheme: str, password: str) -> str | None:
    """The ``userPassword`` a new entry's add carries (None: Password Modify sets it once the entry exists)."""
    if scheme == "server":
        return None
    return password if scheme == "server-add" else client_hash(scheme, password)
