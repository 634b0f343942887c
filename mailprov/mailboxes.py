"""Mailbox life cycle on the directory: show, list, add, disable, enable, reset-password, set-quota."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from .addresses import AddressError, split_address
from .directory import Directory, Found
from .errors import EXIT_UNDECIDED, DirectoryError, LetterError, MailprovError, UsageError
from .files import writing
from .letters import MailboxLetter, MailboxLetterWriter
from .model import Agency, Config, Mailbox
from .passwords import SERVER_SCHEMES, client_hash, generate, value_in_add
from .plan import build_plan
from .profiles import Profile, values_of


class NotFoundError(MailprovError):
    """The mailbox asked for is not in the directory."""

    exit_code = 1


@dataclass(frozen=True)
class MailboxInfo:
    """A mailbox as the directory holds it, in the terms of the configuration."""
    address: str
    dn: str
    name: str
    title: str
    active: bool
    quota_mb: int | None
    aliases: list[str]
    employee_id: str
    #: ppolicy's lock after failed logins, which ``enable`` lifts (None: not locked that way)
    locked_since: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if self.locked_since is None:  # the shape DESIGN.md gives, for every mailbox not locked out
            del data["locked_since"]
        return data


def info(profile: Profile, found: Found) -> MailboxInfo:
    """A mailbox as the model sees it, read back from its entry through the profile."""
    amap = profile.mailbox_attributes
    entry = found.attributes
    quota = values_of(entry, amap.get("quota"))
    return MailboxInfo(
        address=(values_of(entry, amap.get("address", "mail")) or [""])[0].lower(),
        dn=found.dn,
        name=(values_of(entry, amap.get("name")) or [""])[0],
        title=(values_of(entry, amap.get("title")) or [""])[0],
        active=profile.is_active(entry),
        quota_mb=profile.quota_mb(quota[0]) if quota else None,
        aliases=sorted(v.lower() for v in values_of(entry, amap.get("aliases"))),
        employee_id=(values_of(entry, amap.get("employee_id")) or [""])[0],
        locked_since=profile.lockout_since(entry),
    )


def normalise(address: str) -> str:
    try:
        local, domain = split_address(address)
    except AddressError as exc:
        raise UsageError(str(exc)) from None
    return f"{local}@{domain}"


def find(directory: Directory, address: str) -> Found:
    found = directory.find_mailbox(normalise(address))
    if found is None:
        raise NotFoundError(f"no mailbox {normalise(address)} in the directory")
    return found


def agency_of(config: Config, address: str) -> Agency:
    domain = normalise(address).split("@", 1)[1]
    agency = config.agency_for_domain(domain)
    if agency is None:
        raise UsageError(f"{domain} is not the domain of any agency in {config.path}")
    return agency


def declared(config: Config, address: str) -> Mailbox | None:
    """The mailbox as the configuration declares it (None: the configuration does not list it).

    What ``apply`` will make the directory match again, whatever a ``mailbox``
    command changed in between.
    """
    local, domain = normalise(address).split("@", 1)
    agency = config.agency_for_domain(domain)
    return next((m for m in agency.mailboxes if m.local == local), None) if agency else None


@dataclass(frozen=True)
class StatusChange:
    """A mailbox after disable or enable, and whether anything was written."""
    mailbox: MailboxInfo
    #: False: the mailbox already was as asked, and nothing was written
    changed: bool


def set_active(directory: Directory, address: str, active: bool) -> StatusChange:
    """Enable or disable a mailbox; a second enable (or disable) writes nothing.

    Enabling also lifts a lockout ppolicy set after failed binds: the
    operator asked for a mailbox that can log in.
    """
    profile = directory.profile
    found = find(directory, address)
    wanted = profile.status_modification(active)
    if all(values_of(found.attributes, attr) == values for attr, values in wanted.items()):
        return StatusChange(info(profile, found), changed=False)
    directory.modify(found.dn, wanted)
    return StatusChange(info(profile, find(directory, address)), changed=True)


def refuse_without_quota(profile: Profile) -> None:
    """A quota change where ``profile`` keeps no quota: said before any bind, so nobody is asked for the bind
    password only to hear it."""
    if not profile.stores_quota:
        raise UsageError(f"profile {profile.name} does not store quotas")


def set_quota(directory: Directory, address: str, quota_mb: int) -> MailboxInfo:
    profile = directory.profile
    refuse_without_quota(profile)
    found = find(directory, address)
    directory.modify(found.dn, {profile.mailbox_attributes["quota"]: [profile.quota_value(quota_mb)]})
    return info(profile, find(directory, address))


def _mailbox_from_entry(profile: Profile, found: Found, agency: Agency) -> Mailbox:
    current = info(profile, found)
    local = current.address.split("@", 1)[0]
    return Mailbox(local=local, domain=agency.domain, name=current.name, title=current.title,
                   employee_id=current.employee_id, quota_mb=current.quota_mb or agency.quota_mb,
                   aliases=tuple(current.aliases), active=current.active)


def set_new_password(directory: Directory, dn: str, password: str, scheme: str) -> None:
    if scheme in SERVER_SCHEMES:  # server-add puts a password in adds only: a reset is Password Modify
        directory.set_password(dn, password)
    else:
        directory.replace_password_hash(dn, client_hash(scheme, password))


@dataclass(frozen=True)
class PasswordReset:
    """A new password set: the mailbox, the letter holding it, and whether it can log in."""
    address: str
    #: the letter that holds the new password
    letter: Path
    #: False: the mailbox stays disabled, so the new password logs no one in until it is enabled
    active: bool


def reset_password(directory: Directory, config: Config, address: str,
                   writer: MailboxLetterWriter) -> PasswordReset:
    """A new first password, written into the mailbox's letter before the directory takes it."""
    agency = agency_of(config, address)
    found = find(directory, address)
    mailbox = _mailbox_from_entry(directory.profile, found, agency)
    password = generate(config.directory.password_length)
    # the current letter may hold the password that stays valid if the directory refuses the new one
    # (a ppolicy quality check, say): it is set aside, and put back then
    current = writer.path(agency, mailbox)
    kept = current.with_name(current.name + ".previous")
    with writing(current):
        had_letter = current.exists()
        if had_letter:
            os.replace(current, kept)

    def put_back() -> None:
        """The new password was not set: the letter is as it was before."""
        if had_letter:
            os.replace(kept, current)
        else:
            writer.discard(agency, mailbox)
            writer.tidy()

    try:
        path = writer.write(MailboxLetter(agency, mailbox, password, reset=True))
        writer.sync()
    except LetterError:
        put_back()
        raise
    try:
        set_new_password(directory, found.dn, password, config.directory.password_scheme)
    except DirectoryError as exc:
        if exc.exit_code != 3:  # a definite refusal: the letter's password is not the account's
            put_back()
        raise  # undecided (the server went away): both letters stay, the new one and LOCAL.md.previous
    kept.unlink(missing_ok=True)
    _keep_disabled(directory, found.dn, mailbox)
    return PasswordReset(mailbox.address, path, mailbox.active)


def _keep_disabled(directory: Directory, dn: str, mailbox: Mailbox) -> None:
    """ppolicy lifts its lock when a password is set: a disabled mailbox is locked again."""
    if not mailbox.active and directory.profile.status_attribute is None:
        directory.modify(dn, directory.profile.status_modification(False))


def requested(config: Config, address: str, name: str | None = None, title: str | None = None,
              employee_id: str | None = None, quota_mb: int | None = None) -> tuple[Mailbox, Mailbox | None]:
    """The mailbox ``mailbox add`` creates, and the configuration's (None: it does not list the address).

    A listed address is created as the file says, each value given here
    taking its place; an address the file does not list needs a name.
    """
    agency = agency_of(config, address)
    local, domain = normalise(address).split("@", 1)
    listed = declared(config, address)
    if listed is not None:
        return replace(listed, name=name or listed.name, title=listed.title if title is None else title,
                       employee_id=listed.employee_id if employee_id is None else employee_id,
                       quota_mb=quota_mb or listed.quota_mb), listed
    if name is None:
        raise UsageError(f"--name is needed: {config.path} does not list {local}@{domain}")
    return Mailbox(local=local, domain=domain, name=name, title=title or "", employee_id=employee_id or "",
                   quota_mb=quota_mb or agency.quota_mb), None


def add(directory: Directory, config: Config, mailbox: Mailbox, writer: MailboxLetterWriter,
        warn: Callable[[str], None] | None = None) -> Path:
    """Create one mailbox (and its domain entry if missing) now, without a whole apply; ``warn`` is told of an
    alias left out because an entry outside the domain carries it."""
    agency = agency_of(config, mailbox.address)
    found = directory.find_mailbox(mailbox.address)
    if found is not None:
        owner = info(directory.profile, found).address
        # the entry named: it may be another tool's, outside the domain's subtree
        raise UsageError(f"{mailbox.address} already exists: {found.dn}" if owner == mailbox.address
                         else f"{mailbox.address} already exists, as an alias of {owner or found.dn}")
    profile = directory.profile
    base = config.directory.base_dn
    single = replace(agency, mailboxes=(mailbox,))
    snapshot = directory.snapshot([single], whole=False)
    plan = build_plan([single], snapshot, profile, base)
    created = next((c for c in plan.changes if c.kind == "mailbox" and c.action == "create"), None)
    if created is None:  # what the plan held back says why
        raise UsageError(next((h.note for h in plan.held_back if h.alias is None), f"{mailbox.address} cannot be "
                                                                                   "created"))
    for held in plan.held_back:
        if warn is not None and held.alias is not None:
            warn(held.note)
    if created.mailbox is not None:  # the letter names only the aliases the entry gets
        mailbox = created.mailbox
    password = generate(config.directory.password_length)
    scheme = config.directory.password_scheme
    if scheme == "server-add":
        from .serverhash import check_server_hashes

        check_server_hashes(directory.pipeline(), base, generate(config.directory.password_length))
    path: Path | None = None
    try:
        for change in plan.changes:
            if change.action != "create":
                continue
            attrs = dict(change.attributes)
            if change.kind == "mailbox":
                path = writer.write(MailboxLetter(agency, mailbox, password))
                writer.sync()
                value = value_in_add(scheme, password)
                if value is not None:
                    attrs["userPassword"] = [value]
            directory.add(change.dn, attrs)
        if scheme == "server":
            dn = profile.mailbox_dn(base, mailbox, agency.name)
            try:
                set_new_password(directory, dn, password, "server")
            except DirectoryError as exc:
                if exc.exit_code == EXIT_UNDECIDED:
                    raise
                # the entry is there now: a second add would say only that it exists
                raise DirectoryError(f"{mailbox.address} was created without a password: {exc}; once that is "
                                     f"fixed, 'mailprov mailbox reset-password {mailbox.address}' gives it one"
                                     ) from exc
            # the entry was created locked; the password just set lifted that
            _keep_disabled(directory, dn, mailbox)
    except DirectoryError as exc:
        # a definite refusal means the letter's password is not the account's;
        # after a lost connection the password may have been set, so it stays
        if path is not None and exc.exit_code != 3:
            writer.discard(agency, mailbox)
            writer.tidy()
        raise
    assert path is not None
    return path
