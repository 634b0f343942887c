"""Notification mails of the nightly run: a summary to the platform admins, a letter to each agency
whose status got worse. Sent only when something changed since the last mail that went out."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from .checks.messages import STATUS_WORDS
from .checks.result import PASS, CheckReport, DomainResult
from .errors import MailprovError
from .history import Changes
from .letters import local_time
from .model import Config
from .records import zone_text


class NotifyError(MailprovError):
    """The SMTP server did not take the notification."""


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...]
    subject: str
    body: str
    #: the agency the mail is for; None for the admins' summary
    agency: str | None = None


@dataclass(frozen=True)
class Refused:
    """An agency's mail the SMTP server refused for good (5xx for its recipient): sending it again the next
    night would be refused again, so it is reported instead of owed."""

    mail: Mail
    reason: str

    def __str__(self) -> str:
        return (f"the mail to agency {self.mail.agency} ({', '.join(self.mail.to)}) was refused: {self.reason}; "
                "correct its contact.email (the mail is not sent again)")


def _problems(domain: DomainResult, lang: str) -> list[str]:
    from .report import terminal_text  # reasons quote published records: no control character into a mail

    return [f"  - {c.check}{'/' + c.selector if c.selector else ''}: {STATUS_WORDS[lang][c.status]}: "
            f"{terminal_text(c.reason(lang))}" for c in domain.checks if c.status != "pass"]


def admin_mail(report: CheckReport, changes: Changes, config: Config, lang: str) -> Mail:
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
                   f"({summary['fail']} of {summary['domains']} domains failing)")
        lines = [f"DNS check of {config.platform.name}, {checked}.", "",
                 f"{summary['domains']} domains: {summary['pass']} pass, {summary['warn']} warn, "
                 f"{summary['fail']} fail, {summary['error']} undecided.", "", "Changes:"]
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
    return Mail(tuple(notify.to), subject, "\n".join(lines) + "\n")


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
                                                                                            domain.domain),
                  "Terima kasih.", platform]
    else:
        subject = f"[{platform}] The DNS of {domain.domain} needs fixing"
        lines = [f"Dear {agency.contact.name or agency.name},", "",
                 f"The daily check of {platform} found problems in the DNS of {domain.domain}:", ""]
        lines += _problems(domain, lang)
        lines += ["", "The records the domain must publish:", "", zone_text(config.platform, domain.domain),
                  "Thank you.", platform]
    return Mail((agency.contact.email,), subject, "\n".join(lines) + "\n", agency.id)


def compose(report: CheckReport, changes: Changes, config: Config, lang: str) -> list[Mail]:
    """Every mail this run owes; none when nothing changed."""
    if config.notify is None or not changes.any:
        return []
    mails = [admin_mail(report, changes, config, lang)]
    if config.notify.agency_contacts:
        for domain in report.domains:
            if changes.got_worse(domain.domain):
                mail = agency_mail(domain, config, lang)
                if mail is not None:
                    mails.append(mail)
    return mails


def send(mails: list[Mail], config: Config, env: Mapping[str, str], timeout: float = 30.0) -> list[Refused]:
    """Send ``mails`` in one SMTP session; the agencies' mails whose recipient was refused for good.

    Anything else that stops a mail (the server unreachable, AUTH, a 4xx, the admins' own address
    refused) stops the session and raises ``NotifyError``: the run stays unannounced and the next
    one sends what it owes again.
    """
    notify = config.notify
    if notify is None or not mails:
        return []
    refused: list[Refused] = []
    try:
        with smtplib.SMTP(notify.smtp_host, notify.smtp_port, timeout=timeout) as smtp:
            if notify.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if notify.username:
                password = env.get(notify.password_env or "", "")
                if not password:
                    raise NotifyError(f"notify.username is set but ${notify.password_env} is empty")
                smtp.login(notify.username, password)
            for mail in mails:
                try:
                    smtp.send_message(_message(mail, notify.sender))
                except smtplib.SMTPRecipientsRefused as exc:
                    # a mistyped or removed contact address: every night would fail on it, and with it
                    # every other mail of the night (smtplib has reset the transaction: the session goes on)
                    answers = list(exc.recipients.values())
                    if mail.agency is None or not all(code >= 500 for code, _ in answers):
                        raise
                    refused.append(Refused(mail, "; ".join(_server_words(code, text) for code, text in answers)))
    except (OSError, smtplib.SMTPException) as exc:
        if isinstance(exc, smtplib.SMTPResponseException):  # the server's own words, not a tuple's repr
            reason = _server_words(exc.smtp_code, exc.smtp_error)
        elif isinstance(exc, smtplib.SMTPRecipientsRefused):
            reason = "; ".join(_server_words(code, text) for code, text in exc.recipients.values())
        else:
            reason = str(exc)
        raise NotifyError(f"notification not sent through {notify.smtp_host}:{notify.smtp_port}: {reason}") from None
    return refused


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
