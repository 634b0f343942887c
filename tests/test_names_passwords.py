"""DN and filter escaping, addresses, people's names, generated passwords and client-side hashes."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from mailprov.addresses import AddressError, check_local, split_address, to_a_label, to_unicode
from mailprov.ldapnames import (
    canonical_dn,
    escape_dn_value,
    escape_filter_value,
    normalize_dn,
    parent_dn,
    same_dn,
    split_dn,
)
from mailprov.model import Mailbox
from mailprov.passwords import ALPHABET, DIGITS, LOWER, SYMBOLS, UPPER, argon2, generate, ssha512, value_in_add

NASTY = 'Budi, "Jr" + <Tim> ; a=b \\ *(x)* Ñoño #1 '


def test_dn_escaping_round_trips_through_the_parser() -> None:
    value = NASTY
    dn = f"cn={escape_dn_value(value)},ou=x\\2Cy,dc=go"
    assert split_dn(dn) == [[("cn", value)], [("ou", "x,y")], [("dc", "go")]]
    assert escape_dn_value("#lead") == "\\#lead" and escape_dn_value(" pad ") == "\\ pad\\ "
    assert parent_dn(dn) == "ou=x\\2Cy,dc=go"


def test_normalized_dns_compare_escapings_and_case() -> None:
    assert normalize_dn("UID=Budi\\2C Jr,OU=X.go.id") == normalize_dn("uid=budi\\, jr,ou=x.go.id")
    assert normalize_dn("cn=a+sn=b,dc=x") == normalize_dn("sn=B+cn=A,dc=x")


@pytest.mark.parametrize(("given", "written"), [
    ("OU=Domains, DC=mail, DC=go, DC=id", "OU=Domains,DC=mail,DC=go,DC=id"),  # case kept, spaces gone
    (" ou = domains ,dc=id ", "ou=domains,dc=id"),
    ("cn=Budi\\, Jr+uid=budi,dc=id", "cn=Budi\\, Jr+uid=budi,dc=id"),  # an escaped comma is part of the value
    ("cn=\\20Budi\\20,dc=id", "cn=\\ Budi\\ ,dc=id"),  # escaped spaces at the ends stay
    ("ou=a=b,dc=id", "ou=a\\=b,dc=id"),
    ("2.5.4.11=domains,dc=id", "2.5.4.11=domains,dc=id"),
])
def test_a_dn_is_written_the_one_way_rfc_4514_does(given: str, written: str) -> None:
    assert canonical_dn(given) == written
    assert same_dn(canonical_dn(given), given)


@pytest.mark.parametrize(("given", "why"), [
    ("domains", "'domains' is not attribute=value"),
    ("ou=domains,,dc=id", "an RDN is empty"),
    ("ou=domains,dc=id,", "an RDN is empty"),
    ("ou=domains;dc=id", "';' must be escaped (';' no longer separates RDNs)"),
    ("ou=,dc=id", "ou= has no value"),
    ("o u=x,dc=id", "'o u' is not an attribute type"),
    ("cn=#04024869,dc=id", "cn: a #-encoded value (write the value as text)"),
    ("  ", "it is empty"),
])
def test_what_is_not_a_dn_is_said(given: str, why: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(why)}$"):
        canonical_dn(given)


def test_filter_escaping() -> None:
    assert escape_filter_value("x)(uid=*") == "x\\29\\28uid=\\2a"
    assert escape_filter_value("a\\b\x00") == "a\\5cb\\00"


@pytest.mark.parametrize(("given", "expected"), [
    ("Médan.go.id", "xn--mdan-bpa.go.id"), ("ProbolinggoKota.GO.ID.", "probolinggokota.go.id"),
    ("dinas.xn--mdan-bpa.go.id", "dinas.xn--mdan-bpa.go.id"),
])
def test_domains_become_a_labels(given: str, expected: str) -> None:
    assert to_a_label(given) == expected
    assert to_unicode(to_a_label("médan.go.id")) == "médan.go.id"


@pytest.mark.parametrize(("bad", "why"), [
    (" . ", "empty domain name"),
    (".".join(["a" * 60] * 4) + ".dinas.go.id", "is longer than 253 characters"),
    ("ab--cd.go.id", "has a reserved label 'ab--cd'"),  # RFC 5891: only xn-- may have hyphens there
    ("localhost", "needs at least two labels"),
    ("dinas.go.123", "has a numeric top-level label"),
    ("dinas_kominfo.go.id", "has an invalid label 'dinas_kominfo'"),
    ("\u0301dinas.go.id", "invalid internationalised domain name"),  # a label starting with a combining accent
])
def test_bad_domains_say_why(bad: str, why: str) -> None:
    with pytest.raises(AddressError, match=re.escape(why)):
        to_a_label(bad)


def test_a_malformed_a_label_is_shown_as_it_is() -> None:
    assert to_unicode("xn--zz.go.id") == "xn--zz.go.id"


@pytest.mark.parametrize("bad", ["x)(uid=*", "budi santoso", ".budi", "budi.", "a..b", "búdi", "a+b", "", "a" * 65])
def test_bad_local_parts(bad: str) -> None:
    with pytest.raises(AddressError):
        check_local(bad)


def test_addresses_are_normalised() -> None:
    assert split_address("Budi.Santoso@Médan.go.id") == ("budi.santoso", "xn--mdan-bpa.go.id")
    with pytest.raises(AddressError):
        split_address("no-at-sign")


@pytest.mark.parametrize(("name", "given", "sn"), [
    ("Lukman Maulana", "Lukman", "Maulana"),
    ("Aminuddin", "", "Aminuddin"),  # one name: sn takes it whole
    ("Drs. H. Aminuddin, M.Si.", "", "Aminuddin"),
    ("Dr. Ir. Budi Santoso, M.T., IPU", "Budi", "Santoso"),
    ("dr. Siti Nurhaliza, Sp.A.", "Siti", "Nurhaliza"),
    ("Hj. Ninik Ira Wibawati, S.H., M.M.", "Ninik Ira", "Wibawati"),
    ("M. Yusuf Ramadhan", "M. Yusuf", "Ramadhan"),  # M. is Muhammad: part of the name
    ("Prof.", "", "Prof."),  # nothing but a title: kept rather than an empty sn
])
def test_sn_and_given_name_leave_the_titles_to_cn(name: str, given: str, sn: str) -> None:
    """Staff lists write degrees after a comma and honorifics before the name; an address book sorted by sn
    filed such staff under 'M.Si.' (sn took the last word)."""
    mailbox = Mailbox(local="x", domain="contoh.go.id", name=name)
    assert (mailbox.given_name, mailbox.surname) == (given, sn)


def test_generated_passwords() -> None:
    seen = set()
    for _ in range(200):
        pw = generate(16)
        assert len(pw) == 16 and set(pw) <= set(ALPHABET)
        assert all(set(pw) & set(group) for group in (UPPER, LOWER, DIGITS, SYMBOLS))
        assert not set(pw) & set("0Oo1lI")
        seen.add(pw)
    assert len(seen) == 200
    assert len(generate(8)) == 16  # never shorter than the minimum


def test_ssha512_is_what_pw_sha2_reads() -> None:
    hashed = ssha512("Rahasia#2026")
    raw = base64.b64decode(hashed.removeprefix("{SSHA512}"))
    digest, salt = raw[:64], raw[64:]
    assert hashlib.sha512(b"Rahasia#2026" + salt).digest() == digest
    assert ssha512("Rahasia#2026") != hashed  # salted


def test_what_an_add_carries_for_each_scheme() -> None:
    assert value_in_add("server", "Rahasia#2026") is None  # Password Modify sets it afterwards
    assert value_in_add("server-add", "Rahasia#2026") == "Rahasia#2026"  # the server hashes it
    assert (value_in_add("ssha512", "Rahasia#2026") or "").startswith("{SSHA512}")


def test_argon2_is_a_phc_string() -> None:
    hashed = argon2("Rahasia#2026")
    assert hashed.startswith("{ARGON2}$argon2id$")


@pytest.mark.parametrize(("given", "kept"), [
    ("19730921 199703 1 009", "197309211997031009"),  # as printed on Indonesian documents
    (" 19730921199703 1 009 ", "197309211997031009"),
    ("197309211997031009", "197309211997031009"),
    ("3573012345678901", "3573012345678901"),  # a 16-digit NIK: not a NIP, as given
    ("PPPK 2024 0001", "PPPK 2024 0001"),
    ("1973 0921 1997 0310 09", "1973 0921 1997 0310 09"),  # not the NIP's layout: left for the operator
])
def test_a_nip_written_as_printed_is_kept_as_its_digits(given: str, kept: str) -> None:
    """One person, one employeeNumber, whichever file or letter the NIP was copied from."""
    from mailprov.reader import employee_number

    assert employee_number(given) == kept


@pytest.mark.parametrize(("number", "doubt"), [
    ("197309211997031009", None),
    ("198602142010012011", None),  # a woman's
    ("3573012345678901", None),  # a 16-digit NIK: no NIP, nothing to say
    ("PPPK20240001", None),
    ("197313211997031009", "its first 8 digits, 19731321, are no birth date (YYYYMMDD)"),  # month 13
    ("197302301997031009", "its first 8 digits, 19730230, are no birth date (YYYYMMDD)"),  # 30 February
    ("097309211997031009", "its first 8 digits, 09730921, are no birth date (YYYYMMDD)"),  # a digit left out
    ("197309211997131009", "digits 9-14, 199713, are no year and month of appointment (YYYYMM) after the birth date"),
    ("197309211970031009", "digits 9-14, 197003, are no year and month of appointment (YYYYMM) after the birth date"),
    ("197309211997033009", "digit 15, 3, is neither 1 (a man) nor 2 (a woman)"),
])
def test_an_18_digit_employee_id_that_cannot_be_a_nip_says_why(number: str, doubt: str | None) -> None:
    """A NIP is a birth date, the year and month of appointment, 1 or 2 for a man or a woman, and a serial: a digit
    typed wrong breaks one of them more often than not."""
    from mailprov.reader import nip_doubt

    assert nip_doubt(number) == doubt
