"""Configuration files written by tests: the platform of the minimal fixture, agencies of the test's own."""

from __future__ import annotations

import textwrap
from pathlib import Path

PLATFORM = """\
platform:
  name: Layanan Mail Multi Domain
  mx: [mx1.mail.go.id, mx2.mail.go.id]
  sending_ips: [203.0.113.10, "2001:db8::10"]
  spf_include: _spf.mail.go.id
  dkim: {selectors: [mmd2026], min_key_bits: 2048}
  dmarc: {min_policy: quarantine, rua: "mailto:dmarc@mail.go.id"}
  webmail_url: https://webmail.mail.go.id
  imap_host: imap.mail.go.id
  smtp_host: smtp.mail.go.id
"""

DIRECTORY = """\
directory:
  urls: ["ldap://127.0.0.1:1"]
  base_dn: "ou=overridden,dc=mail,dc=go,dc=id"
  bind_dn: "cn=provisioner,dc=mail,dc=go,dc=id"
"""

AGENCIES = """\
agencies:
  - id: pemkot-contoh
    name: Pemerintah Kota Contoh
    domain: contohkota.go.id
    quota_mb: 4096
    contact: {name: Rina Wulandari, title: Kepala Dinas Kominfo, email: kominfo@contohkota.go.id}
    mailboxes:
      - {local: walikota, name: Budi Santoso, title: Walikota Contoh, employee_id: "197501012000031001"}
      - {local: sekda, name: Siti Rahmawati, title: Sekretaris Daerah, aliases: [setda]}
      - {local: arsip, name: Agus Wibowo, title: Arsiparis, active: false}
  - id: dinas-lain
    name: Dinas Lain Provinsi
    domain: lain.jatimprov.go.id
    mailboxes:
      - {local: kadis, name: Dewi Lestari, title: Kepala Dinas}
"""


def contoh_agency(*mailboxes: str, domain: str = "contohkota.go.id") -> str:
    """The ``agencies:`` of one agency, pemkot-contoh, with these mailboxes (each a YAML flow mapping)."""
    lines = ["agencies:", "  - id: pemkot-contoh", "    name: Pemerintah Kota Contoh", f"    domain: {domain}",
             "    mailboxes:", *(f"      - {mailbox}" for mailbox in mailboxes)]
    return "\n".join(lines) + "\n"


def write_config(folder: Path, agencies: str = AGENCIES, directory_extra: str = "", extra: str = "",
                 name: str = "domains.yaml") -> Path:
    """A configuration file; connection settings come from the MAILPROV_* environment."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    directory = DIRECTORY + textwrap.indent(textwrap.dedent(directory_extra), "  ")
    path.write_text(PLATFORM + directory + extra + textwrap.dedent(agencies), encoding="utf-8")
    return path
