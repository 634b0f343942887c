"""Notification mails of the nightly run: a summary to the platform admins, a letter to each agency
whose domain is newly failing. Each reader is written to only when something changed since the last mail that
reached it."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from .checks.messages import STATUS_WORDS
from .checks.result import FAIL, PASS, CheckReport, DomainResult
from .errors import MailprovError
from .files import unusable_ca_file
from .history import ADMINS, Changes, Owed
from .letters import local_time
from .model import Config, Notify
from .records import zone_text
from .report import domain_count


class NotifyError(MailprovError):
    """The notification cannot be sent as configured."""


@dataclass(frozen=True)
class Mail:
    """One notification mail, and whom it tells."""
    to: tuple[str, ...]
    subject: str
    body: str
    #: who is told: ``ADMINS``, or the domain whose agency the mail is for
    reader: str = ADMINS
    #: the agency's id, for messages about an agency's mail
    agency: str = ""


@dataclass
class Delivery:
    """What became of a night's mails."""

    relay: str
    sent: list[Mail] = field(default_factory=list)
    #: not delivered, with the reason (relay down, a 4xx, the admins' address refused): owed to the next run
    undelivered: list[tuple[Mail, str]] = field(default_factory=list)
    #: an agency's mail whose recipient the relay refused for good (5xx at RCPT): reported, and owed only
    #: once the agency's contact address is another (the same one would be refused every night)
    refused: list[tuple[Mail, str]] = field(default_factory=list)
    #: a mail to several addresses (the admins') that went out with some of them refused: sent, and reported
    missed: list[tuple[Mail, str]] = field(default_factory=list)

    @property
    def refused_addresses(self) -> dict[str, str]:
        """domain -> the agency address refused for good."""
        return {mail.reader: mail.to[0] for mail, _ in self.refused}

    def warnings(self) -> list[str]:
        """One line per mail that did not reach its reader; one line when none did, for the same reason."""
        reasons = {reason for _, reason in self.undelivered}
        if self.undelivered and not self.sent and not self.refused and len(reasons) == 1:
            return [f"notification not sent through {self.relay}: {reasons.pop()} "
                    "(the next run with --notify sends what changed again)"]
        lines = [f"the mail to {_reader(mail)} was not sent through {self.relay}: {reason} (the next run with "
                 "--notify sends it again)" for mail, reason in self.undelivered]
        lines += [f"the mail to {_reader(mail)} was refused: {reason}; correct its contact.email (the next run "
                  "with --notify sends it to the corrected address)" for mail, reason in self.refused]
        return lines + [f"the mail to {_reader(mail)} went out, but the relay refused {reason}; correct notify.to"
                        for mail, reason in self.missed]


def _reader(mail: Mail) -> str:
    who = "the admins" if mail.reader == ADMINS else f"agency {mail.agency}"
    return f"{who} ({', '.join(mail.to)})"


def _problems(domain: DomainResult, lang: str) -> list[str]:
    from .report import terminal_text  # reasons quote published records: no control character into a mail

    return [f"  - {c.label}: {STATUS_WORDS[lang][c.status]}: "
            f"{terminal_text(c.reason(lang))}" for c in domain.to_fix()]


def admin_mail(report: CheckReport, changes: Changes, config: Config, lang: str,
               held: Mapping[str, str] | None = None, platform_told: Mapping[str, str] | None = None) -> Mail:
    """The admins' summary; ``held``: domain -> its agency's contact address the relay refused for good
    (listed, as only the admins can correct it); ``platform_told``: the platform's broken records as the
    admins were last told them (English -> Indonesian), so a mended one is said to be."""
    notify = config.notify
    assert notify is not None
    words = STATUS_WORDS[lang]
    by_domain = {d.domain: d for d in report.domains}
    summary = report.summary
    # in the platform's time zone, as the report and the letters show times (09.00 WIB, not 02:00 UTC)
    checked = local_time(report.generated_at, config.letters.timezone, lang)
    if lang == "id":
        subject = (f"[mailprov] DNS: {len(changes.newly_failing)} baru gagal, {len(changes.fixed)} pulih "
                   f"({summary['fail']} gagal dari {summary['domains']} domain)")
        lines = [f"Pemeriksaan DNS {config.platform.name}, {checked}.", "",
                 f"{summary['domains']} domain: {summary['pass']} lulus, {summary['warn']} peringatan, "
                 f"{summary['fail']} gagal, {summary['error']} tak terputuskan.", "", "Perubahan:"]
    else:
        subject = (f"[mailprov] DNS: {len(changes.newly_failing)} newly failing, {len(changes.fixed)} fixed "
                   f"({summary['fail']} of {domain_count(summary['domains'])} failing)")
        lines = [f"DNS check of {config.platform.name}, {checked}.", "",
                 f"{domain_count(summary['domains'])}: {summary['pass']} pass, {summary['warn']} warn, "
                 f"{summary['fail']} fail, {summary['error']} undecided.", "", "Changes:"]
    if report.platform_problems:  # the one thing in the mail that is the admins' own to fix
        broken = len(report.platform_problems)
        subject += f"; {broken} record platform rusak" if lang == "id" else f"; {broken} platform record(s) broken"
    # a domain checked for the first time that passes is news in number only: the first run of hundreds of
    # compliant agencies would otherwise be a line each
    first_pass = 0
    for name, (before, now) in sorted(changes.changed.items()):
        if before is None and now == PASS:
            first_pass += 1
            continue
        domain = by_domain[name]
        lines.append(f"* {name} ({domain.agency or '-'}): {words[before] if before else '-'} -> {words[now]}")
        lines += _problems(domain, lang)
    if first_pass:
        lines.append(f"* {first_pass} domain diperiksa untuk pertama kali dan lulus." if lang == "id" else
                     f"* {first_pass} domain(s) checked for the first time, passing.")
    if not changes.any:  # mailed for the platform's own records alone
        lines.append("* tidak ada perubahan status domain" if lang == "id" else "* no domain changed status")
    lines += _platform_lines(report, platform_told or {}, lang)
    if held:
        lines += ["", "Alamat kontak instansi yang ditolak server surat; surat untuknya ditahan sampai contact.email "
                      "diperbaiki:" if lang == "id" else "Agency contact addresses the mail relay refused; their mail "
                      "is held until contact.email is corrected:"]
        for name, address in sorted(held.items()):
            agency = config.agency_for_domain(name)
            lines.append(f"* {name} ({agency.id if agency else '-'}): {address}")
    return Mail(tuple(notify.to), subject, "\n".join(lines) + "\n")


def _platform_lines(report: CheckReport, told: Mapping[str, str], lang: str) -> list[str]:
    """The platform's own broken records, first of all the admins' to fix, and those mended since."""
    broken = report.platform_problems
    mended = [(en, indonesian) for en, indonesian in told.items()
              if en not in {r.text("en") for r in broken}]
    lines: list[str] = []
    if broken:
        lines += ["", "Record platform sendiri yang rusak (tugas platform; pemeriksaan instansi tidak digagalkan "
                      "karenanya, dan instansi tidak disurati):" if lang == "id" else
                  "The platform's own records are broken (the platform's to fix; the agency checks are not failed "
                  "for them, and no agency is mailed about them):"]
        lines += [f"* {r.text(lang)}" for r in broken]
    if mended:
        lines += ["", "Record platform sendiri yang sudah pulih:" if lang == "id" else
                  "The platform's own records mended since the last mail:"]
        lines += [f"* {indonesian if lang == 'id' else en}" for en, indonesian in mended]
    return lines


def agency_mail(domain: DomainResult, config: Config, lang: str) -> Mail | None:
    agency = config.agency_for_domain(domain.domain)
    if agency is None or not agency.contact.email:
        return None
    lang = agency.language or lang
    platform = config.platform.name
    if lang == "id":
        subject = f"[{platform}] Konfigurasi DNS {domain.domain} perlu diperbaiki"
        lines = [f"Yth. {agency.contact.name or agency.name},", "",
                 f"Pemeriksaan harian {platform} menemukan masalah pada DNS domain {domain.domain}:", ""]
        lines += _problems(domain, lang)
        lines += ["", "Record yang harus diterbitkan di DNS domain tersebut:", "", zone_text(config.platform,
                                                                                            domain.domain, "id"),
                  "Terima kasih.", platform]
    else:
        subject = f"[{platform}] The DNS of {domain.domain} needs fixing"
        lines = [f"Dear {agency.contact.name or agency.name},", "",
                 f"The daily check of {platform} found problems in the DNS of {domain.domain}:", ""]
        lines += _problems(domain, lang)
        lines += ["", "The records the domain must publish:", "", zone_text(config.platform, domain.domain, "en"),
                  "Thank you.", platform]
    return Mail((agency.contact.email,), subject, "\n".join(lines) + "\n", domain.domain, agency.id)


def compose(report: CheckReport, owed: Owed, config: Config, lang: str) -> list[Mail]:
    """Every mail this run owes: the admins' summary when a domain changed since their last mail, a letter
    to each agency whose domain is failing and got worse since its last mail; none when nothing changed.

    A domain that only warns is in the admins' summary but mails no agency: DESIGN.md mails "each failing
    agency's contact", and hundreds of agencies mailed about pct=50 or a short key would learn to ignore
    the mail that matters.
    """
    if config.notify is None:
        return []
    held = owed.refused if config.notify.agency_contacts else {}  # no agency mail held when none is sent
    news = owed.admins.any or owed.platform_news(report)
    mails = [admin_mail(report, owed.admins, config, lang, held, owed.platform_told)] if news else []
    if config.notify.agency_contacts:
        for domain in report.domains:
            if domain.status == FAIL and owed.agencies.got_worse(domain.domain):
                mail = agency_mail(domain, config, lang)
                if mail is not None:
                    mails.append(mail)
    return mails


def send(mails: list[Mail], config: Config, env: Mapping[str, str], timeout: float = 30.0,
         reached: Callable[[Mail], None] | None = None) -> Delivery:
    """Send ``mails`` in one SMTP session and say what became of each; ``reached`` is called as each goes out.

    A mail the relay refuses does not stop the others; a session that breaks
    (relay down, dropped, AUTH refused) leaves every mail not yet sent
    undelivered.
    """
    notify = config.notify
    assert notify is not None
    delivery = Delivery(f"{notify.smtp_host}:{notify.smtp_port}")
    done, reason = 0, ""  # mails accounted for; why the last one did not go out
    smtp: smtplib.SMTP | None = None
    try:
        if notify.implicit_tls:
            smtp = smtplib.SMTP_SSL(notify.smtp_host, notify.smtp_port, timeout=timeout, context=_tls(notify))
        else:
            smtp = smtplib.SMTP(notify.smtp_host, notify.smtp_port, timeout=timeout)
            if notify.starttls:
                smtp.starttls(context=_tls(notify))
        if notify.username:
            password = env.get(notify.password_env or "", "")
            if not password:
                raise NotifyError(f"notify.username is set but ${notify.password_env} is empty")
            smtp.login(notify.username, password)
        for mail in mails:
            reason = _send_one(smtp, mail, notify.sender, delivery, reached)
            done += 1
            if smtp.sock is None:  # a 421: the relay hung up, and the rest waits for the next run
                break
        else:
            smtp.quit()
    except (OSError, smtplib.SMTPException, NotifyError) as exc:
        if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code == -1:
            # smtplib's code for an answer without a reply code: an HTTP proxy, an SSH server on this port
            reason = "the answer is not SMTP (another service on this port?)"
        elif isinstance(exc, smtplib.SMTPResponseException):  # the server's own words, not a tuple's repr
            reason = _server_words(exc.smtp_code, exc.smtp_error)
        elif isinstance(exc, ssl.SSLCertVerificationError) and not notify.ca_file:
            reason = f"{exc}; if a CA of your own signed the relay's certificate, name it in notify.ca_file"
        else:
            reason = str(exc)
    finally:
        # no QUIT after an error or a signal: it waits for the relay's answer to what was in flight (smtplib's
        # own context manager did, and turned a SIGTERM into "250 OK" raised as an SMTP error)
        if smtp is not None:
            smtp.close()
    delivery.undelivered += [(mail, reason) for mail in mails[done:]]
    return delivery


def _tls(notify: Notify) -> ssl.SSLContext:
    """Certificate and host name verified, against ``notify.ca_file`` when one is named."""
    why = unusable_ca_file(notify.ca_file) if notify.ca_file else None
    if why:
        raise NotifyError(f"notify.ca_file {notify.ca_file} {why}")
    return ssl.create_default_context(cafile=notify.ca_file)


def _send_one(smtp: smtplib.SMTP, mail: Mail, sender: str, delivery: Delivery,
              reached: Callable[[Mail], None] | None) -> str:
    """Send one mail in the session and file it in ``delivery``; why it did not go out ("" when it did)."""
    try:
        # the addresses refused when others were taken (smtplib raises only when all are refused)
        missed = smtp.send_message(_message(mail, sender))
    except smtplib.SMTPRecipientsRefused as exc:
        answers = list(exc.recipients.values())
        reason = "; ".join(_server_words(code, text) for code, text in answers)
        # a mistyped or removed contact address would be refused every night
        lasting = mail.reader != ADMINS and all(code >= 500 for code, _ in answers)
        (delivery.refused if lasting else delivery.undelivered).append((mail, reason))
        return reason
    except smtplib.SMTPDataError as exc:
        reason = _server_words(exc.smtp_code, exc.smtp_error)
        delivery.undelivered.append((mail, reason))
        return reason
    delivery.sent.append(mail)
    if reached is not None:
        reached(mail)
    if missed:
        delivery.missed.append((mail, "; ".join(f"{address} ({_server_words(code, text)})"
                                                for address, (code, text) in missed.items())))
    return ""


def _message(mail: Mail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(mail.to)
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body)
    return message


def _server_words(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
