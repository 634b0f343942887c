"""The platform's DKIM key file: only a public key becomes the record agencies publish."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from lab.knot import Knot
from lab.zones import build_zones
from mailprov.config import load_config
from mailprov.dkimkey import NotAPublicKey, read_key_bytes, read_key_file
from mailprov.model import DkimKey

from .configs import DIRECTORY
from .conftest import new_knot
from .helpers import run

PEM, DER = serialization.Encoding.PEM, serialization.Encoding.DER
SPKI = serialization.PublicFormat.SubjectPublicKeyInfo
RSA = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ED = ed25519.Ed25519PrivateKey.generate()
RSA_SPKI = base64.b64encode(RSA.public_key().public_bytes(DER, SPKI)).decode()
RSA_PKCS1 = base64.b64encode(RSA.public_key().public_bytes(DER, serialization.PublicFormat.PKCS1)).decode()
ED_RAW = base64.b64encode(ED.public_key().public_bytes(serialization.Encoding.Raw,
                                                       serialization.PublicFormat.Raw)).decode()


def private(key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey, fmt: serialization.PrivateFormat,
            encryption: serialization.KeySerializationEncryption | None = None) -> str:
    return key.private_bytes(PEM, fmt, encryption or serialization.NoEncryption()).decode()


PUBLIC: list[tuple[str, str, DkimKey]] = [
    ("PEM, as openssl pkey -pubout writes it", RSA.public_key().public_bytes(PEM, SPKI).decode(),
     DkimKey("rsa", RSA_SPKI, 2048)),
    ("PKCS#1 PEM", RSA.public_key().public_bytes(PEM, serialization.PublicFormat.PKCS1).decode(),
     DkimKey("rsa", RSA_PKCS1, 2048)),
    ("bare base64", RSA_SPKI + "\n", DkimKey("rsa", RSA_SPKI, 2048)),
    # opendkim-genkey's .txt: the record as a zone line, its strings quoted and split, a comment after it
    ("opendkim-genkey's .txt", f'mmd2026._domainkey\tIN\tTXT\t( "v=DKIM1; h=sha256; k=rsa; "\n\t  "p='
                               f'{RSA_SPKI[:200]}"\n\t  "{RSA_SPKI[200:]}" )  ; ----- DKIM key mmd2026\n',
     DkimKey("rsa", RSA_SPKI, 2048)),
    # an Ed25519 key is published raw (RFC 8463), whatever form the file has
    ("Ed25519 PEM", ED.public_key().public_bytes(PEM, SPKI).decode(), DkimKey("ed25519", ED_RAW)),
    ("Ed25519 record", f"v=DKIM1; k=ed25519; p={ED_RAW}\n", DkimKey("ed25519", ED_RAW)),
]


@pytest.mark.parametrize(("text", "key"), [(t, k) for _, t, k in PUBLIC], ids=[n for n, _, _ in PUBLIC])
def test_a_public_key_file_gives_the_record_agencies_publish(text: str, key: DkimKey) -> None:
    assert read_key_file(text) == key


PRIVATE_KEYS: list[tuple[str, Callable[[], str]]] = [
    ("PKCS#8", lambda: private(RSA, serialization.PrivateFormat.PKCS8)),
    ("opendkim-genkey's .private (PKCS#1)", lambda: private(RSA, serialization.PrivateFormat.TraditionalOpenSSL)),
    ("encrypted", lambda: private(RSA, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"rahasia"))),
    ("its base64 alone", lambda: "".join(private(RSA, serialization.PrivateFormat.PKCS8).splitlines()[1:-1])),
    ("Ed25519", lambda: private(ED, serialization.PrivateFormat.PKCS8)),
]


@pytest.mark.parametrize("make", [m for _, m in PRIVATE_KEYS], ids=[n for n, _ in PRIVATE_KEYS])
def test_a_private_key_is_refused_whatever_its_form(make: Callable[[], str]) -> None:
    with pytest.raises(NotAPublicKey, match="is a PRIVATE key, which must never leave the signer"):
        read_key_file(make())


@pytest.mark.parametrize(("text", "reason"), [
    (ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(PEM, SPKI).decode(),
     "holds a public key DKIM does not use: give an RSA or Ed25519 key"),
    (base64.b64encode(b"not a key, only bytes of some length").decode(),
     "holds no public key (neither RSA nor Ed25519)"),
    ("bukan kunci\n", "holds no base64 public key"),
    (f"v=DKIM1; k=ed25519; p={base64.b64encode(bytes(16)).decode()}", "holds an Ed25519 key of 16 bytes, not 32"),
    (f"v=DKIM1; k=dsa; p={RSA_SPKI}", "names key type k=dsa: DKIM keys are rsa or ed25519"),
    (f"v=DKIM1; k=rsa; p={base64.b64encode(ED.public_key().public_bytes(DER, SPKI)).decode()}",
     "says k=rsa but holds an Ed25519 key (publish it raw, with k=ed25519)"),
])
def test_what_is_not_a_dkim_public_key_says_why(text: str, reason: str) -> None:
    with pytest.raises(NotAPublicKey) as caught:
        read_key_file(text)
    assert str(caught.value) == reason


def test_a_binary_der_file_is_read_by_the_same_rules() -> None:
    """openssl ... -outform DER writes the key without base64: read as such, a private one refused too."""
    assert read_key_bytes(RSA.public_key().public_bytes(DER, SPKI)) == DkimKey("rsa", RSA_SPKI, 2048)
    assert read_key_bytes(ED.public_key().public_bytes(DER, SPKI)) == DkimKey("ed25519", ED_RAW)
    assert read_key_bytes(RSA_SPKI.encode()) == DkimKey("rsa", RSA_SPKI, 2048)  # text goes the text way
    # a PEM file Notepad saved, with a byte-order mark and CRLF: before, "holds no public key (neither ...)"
    pem = RSA.public_key().public_bytes(serialization.Encoding.PEM, SPKI).replace(b"\n", b"\r\n")
    assert read_key_bytes(b"\xef\xbb\xbf" + pem) == DkimKey("rsa", RSA_SPKI, 2048)
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        with pytest.raises(NotAPublicKey, match="is a PRIVATE key"):
            read_key_bytes(RSA.private_bytes(DER, fmt, serialization.NoEncryption()))
    with pytest.raises(NotAPublicKey, match="holds no public key"):
        read_key_bytes(bytes(range(128, 256)))


def _config(folder: Path, key_text: str | bytes) -> Path:
    key_file = folder / "mmd2026.pub"
    if isinstance(key_text, bytes):
        key_file.write_bytes(key_text)
    else:
        key_file.write_text(key_text)
    path = folder / "domains.yaml"
    path.write_text(f"""platform:
  name: Layanan Mail Multi Domain
  mx: [mx1.mail.go.id, mx2.mail.go.id]
  sending_ips: [203.0.113.10]
  spf_include: _spf.mail.go.id
  dkim: {{selectors: [mmd2026], public_keys: {{mmd2026: mmd2026.pub}}}}
  dmarc: {{min_policy: quarantine, rua: "mailto:dmarc@mail.go.id"}}
  webmail_url: https://webmail.mail.go.id
  imap_host: imap.mail.go.id
  smtp_host: smtp.mail.go.id
{DIRECTORY}
agencies:
  - {{id: pemkot-ed, name: Pemerintah Kota Ed, domain: edkota.go.id}}
""")
    return path


def test_a_private_key_given_as_the_platform_key_is_never_printed(tmp_path: Path) -> None:
    """opendkim-genkey writes mmd2026.private beside mmd2026.txt: named by mistake, it was printed by
    `dns records` (and quoted in every agency letter) as the record to publish."""
    config = _config(tmp_path, private(RSA, serialization.PrivateFormat.TraditionalOpenSSL))
    body = "".join(private(RSA, serialization.PrivateFormat.TraditionalOpenSSL).splitlines()[1:-1])
    for args in (["validate"], ["dns", "records", "edkota.go.id"]):
        r = run([*args, "-c", config])
        assert r.exit_code == 2, r.output
        assert r.stderr == (f"{config}:6: platform.dkim.public_keys.mmd2026: mmd2026.pub is a PRIVATE key, which "
                            "must never leave the signer: give its public half (openssl pkey -in FILE -pubout)\n")
        assert body[:40] not in r.output and r.stdout == ""


def test_a_der_platform_key_file_gives_the_same_records(tmp_path: Path) -> None:
    """Before, a binary file stopped every command with "'ascii' codec can't decode byte 0x82"."""
    config = _config(tmp_path, RSA.public_key().public_bytes(DER, SPKI))
    assert run(["validate", "-c", config]).exit_code == 0
    r = run(["dns", "records", "edkota.go.id", "-c", config])
    assert r.exit_code == 0, r.output
    assert f'"v=DKIM1; k=rsa; p={RSA_SPKI[:237]}" "{RSA_SPKI[237:]}"' in r.stdout, r.stdout


def test_validate_points_out_a_platform_key_below_min_key_bits(tmp_path: Path) -> None:
    """Every agency publishing it would be warned night after night; validate says why once."""
    short = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    config = _config(tmp_path, short.public_bytes(PEM, SPKI).decode())
    r = run(["validate", "-c", config])
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[1:] == [
        "note: the platform's DKIM key for selector mmd2026 is RSA 1024 bit, below dkim.min_key_bits (2048): every "
        "agency that publishes it gets a warning; rotate to a longer key under a new selector"]
    quiet = _config(tmp_path, RSA.public_key().public_bytes(PEM, SPKI).decode())  # 2048 bits
    assert run(["validate", "-c", quiet]).stdout.count("\n") == 1


def test_an_ed25519_platform_key_is_published_raw_and_checks_pass(tmp_path: Path, knot_factory: list[Knot]) -> None:
    """RFC 8463: p= holds the 32-byte key. Before, the PEM's SubjectPublicKeyInfo went out with k=rsa."""
    config = _config(tmp_path, ED.public_key().public_bytes(PEM, SPKI).decode())
    records = run(["dns", "records", "-c", config, "edkota.go.id"])
    assert records.exit_code == 0, records.output
    assert f'mmd2026._domainkey.edkota.go.id. 3600 IN TXT "v=DKIM1; k=ed25519; p={ED_RAW}"' in records.stdout
    # the agency publishes what it was told (the lab writes the zone from the same configuration)
    server = new_knot(knot_factory, tmp_path / "knot", build_zones(load_config(config, {})).texts())
    r = run(["dns", "check", "-c", config, "--nameserver", server.address, "--format", "json", "--lang", "en"])
    assert r.exit_code == 0, r.output
    (domain,) = json.loads(r.stdout)["domains"]
    (dkim,) = [c for c in domain["checks"] if c["check"] == "dkim"]
    assert dkim["status"] == "pass" and "ed25519" in dkim["reason"], dkim
    assert dkim["records"] == [f"v=DKIM1; k=ed25519; p={ED_RAW}"]
