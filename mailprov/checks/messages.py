"""The reasons of every verdict, in Bahasa Indonesia and English.

Each says what was found and, when something is wrong, what to publish
instead, so the person reading the report can act on it without a manual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: the four verdicts in words, for reports and mails
STATUS_WORDS = {
    "id": {"pass": "lulus", "warn": "peringatan", "error": "tak terputuskan", "fail": "gagal"},
    "en": {"pass": "pass", "warn": "warn", "error": "undecided", "fail": "fail"},
}

MESSAGES: dict[str, dict[str, str]] = {
    # -- shared ----------------------------------------------------------------------
    # what is wrong with a tag list (DKIM, DMARC, MTA-STS, TLS-RPT records)
    "tags.not_tag_value": {"id": "'{part}' bukan tag=nilai", "en": "'{part}' is not tag=value"},
    "tags.bad_name": {"id": "nama tag '{name}' tidak valid", "en": "invalid tag name '{name}'"},
    "tags.twice": {"id": "tag '{name}' muncul dua kali", "en": "tag '{name}' appears twice"},
    "tags.control": {"id": "ada karakter kontrol pada nilai '{name}'",
                     "en": "control character in the value of '{name}'"},
    "tags.records": {"id": "{count} record", "en": "{count} records"},
    "tags.missing": {"id": "tidak ada tag {tag}=", "en": "no {tag}= tag"},
    "dns.error": {
        "id": "tidak dapat diputuskan: kueri DNS {name} {rdtype} gagal ({what}); "
              "akan dicoba lagi pada pemeriksaan berikutnya",
        "en": "could not be decided: the DNS query {name} {rdtype} failed ({what}); it will be retried on the next run",
    },
    "domain.nxdomain": {
        "id": "domain {domain} tidak ada (NXDOMAIN): daftarkan domain dan delegasikan ke server DNS instansi",
        "en": "domain {domain} does not exist (NXDOMAIN): register it and delegate it to the agency's DNS servers",
    },
    # a zone-file line whose name lacks its final dot: the zone's own name was appended to it
    "domain.appended": {
        "id": "{name} adalah {meant} dengan nama domain tertambah di belakangnya: di file zona, akhiri nama itu "
              "dengan titik ({meant}.)",
        "en": "{name} is {meant} with the domain appended: in the zone file, end that name with a dot ({meant}.)",
    },
    "domain.doubled": {
        "id": "record itu ada di {found}: nama di file zona yang ditulis lengkap tanpa titik di akhir mendapat "
              "tambahan nama domain; tulis {meant}. (dengan titik) atau hanya bagian sebelum nama domain",
        "en": "the record is at {found}: a name written in full in the zone file without its final dot gets the "
              "domain appended; write {meant}. (with the dot) or only the part before the domain",
    },
    "domain.missing": {
        "id": "domain {domain} tidak ada (NXDOMAIN): daftarkan domain, delegasikan ke server DNS instansi, "
              "lalu terbitkan semua record yang diminta platform",
        "en": "domain {domain} does not exist (NXDOMAIN): register it, delegate it to the agency's DNS servers, "
              "then publish every record the platform asks for",
    },
    # -- the platform's own records ---------------------------------------------------------
    "platform.spf_denied": {
        "id": "record SPF platform sendiri {include} memberi hasil {result} untuk server platform {ip} ({detail})",
        "en": "the platform's own SPF record {include} gives {result} for the platform's server {ip} ({detail})",
    },
    "platform.spf_allows": {
        "id": "record SPF platform sendiri {include} mengizinkan alamat di luar platform ({ip})",
        "en": "the platform's own SPF record {include} allows an address outside the platform ({ip})",
    },
    "platform.dkim": {
        "id": "kunci DKIM platform sendiri di {name} (selector {selector}) tidak valid: {detail}",
        "en": "the platform's own DKIM key record at {name} (selector {selector}) is not valid: {detail}",
    },
    "platform.dkim_count": {"id": "ada {count} record TXT, harus tepat satu",
                            "en": "{count} TXT records, there must be exactly one"},
    "platform.excused": {
        "id": "tidak dapat diputuskan: record platform sendiri {name} rusak, dan record instansi bergantung "
              "padanya; tidak ada yang perlu diubah instansi sampai platform memperbaikinya",
        "en": "could not be decided: the platform's own record {name} is broken, and the agency's record depends "
              "on it; there is nothing for the agency to change until the platform fixes it",
    },
    # -- mx ----------------------------------------------------------------------------
    "mx.ok": {"id": "MX menunjuk ke platform: {hosts}", "en": "MX points at the platform: {hosts}"},
    "mx.none": {
        "id": "tidak ada record MX: terbitkan {expected}",
        "en": "no MX record: publish {expected}",
    },
    "mx.null": {
        "id": "null MX (RFC 7505): domain ini menyatakan tidak menerima email; ganti dengan {expected}",
        "en": "null MX (RFC 7505): the domain says it accepts no mail; replace it with {expected}",
    },
    "mx.outside": {
        "id": "MX {hosts} bukan server platform: hapus, sisakan hanya {expected}",
        "en": "MX {hosts} is not a platform host: remove it and keep only {expected}",
    },
    "mx.partial": {
        "id": "MX hanya memuat sebagian server platform; tambahkan {missing} "
              "agar email tetap diterima saat satu server mati",
        "en": "MX lists only part of the platform's hosts; add {missing} so mail still arrives when one host is down",
    },
    # -- spf ---------------------------------------------------------------------------
    "spf.ok": {
        "id": "SPF mengizinkan server platform dan menolak alamat lain ({lookups} lookup DNS)",
        "en": "SPF allows the platform's servers and rejects other addresses ({lookups} DNS lookup{s})",
    },
    "spf.missing": {
        "id": "tidak ada record SPF (TXT v=spf1): terbitkan \"{expected}\"",
        "en": "no SPF record (TXT v=spf1): publish \"{expected}\"",
    },
    "spf.near_miss": {
        "id": "tidak ada record SPF yang diterima server penerima: record TXT yang tertera memuat v=spf1, tetapi "
              "record SPF harus diawali tepat dengan \"v=spf1\" dan spasi (tanpa tanda kutip, spasi, atau teks lain "
              "di depannya): terbitkan \"{expected}\"",
        "en": "no SPF record that receivers accept: the TXT record shown mentions v=spf1, but an SPF record must "
              "begin with exactly \"v=spf1\" and a space (no quotes, spaces or other text before it): "
              "publish \"{expected}\"",
    },
    "spf.multiple": {
        "id": "ada {count} record SPF; harus tepat satu (permerror): gabungkan menjadi \"{expected}\"",
        "en": "{count} SPF records; there must be exactly one (permerror): merge them into \"{expected}\"",
    },
    "spf.permerror": {
        "id": "SPF tidak valid (permerror: {detail}); terbitkan \"{expected}\"",
        "en": "the SPF record is invalid (permerror: {detail}); publish \"{expected}\"",
    },
    "spf.temperror": {
        "id": "tidak dapat diputuskan: evaluasi SPF gagal sementara ({detail})",
        "en": "could not be decided: SPF evaluation hit a temporary error ({detail})",
    },
    "spf.platform_denied": {
        "id": "SPF memberi hasil {result} untuk server platform {ip}: tambahkan include:{include}",
        "en": "SPF gives {result} for the platform's server {ip}: add include:{include}",
    },
    "spf.softfail": {
        "id": "SPF diakhiri ~all (softfail): alamat di luar platform hanya ditandai; gunakan -all",
        "en": "SPF ends in ~all (softfail): addresses outside the platform are only flagged; use -all",
    },
    "spf.outside_allowed": {
        "id": "SPF memberi hasil {result} untuk alamat di luar platform ({ip}): akhiri record dengan -all",
        "en": "SPF gives {result} for an address outside the platform ({ip}): end the record with -all",
    },
    # -- dkim --------------------------------------------------------------------------
    "dkim.ok": {
        "id": "kunci DKIM selector {selector} valid ({kind})",
        "en": "the DKIM key of selector {selector} is valid ({kind})",
    },
    "dkim.missing": {
        # agencies read this too (their mail and letter, which list the records), and have no mailprov to run
        "id": "tidak ada kunci DKIM di {name}: terbitkan kunci platform di nama itu sebagai record TXT, seperti "
              "pada daftar record DNS platform",
        "en": "no DKIM key at {name}: publish the platform's key there as a TXT record, as the platform's list of "
              "DNS records gives it",
    },
    "dkim.alias_empty": {
        "id": "{name} adalah alias (CNAME) dari {target}, yang tidak memuat record TXT",
        "en": "{name} is an alias (CNAME) of {target}, which holds no TXT record",
    },
    "dkim.multiple": {
        "id": "ada {count} record TXT di {name}; harus tepat satu kunci DKIM",
        "en": "{count} TXT records at {name}; there must be exactly one DKIM key",
    },
    # what made an SPF evaluation end in permerror or temperror, and what matched (RFC 7208)
    "spf.why.lookups": {"id": "lebih dari {max} term yang memerlukan kueri DNS (pada '{term}')",
                        "en": "more than {max} DNS-querying terms (at '{term}')"},
    "spf.why.voids": {"id": "lebih dari {max} lookup DNS tanpa hasil (void lookup)",
                      "en": "more than {max} void DNS lookups"},
    "spf.why.bad_char": {"id": "karakter tidak valid dalam '{text}'", "en": "invalid character in '{text}'"},
    "spf.why.not_macro": {"id": "'%{single}' bukan makro dalam '{text}'",
                          "en": "'%{single}' is not a macro in '{text}'"},
    "spf.why.macro_letter": {"id": "huruf makro '{letter}' tidak diizinkan dalam '{text}'",
                             "en": "macro letter '{letter}' not allowed in '{text}'"},
    "spf.why.bad_macro": {"id": "makro atau karakter tidak valid dalam '{text}'",
                          "en": "invalid macro or character in '{text}'"},
    "spf.why.empty_spec": {"id": "domain-spec kosong", "en": "empty domain-spec"},
    "spf.why.bad_tld": {"id": "'{spec}' tidak diakhiri label domain tingkat teratas yang valid",
                        "en": "'{spec}' does not end in a valid top-level label"},
    "spf.why.bad_cidr": {"id": "panjang CIDR '/{text}' tidak valid", "en": "invalid CIDR length '/{text}'"},
    "spf.why.unknown": {"id": "mekanisme '{text}' tidak dikenal", "en": "unknown mechanism '{text}'"},
    "spf.why.bad_all": {"id": "term 'all' tidak valid: '{text}'", "en": "invalid 'all' term '{text}'"},
    "spf.why.needs_address": {"id": "'{text}' memerlukan alamat", "en": "'{text}' needs an address"},
    "spf.why.bad_address": {"id": "alamat tidak valid dalam '{text}'", "en": "invalid address in '{text}'"},
    "spf.why.bad_term": {"id": "term '{text}' tidak valid", "en": "invalid term '{text}'"},
    "spf.why.needs_domain": {"id": "'{text}' memerlukan domain", "en": "'{text}' needs a domain"},
    "spf.why.not_ascii": {"id": "record bukan ASCII 7-bit", "en": "the record is not 7-bit ASCII"},
    "spf.why.modifier_twice": {"id": "redirect= atau exp= muncul lebih dari sekali",
                               "en": "redirect= or exp= appears more than once"},
    "spf.why.transformer_zero": {"id": "transformer makro 0", "en": "macro transformer 0"},
    "spf.why.dns": {"id": "DNS {what} untuk {name} {rdtype}", "en": "DNS {what} for {name} {rdtype}"},
    "spf.why.include_none": {"id": "include:{target} tidak memiliki record SPF",
                             "en": "include:{target} has no SPF record"},
    "spf.why.too_many_mx": {"id": "mx:{target} memiliki lebih dari {max} record MX",
                            "en": "mx:{target} has more than {max} MX records"},
    "spf.why.invalid_domain": {"id": "'{domain}' bukan nama domain yang valid",
                               "en": "'{domain}' is not a valid domain name"},
    "spf.why.no_domain": {"id": "{domain} tidak ada", "en": "{domain} does not exist"},
    "spf.why.dns_record": {"id": "DNS {what} saat mencari record SPF {domain}",
                           "en": "DNS {what} looking up the SPF record of {domain}"},
    "spf.why.no_record": {"id": "{domain} tidak memiliki record SPF", "en": "{domain} has no SPF record"},
    "spf.why.several": {"id": "{domain} memiliki {count} record SPF", "en": "{domain} has {count} SPF records"},
    "spf.why.redirect_none": {"id": "redirect={target} tidak memiliki record SPF",
                              "en": "redirect={target} has no SPF record"},
    "spf.why.matched": {"id": "'{term}' cocok di {domain}", "en": "'{term}' matched in {domain}"},
    "spf.why.no_match": {"id": "tidak ada term yang cocok di {domain} (bawaan: neutral)",
                         "en": "no term matched in {domain} (default neutral)"},
    "dkim.invalid": {
        "id": "record DKIM di {name} tidak valid: {detail}",
        "en": "the DKIM record at {name} is invalid: {detail}",
    },
    "dkim.why.v_first": {"id": "v=DKIM1 harus menjadi tag pertama", "en": "v=DKIM1 must be the first tag"},
    "dkim.why.key_type": {"id": "jenis kunci k={k} tidak dikenal", "en": "unknown key type k={k}"},
    "dkim.why.hash": {
        "id": "h={h} tidak memuat sha256, yang dipakai platform untuk menandatangani",
        "en": "h={h} leaves out sha256, which the platform signs with",
    },
    "dkim.why.service": {
        "id": "s={s} tidak memuat email (s=email atau s=*)",
        "en": "s={s} does not include email (s=email or s=*)",
    },
    "dkim.why.base64": {"id": "p= bukan base64 yang valid", "en": "p= is not valid base64"},
    "dkim.why.pem": {
        "id": "p= memuat baris PEM (-----BEGIN PUBLIC KEY-----); terbitkan hanya teks base64 di antaranya",
        "en": "p= holds the PEM lines (-----BEGIN PUBLIC KEY-----); publish only the base64 text between them",
    },
    "dkim.why.quotes": {
        "id": "record memuat tanda kutip (\"): teks dimasukkan beserta tanda kutip file zona; masukkan tanpa tanda "
              "kutip",
        "en": "the record holds quote characters (\"): its text was entered with a zone file's quotes; enter it "
              "without them",
    },
    "dkim.why.cut": {
        "id": "p= terpotong: hanya {have} dari {want} karakter base64 kunci; panel DNS yang menyimpan paling banyak "
              "255 karakter per record TXT melakukan ini: masukkan record sebagai beberapa string masing-masing paling "
              "banyak 255 karakter",
        "en": "p= is cut short: only {have} of the key's {want} base64 characters; a DNS panel that keeps at most 255 "
              "characters of a TXT record does this: enter the record as strings of at most 255 characters each",
    },
    "dkim.why.ed25519": {"id": "kunci ed25519 berukuran 32 byte, bukan {size}",
                         "en": "an ed25519 key is 32 bytes, not {size}"},
    "dkim.why.not_rsa": {"id": "p= tidak berisi kunci publik RSA", "en": "p= does not hold an RSA public key"},
    "dkim.revoked": {
        "id": "kunci DKIM di {name} dicabut (p= kosong): terbitkan kunci platform",
        "en": "the DKIM key at {name} is revoked (empty p=): publish the platform's key",
    },
    "dkim.weak": {
        "id": "kunci RSA DKIM hanya {bits} bit (minimal 1024): terbitkan kunci platform",
        "en": "the DKIM RSA key has only {bits} bits (at least 1024 required): publish the platform's key",
    },
    "dkim.short": {
        "id": "kunci RSA DKIM {bits} bit, kurang dari {minimum} bit yang disyaratkan platform",
        "en": "the DKIM RSA key has {bits} bits, fewer than the platform's {minimum}",
    },
    "dkim.mismatch": {
        "id": "kunci DKIM di {name} bukan kunci platform (key mismatch): terbitkan ulang kunci sesuai daftar "
              "record DNS platform",
        "en": "the DKIM key at {name} is not the platform's (key mismatch): publish the key again as the "
              "platform's list of DNS records gives it",
    },
    "dkim.testing": {
        "id": "kunci DKIM dalam mode uji (t=y): penerima boleh mengabaikan tanda tangan; hapus t=y",
        "en": "the DKIM key is in testing mode (t=y): receivers may ignore signatures; remove t=y",
    },
    # -- dmarc -------------------------------------------------------------------------
    "dmarc.ok": {
        "id": "DMARC p={policy}{inherited}",
        "en": "DMARC p={policy}{inherited}",
    },
    "dmarc.inherited": {"id": " (diwarisi dari {org})", "en": " (inherited from {org})"},
    "dmarc.missing": {
        "id": "tidak ada record DMARC di _dmarc.{domain}{org_note}: terbitkan \"{expected}\"",
        "en": "no DMARC record at _dmarc.{domain}{org_note}: publish \"{expected}\"",
    },
    "dmarc.near_miss": {
        "id": "tidak ada record DMARC yang diterima server penerima di _dmarc.{domain}{org_note}: record TXT yang "
              "tertera memuat DMARC1, tetapi record DMARC harus diawali tepat dengan \"v=DMARC1;\" (huruf kapital, "
              "lalu titik koma; tanpa tanda kutip di depannya): terbitkan \"{expected}\"",
        "en": "no DMARC record that receivers accept at _dmarc.{domain}{org_note}: the TXT record shown mentions "
              "DMARC1, but a DMARC record must begin with exactly \"v=DMARC1;\" (in capitals, then a semicolon; no "
              "quotes before it): publish \"{expected}\"",
    },
    "dmarc.own_ignored": {
        "id": "record TXT di _dmarc.{domain} yang tertera memuat DMARC1 tetapi diabaikan penerima, sehingga kebijakan "
              "organisasi yang berlaku; record DMARC harus diawali tepat dengan \"v=DMARC1;\"",
        "en": "the TXT record shown at _dmarc.{domain} mentions DMARC1 but receivers ignore it, so the "
              "organization's policy applies; a DMARC record must begin with exactly \"v=DMARC1;\"",
    },
    "dmarc.org_note": {"id": " maupun di _dmarc.{org}", "en": " nor at _dmarc.{org}"},
    "dmarc.multiple": {
        "id": "ada {count} record DMARC di {name}; harus tepat satu",
        "en": "{count} DMARC records at {name}; there must be exactly one",
    },
    "dmarc.invalid": {
        "id": "record DMARC di {name} tidak valid: {detail}",
        "en": "the DMARC record at {name} is invalid: {detail}",
    },
    "dmarc.why.policy": {"id": "{tag}={value} bukan none, quarantine, atau reject",
                         "en": "{tag}={value} is not none, quarantine or reject"},
    "dmarc.why.pct": {"id": "pct={pct} bukan angka 0 sampai 100", "en": "pct={pct} is not a number from 0 to 100"},
    "dmarc.weak_policy": {
        "id": "kebijakan DMARC p={policy} lebih lemah dari minimum platform p={minimum}{inherited}",
        "en": "DMARC policy p={policy} is weaker than the platform's minimum p={minimum}{inherited}",
    },
    "dmarc.pct": {
        "id": "pct={pct}: kebijakan hanya berlaku untuk {pct}% email; hapus pct atau jadikan 100",
        "en": "pct={pct}: the policy applies to {pct}% of mail only; remove pct or set it to 100",
    },
    "dmarc.weak_sp": {
        "id": "sp={sp} untuk subdomain lebih lemah dari minimum p={minimum}",
        "en": "sp={sp} for subdomains is weaker than the minimum p={minimum}",
    },
    "dmarc.rua_missing": {
        "id": "rua tidak memuat {rua}: laporan DMARC tidak sampai ke platform",
        "en": "rua does not include {rua}: DMARC reports do not reach the platform",
    },
    "dmarc.rua_no_scheme": {
        "id": "rua memuat {address} tanpa \"mailto:\", sehingga diabaikan penerima: tulis rua={rua}",
        "en": "rua lists {address} without \"mailto:\", so receivers ignore it: write rua={rua}",
    },
    "dmarc.platform_rua": {
        "id": "catatan untuk platform: {target} belum mengizinkan laporan untuk domain ini (tidak ada {name}); "
              "tidak ada yang perlu diubah instansi",
        "en": "a note for the platform: {target} does not authorise reports for this domain yet (no {name}); "
              "there is nothing for the agency to change",
    },
    "platform.rua": {
        "id": "domain laporan DMARC platform sendiri {target} tidak mengizinkan laporan untuk {count} domain "
              "instansi (terbitkan *._report._dmarc.{target} TXT \"v=DMARC1\")",
        "en": "the platform's own DMARC report domain {target} does not authorise reports for {count} agency "
              "domain(s) (publish *._report._dmarc.{target} TXT \"v=DMARC1\")",
    },
    "dmarc.rua_unauthorized": {
        "id": "tujuan laporan {target} belum mengizinkan laporan untuk {domain} (tidak ada {name})",
        "en": "report destination {target} has not authorised reports for {domain} (no {name})",
    },
    # -- extended ------------------------------------------------------------------------
    "mta-sts.ok": {"id": "MTA-STS mode={mode}, id={id}", "en": "MTA-STS mode={mode}, id={id}"},
    "mta-sts.missing": {
        "id": "tidak ada MTA-STS (_mta-sts TXT v=STSv1): TLS antar server email tidak diwajibkan",
        "en": "no MTA-STS (_mta-sts TXT v=STSv1): TLS between mail servers is not required",
    },
    "mta-sts.invalid": {
        "id": "record MTA-STS tidak valid: {detail}",
        "en": "the MTA-STS record is invalid: {detail}",
    },
    "mta-sts.policy": {
        "id": "kebijakan MTA-STS di {url} bermasalah: {detail}",
        "en": "the MTA-STS policy at {url} has a problem: {detail}",
    },
    "mta-sts.why.no_address": {"id": "{host} tidak memiliki alamat ({what})", "en": "{host} has no address ({what})"},
    "mta-sts.why.http": {"id": "jawaban HTTP '{status}'", "en": "HTTP answer '{status}'"},
    "mta-sts.why.content_type": {"id": "disajikan sebagai '{type}', bukan text/plain (pengirim boleh mengabaikannya)",
                                 "en": "served as '{type}', not text/plain (senders may ignore it)"},
    "mta-sts.why.no_content_type": {"id": "disajikan tanpa Content-Type text/plain (pengirim boleh mengabaikannya)",
                                    "en": "served without a Content-Type of text/plain (senders may ignore it)"},
    "mta-sts.why.too_long": {"id": "jawaban lebih dari {kib} KiB", "en": "the answer is longer than {kib} KiB"},
    "mta-sts.why.line": {"id": "baris '{line}' bukan kunci: nilai", "en": "line '{line}' is not key: value"},
    "mta-sts.why.id": {"id": "id= harus 1-32 huruf/angka", "en": "id= must be 1-32 letters/digits"},
    "mta-sts.why.version": {"id": "version: STSv1 tidak ada", "en": "version: STSv1 missing"},
    "mta-sts.why.mode": {"id": "mode '{mode}' bukan enforce, testing, atau none",
                         "en": "mode '{mode}' is not enforce, testing or none"},
    "mta-sts.why.max_age": {"id": "max_age '{max_age}' bukan jumlah detik hingga {most}",
                            "en": "max_age '{max_age}' is not a number of seconds up to {most}"},
    "mta-sts.why.no_max_age": {"id": "max_age: tidak ada", "en": "max_age: missing"},
    "mta-sts.why.mx": {"id": "baris mx: tidak mencakup {hosts}", "en": "mx: lines do not cover {hosts}"},
    "mta-sts.why.not_enforce": {"id": "mode {mode}, bukan enforce", "en": "mode is {mode}, not enforce"},
    "tls-rpt.ok": {"id": "TLS-RPT mengirim laporan ke {rua}", "en": "TLS-RPT sends reports to {rua}"},
    "tls-rpt.missing": {
        "id": "tidak ada TLS-RPT (_smtp._tls TXT v=TLSRPTv1): kegagalan TLS tidak dilaporkan",
        "en": "no TLS-RPT (_smtp._tls TXT v=TLSRPTv1): TLS failures are not reported",
    },
    "tls-rpt.invalid": {
        "id": "record TLS-RPT tidak valid: {detail}",
        "en": "the TLS-RPT record is invalid: {detail}",
    },
    "tls-rpt.why.rua": {"id": "rua= memerlukan URI mailto: atau https:", "en": "rua= needs mailto: or https: URIs"},
    "dnssec.ok": {
        "id": "zona {zone} ditandatangani dan jawabannya tervalidasi (DS dengan key tag {tags})",
        "en": "zone {zone} is signed and its answers validate (DS with key tag {tags})",
    },
    "dnssec.unsigned": {
        "id": "zona {zone} tidak ditandatangani (tidak ada DNSKEY): aktifkan DNSSEC",
        "en": "zone {zone} is not signed (no DNSKEY): enable DNSSEC",
    },
    "dnssec.bogus": {
        "id": "tanda tangan DNSSEC tidak valid: {what}: {detail}",
        "en": "DNSSEC signatures do not validate: {what}: {detail}",
    },
    "dnssec.why.no_rrsig": {"id": "tidak ada RRSIG", "en": "no RRSIG"},
    "dnssec.no_ds": {
        "id": "zona {zone} ditandatangani tetapi tidak ada DS yang cocok di zona induknya: rantai kepercayaan "
              "terputus",
        "en": "zone {zone} is signed but no matching DS is in its parent zone: the chain of trust is broken",
    },
}


@dataclass(frozen=True)
class Reason:
    """A reason a person can act on: a message key and its values, said in either language."""
    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "id") -> str:
        templates = MESSAGES[self.key]
        params = {k: (v.text(lang) if isinstance(v, Reason) else v) for k, v in self.params.items()}
        return templates.get(lang, templates["en"]).format(**params)


class ReasonError(Exception):
    """An error whose message is a ``Reason``, so it can be said in each language; ``str()`` is the English one."""

    def __init__(self, reason: Reason) -> None:
        super().__init__(reason.text("en"))
        self.reason = reason


def join(reasons: list[Reason], lang: str) -> str:
    return "; ".join(r.text(lang) for r in reasons)
