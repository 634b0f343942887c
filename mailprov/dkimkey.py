"""DKIM public keys (RFC 6376 section 3.6.1, RFC 8463): the platform's key file, and what a key is.

The key file named in ``platform.dkim.public_keys`` becomes the record every
agency publishes and every letter quotes. A private key given there by
mistake (``mmd2026.private`` beside ``mmd2026.txt``, as opendkim-genkey
writes them) would be handed to hundreds of agencies and published in their
DNS, so only a public key is accepted: RSA (SubjectPublicKeyInfo, or bare
PKCS#1) or Ed25519, whose ``p=`` is the raw 32-byte key (RFC 8463).
"""

from __future__ import annotations

import base64
import binascii
import re

from .model import DkimKey

_PEM_LABEL = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_TAG = re.compile(r"(?:^|;)\s*([a-z]+)\s*=\s*([^;]*)")


PRIVATE = "is a PRIVATE key, which must never leave the signer: give its public half (openssl pkey -in FILE -pubout)"


class NotAPublicKey(ValueError):
    """Why a key file cannot be what agencies publish."""


def read_key_bytes(data: bytes) -> DkimKey:
    """The key of a file as read from disk: text as ``read_key_file`` takes it, or binary DER (``openssl
    pkey -pubout -outform DER``), judged by the same rules, a private key refused in that form too."""
    try:
        # Notepad saves a PEM file with a UTF-8 byte-order mark; DER never starts so (0x30, a SEQUENCE)
        text = data.removeprefix(b"\xef\xbb\xbf").decode("ascii")
    except UnicodeDecodeError:
        return _classify(data, base64.b64encode(data).decode("ascii"), None)
    return read_key_file(text)


def read_key_file(text: str) -> DkimKey:
    """The key of a file holding a PEM public key, its bare base64, or a DKIM TXT record (``p=``)."""
    labels = _PEM_LABEL.findall(text)
    if any("PRIVATE" in label for label in labels):
        raise NotAPublicKey(PRIVATE)
    kind = None
    if "p=" in text:  # a TXT record, its strings quoted and split over lines (opendkim-genkey's .txt)
        joined = "".join(re.findall(r'"([^"]*)"', text)) or text
        tags = {name.lower(): value.strip() for name, value in _TAG.findall(joined.replace("\n", ""))}
        body, kind = tags.get("p", ""), tags.get("k", "rsa").lower()
    else:
        body = "".join(line for line in text.splitlines() if not line.startswith("-----"))
    body = "".join(body.split())
    try:
        der = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        der = b""
    if not der:
        raise NotAPublicKey("holds no base64 public key")
    return _classify(der, body, kind)


def _classify(der: bytes, body: str, kind: str | None) -> DkimKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

    if kind == "ed25519" or (kind is None and len(der) == 32):
        if len(der) != 32:
            raise NotAPublicKey(f"holds an Ed25519 key of {len(der)} bytes, not 32")
        return DkimKey("ed25519", body)
    if kind not in (None, "rsa"):
        raise NotAPublicKey(f"names key type k={kind}: DKIM keys are rsa or ed25519")
    try:
        key = _public_key(der)
    except NotAPublicKey:
        if _is_private_key(der):  # its base64 alone, without the PEM lines that name it
            raise NotAPublicKey(PRIVATE) from None
        raise
    if isinstance(key, ed25519.Ed25519PublicKey):
        if kind is not None:  # a record that says k=rsa
            raise NotAPublicKey("says k=rsa but holds an Ed25519 key (publish it raw, with k=ed25519)")
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)  # a PEM: published raw
        return DkimKey("ed25519", base64.b64encode(raw).decode("ascii"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise NotAPublicKey("holds a public key DKIM does not use: give an RSA or Ed25519 key")
    return DkimKey("rsa", body, key.key_size)


def _public_key(der: bytes) -> object:
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    for candidate in (der, _spki_from_pkcs1(der)):
        try:
            return load_der_public_key(candidate)
        except ValueError:
            continue
    raise NotAPublicKey("holds no public key (neither RSA nor Ed25519)")


def _is_private_key(der: bytes) -> bool:
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    try:
        load_der_private_key(der, password=None)
    except TypeError:  # encrypted: cryptography wants its password, and it is a private key all the same
        return True
    except ValueError:
        return False
    return True


def rsa_bits(der: bytes) -> int:
    """Bits of an RSA public key given as SubjectPublicKeyInfo (what p= holds) or as bare PKCS#1."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = _public_key(der)
    except NotAPublicKey:
        raise ValueError("not an RSA public key") from None
    if isinstance(key, rsa.RSAPublicKey):
        return int(key.key_size)
    raise ValueError("not an RSA public key")


def _spki_from_pkcs1(der: bytes) -> bytes:
    """Wrap a bare RSAPublicKey the way SubjectPublicKeyInfo does (rsaEncryption, NULL parameters)."""
    algorithm = bytes.fromhex("300d06092a864886f70d0101010500")
    bits = b"\x03" + _der_length(len(der) + 1) + b"\x00" + der
    return b"\x30" + _der_length(len(algorithm) + len(bits)) + algorithm + bits


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body
