"""Whether the directory hashes a password that an add carries (``password_scheme: server-add``).

With ``server-add`` each new mailbox costs the directory one write instead of
two (an add, then RFC 3062 Password Modify), but the password travels in the
add as given, and only a directory told to hash such values (OpenLDAP:
``ppolicy_hash_cleartext``) stores a hash. A directory without that setting
stores the password itself, readable by everyone who may read
``userPassword``. So before the first real password of a run, a throwaway
entry with a throwaway password asks the directory what it does.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from . import ldapwire as wire
from .errors import DirectoryError, DirectoryUnavailable, ServerHashError
from .passwords import POLICY_HINT


def check_server_hashes(pipeline: wire.Pipeline, parent: str, password: str) -> None:
    """Add ``cn=mailprov-hash-check-*`` under ``parent`` with ``password``, Compare, delete; raise unless hashed.

    A Compare of ``userPassword`` matches the stored octets (OpenLDAP does not
    hash the asserted value): compareTrue means the password was kept as given,
    compareFalse that something else (a hash) was stored. Any other answer,
    such as no compare access, cannot tell, and the run does not start either.
    """
    name = f"mailprov-hash-check-{secrets.token_hex(6)}"
    dn = f"cn={name},{parent}"
    what = f"password_scheme server-add: the throwaway entry {dn} that checks whether the directory hashes passwords"
    added = _one(pipeline, lambda mid: wire.encode_add(mid, dn, {
        "objectClass": ["top", "person"], "cn": [name], "sn": ["mailprov"], "userPassword": [password]}))
    if not added.ok:
        hint = POLICY_HINT if added.code == wire.CONSTRAINT_VIOLATION else ""
        raise ServerHashError(f"{what} could not be added: {added.describe()}{hint}")
    try:
        answer = _one(pipeline, lambda mid: wire.encode_compare(mid, dn, "userPassword", password))
    finally:
        deleted = _one(pipeline, lambda mid: wire.encode_delete(mid, dn))
    if answer.code == wire.COMPARE_TRUE:
        raise ServerHashError(
            "password_scheme server-add: the directory stored a password given in an add as it is, not hashed; "
            "set ppolicy_hash_cleartext in its ppolicy overlay (olcPPolicyHashCleartext), or use "
            "password_scheme: server")
    if answer.code != wire.COMPARE_FALSE:
        raise ServerHashError(f"{what} could not be compared ({answer.describe()}): give the bind DN compare access "
                             "to userPassword, or use password_scheme: server")
    if not deleted.ok:
        raise DirectoryError(f"{what} could not be deleted ({deleted.describe()}); delete it by hand")


def _one(pipeline: wire.Pipeline, encode: Callable[[int], bytes]) -> wire.Result:
    mid = pipeline.next_id()
    try:
        return pipeline.run([(mid, encode(mid))])[mid]
    except wire.WireError as exc:
        raise DirectoryUnavailable(f"directory connection lost: {exc}") from None
