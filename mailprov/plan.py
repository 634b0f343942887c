"""The plan: what ``apply`` would change in the directory, as one object.

``build_plan`` is a pure function of the configuration, the profile and a
snapshot of the directory, so every rule of the diff is unit-tested without
a server. The plan is ordered so that parents exist before children and
children are deleted before parents; ``plan`` and ``apply`` render it with
the same renderers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .errors import PasswordsUnreadable
from .ldapnames import parent_dn, same_dn
from .model import Agency, Mailbox
from .profiles import PASSWORD_CHANGED, Profile, values_of

#: the answer to a Compare of ``userPassword`` that says the entry has none
NO_PASSWORD = "noSuchAttribute"

ACTIONS = ("create", "modify", "disable", "enable", "delete")

#: apply deletes at most this share of the mailboxes it found (and any number up to PRUNE_FLOOR) without --force
PRUNE_SHARE = 0.3
PRUNE_FLOOR = 10

# execution phases: parents are created before children, deleted after them
PHASES = {
    ("create", "domain"): 0, ("create", "container"): 1, ("create", "mailbox"): 2,
    ("modify", "domain"): 3, ("modify", "mailbox"): 3, ("disable", "mailbox"): 3, ("enable", "mailbox"): 3,
    ("delete", "mailbox"): 4, ("delete", "container"): 5, ("delete", "domain"): 6,
}


@dataclass(frozen=True)
class AttrChange:
    """An attribute's values before and after."""
    old: list[str]
    new: list[str]
    #: old and new as a person reads them, where the directory's form is not that (a quota in bytes)
    shown: tuple[list[str], list[str]] | None = None


@dataclass
class Change:
    """One change of a plan: create, modify or delete an entry."""
    action: str
    kind: str  # domain | container | mailbox
    dn: str
    agency: str
    address: str | None = None
    #: full attributes for a create; old/new per attribute otherwise
    attributes: dict[str, list[str]] = field(default_factory=dict)
    modifications: dict[str, AttrChange] = field(default_factory=dict)
    #: a first password is generated and set (creates, and entries found without one)
    set_password: bool = False
    mailbox: Mailbox | None = None
    agency_name: str = ""
    #: the mail domain of a domain or container entry
    domain: str = ""
    #: where a mailbox entry moves when the value that names it changed (a profile whose RDN is ``cn``, and a
    #: new name): renamed after its other changes
    new_dn: str | None = None

    @property
    def phase(self) -> int:
        return PHASES[(self.action, self.kind)]

    @property
    def label(self) -> str:
        """How tables name the entry: a mailbox by its address, a domain (or its container) by the domain, as
        the unmanaged list does; a DN of 60 characters folded mid-RDN at any width (JSON keeps every DN)."""
        return self.address or self.domain or self.dn

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"action": self.action, "kind": self.kind}
        if self.address:
            data["address"] = self.address
        data["dn"] = self.dn
        data["agency"] = self.agency
        if self.action == "create":
            data["attributes"] = {k: list(v) for k, v in self.attributes.items()}
        elif self.modifications:
            data["attributes"] = {k: {"old": c.old, "new": c.new} for k, c in self.modifications.items()}
        if self.new_dn:
            data["new_dn"] = self.new_dn
        if self.set_password:
            # never the value: only that one will be generated and set
            data["password"] = "generated"
        return data


@dataclass(frozen=True)
class HeldBack:
    """A mailbox (``alias`` None) or one of its aliases that the configuration asks for and the plan leaves out
    until the directory changes (another entry carries the address); ``note`` says why and what to do."""
    address: str
    alias: str | None
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {"address": self.address, "alias": self.alias, "reason": self.note}


@dataclass
class Plan:
    """The ordered changes that bring the directory to the configuration, and what it leaves alone."""
    changes: list[Change]
    unchanged: int = 0
    #: entries in the directory that the configuration does not list (deleted only with --prune)
    unmanaged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: what the configuration asks for and the plan leaves out (each also among the notes): apply cannot reach
    #: the configuration until someone changes the directory, and says so in its exit status
    held_back: list[HeldBack] = field(default_factory=list)
    #: mailbox entries the plan found in the directory
    found_mailboxes: int = 0

    @property
    def mass_deletion(self) -> str | None:
        """Why apply should not carry out this plan's deletions without ``--force`` (None: it may).

        A truncated staff CSV, or the wrong file given with ``-c``, plans most
        mailboxes for deletion under ``--prune``; octoDNS guards its deletes
        with a share threshold for the same reason.
        """
        deletes = sum(1 for c in self.changes if c.action == "delete" and c.kind == "mailbox")
        if deletes > PRUNE_FLOOR and deletes > PRUNE_SHARE * self.found_mailboxes:
            return (f"{deletes} of the {self.found_mailboxes} mailboxes in the directory would be deleted (more than "
                    f"{PRUNE_SHARE:.0%}): a truncated CSV or the wrong configuration file looks like this")
        return None

    @property
    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(ACTIONS, 0)
        for change in self.changes:
            counts[change.action] += 1
        return {**counts, "unchanged": self.unchanged, "unmanaged": len(self.unmanaged)}

    @property
    def empty(self) -> bool:
        return not self.changes

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "changes": [c.to_dict() for c in self.changes],
            "unmanaged": list(self.unmanaged),
            "notes": list(self.notes),
            "held_back": [held.to_dict() for held in self.held_back],
        }


#: a directory entry as plan reads it: (dn, attributes)
FoundEntry = tuple[str, dict[str, list[str]]]


@dataclass
class DomainState:
    """What the directory holds for one domain."""

    domain: str
    entry: dict[str, list[str]] | None = None
    container: bool = False
    #: address (lower-case) -> (dn, attributes)
    mailboxes: dict[str, FoundEntry] = field(default_factory=dict)
    #: addresses two or more entries carry (another tool's leftover): every one of them, as found
    duplicates: dict[str, list[FoundEntry]] = field(default_factory=dict)
    #: set by ``Directory.snapshot`` when no mailbox of the domain shows a ``userPassword``: the result
    #: name of a Compare of one mailbox's ``userPassword``; only ``noSuchAttribute`` says none was set
    password_compare: str | None = None

    def add_mailbox(self, address: str, dn: str, entry: dict[str, list[str]]) -> None:
        if address in self.mailboxes:
            self.duplicates.setdefault(address, [self.mailboxes[address]]).append((dn, entry))
        else:
            self.mailboxes[address] = (dn, entry)

    def carriers(self, address: str) -> list[FoundEntry]:
        """Every entry that carries ``address``."""
        return self.duplicates.get(address) or ([self.mailboxes[address]] if address in self.mailboxes else [])

    @property
    def mailbox_entries(self) -> int:
        """Mailbox entries found, those that carry an address another entry carries too included."""
        return len(self.mailboxes) + sum(len(carriers) - 1 for carriers in self.duplicates.values())

    @property
    def shows_a_password(self) -> bool:
        """Whether the bind DN sees a ``userPassword`` on any mailbox: then it may read them all here."""
        return any(values_of(entry, "userPassword") for _dn, entry in self.mailboxes.values())


@dataclass
class Snapshot:
    """The part of the directory a plan compares the configuration with."""
    domains: dict[str, DomainState] = field(default_factory=dict)
    #: domain entries under the base DN whose domain the configuration does not list
    other_domains: dict[str, str] = field(default_factory=dict)
    #: entries under the base DN of the domain entries' class whose names are not domain names (an
    #: ``ou=groups`` beside the domains, or a base DN set one level too high): never planned, only named
    not_domains: list[str] = field(default_factory=list)
    #: addresses of new mailboxes (and their aliases) that a mailbox entry outside every domain read carries,
    #: with its DN: set by ``Directory.snapshot`` when it did not read the whole base
    elsewhere: dict[str, str] = field(default_factory=dict)

    def state(self, domain: str) -> DomainState:
        return self.domains.get(domain) or DomainState(domain)


def new_addresses(agencies: Iterable[Agency], snapshot: Snapshot, profile: Profile) -> dict[str, str]:
    """The addresses the configuration gives that no entry of their domain carries for their mailbox yet -> that
    domain: those of mailboxes the domain does not hold, and the aliases (where the profile stores them) a held
    mailbox's entry lacks."""
    alias_attr = profile.mailbox_attributes.get("aliases")
    new: dict[str, str] = {}
    for agency in agencies:
        held = snapshot.state(agency.domain).mailboxes
        for mailbox in agency.mailboxes:
            found = held.get(mailbox.address)
            aliases = mailbox.aliases if alias_attr else ()
            if found is None:
                new.update(dict.fromkeys((mailbox.address, *aliases), agency.domain))
            elif aliases:
                has = {value.lower() for value in values_of(found[1], alias_attr)}
                new.update(dict.fromkeys((alias for alias in aliases if alias not in has), agency.domain))
    return new


def carried_elsewhere(agencies: Iterable[Agency], snapshot: Snapshot, profile: Profile) -> dict[str, str]:
    """The new addresses (``new_addresses``) that a mailbox entry outside their own domain carries -> its DN.

    A legacy account in an ``ou=people``, or an entry filed under another
    domain: a mailbox created for such an address would be a second entry
    carrying it, and two break the mail system's lookups. Entries under the
    domains read are in the snapshot; the rest the directory searched for.
    """
    new = new_addresses(agencies, snapshot, profile)
    carried = {address: dn for address, dn in snapshot.elsewhere.items() if address in new}
    if not new:
        return carried
    alias_attr = profile.mailbox_attributes.get("aliases")
    for state in snapshot.domains.values():
        for address, carriers in ((a, state.carriers(a)) for a in state.mailboxes):
            for dn, entry in carriers:
                values = [address, *(v.lower() for v in values_of(entry, alias_attr))]
                for value in values:
                    if new.get(value, state.domain) != state.domain:
                        carried.setdefault(value, dn)
    return carried


# -- diffing ---------------------------------------------------------------------


def _same(old: list[str], new: list[str], multi: bool) -> bool:
    return sorted(old) == sorted(new) if multi else old == new


def diff_attributes(desired: Mapping[str, list[str]], actual: Mapping[str, list[str]],
                    create_only: Iterable[str] = ()) -> dict[str, AttrChange]:
    """Attribute-by-attribute differences mailprov is responsible for.

    ``objectClass`` only gains missing classes (other tools may add their own);
    ``create_only`` attributes (a profile's static values such as
    ``enabledService``, which operators tune per account) are never compared.
    """
    skip = {a.lower() for a in create_only}
    changes: dict[str, AttrChange] = {}
    for attr, new in desired.items():
        if attr.lower() in skip:
            continue
        old = values_of(actual, attr)
        if attr.lower() == "objectclass":
            have = {v.lower() for v in old}
            missing = [v for v in new if v.lower() not in have]
            if missing:
                changes[attr] = AttrChange(old=list(old), new=list(old) + missing)
            continue
        if not _same(old, new, multi=len(new) > 1 or len(old) > 1):
            changes[attr] = AttrChange(old=list(old), new=list(new))
    return changes


def _profile_notes(profile: Profile, agencies: list[Agency]) -> list[str]:
    notes = []
    unstored = []
    if not profile.stores_quota:
        unstored.append("quota_mb")
    if not profile.stores_aliases:
        unstored.append("aliases")
    if unstored:
        with_aliases = sum(1 for a in agencies for m in a.mailboxes if m.aliases) if "aliases" in unstored else 0
        counted = {0: "", 1: " (1 mailbox has aliases)"}.get(with_aliases, f" ({with_aliases} mailboxes have aliases)")
        notes.append(f"profile {profile.name} does not store {' or '.join(unstored)}: they are not written to the "
                     f"directory{counted}")
    return notes


def _check_passwords_readable(agencies: list[Agency], snapshot: Snapshot) -> None:
    """Refuse a plan that would give existing mailboxes new passwords because the bind DN cannot see theirs.

    A mailbox found without ``userPassword`` gets a new password (a run that
    died before setting it). When the bind DN may not read ``userPassword``
    (an OpenLDAP ACL granting ``=w`` instead of ``write``), every mailbox looks
    like that, and apply would reset them all. Judged per domain, since an
    ACL may hide passwords in one subtree only; a domain where one mailbox
    shows a password is read as it is (the others' were deleted or never
    set). In a domain where none does, ppolicy's ``pwdChangedTime`` says a
    password was set, and without ppolicy the directory's answer to a
    Compare decides: only ``noSuchAttribute`` means there is none.
    """
    changed: list[str] = []
    unconfirmed: list[tuple[str, str]] = []
    for agency in agencies:
        state = snapshot.state(agency.domain)
        if state.shows_a_password:
            continue
        changed += [address for address, (_dn, entry) in state.mailboxes.items() if values_of(entry, PASSWORD_CHANGED)]
        if state.password_compare not in (None, NO_PASSWORD):
            unconfirmed += [(address, state.password_compare) for address in state.mailboxes]
    fix = "Give the bind DN read access to userPassword (in OpenLDAP 'write' includes it, '=w' does not)"
    if changed:
        raise PasswordsUnreadable(
            f"{len(changed)} mailbox(es) had a password set (pwdChangedTime) that the directory does not show to the "
            f"bind DN (e.g. {min(changed)}): apply would replace the passwords of those that are active. {fix}")
    if unconfirmed:
        example, answer = min(unconfirmed)
        raise PasswordsUnreadable(
            f"{len(unconfirmed)} mailbox(es) show no password to the bind DN, and the directory does not say they "
            f"have none (e.g. {example}: a compare of userPassword answered {answer}): apply would replace the "
            f"passwords of those that are active. {fix}")


def build_plan(agencies: list[Agency], snapshot: Snapshot, profile: Profile, base_dn: str,
               prune: bool = False, whole: bool = True) -> Plan:
    """Compare the wanted state of ``agencies`` with ``snapshot``.

    ``whole`` says the agencies are the whole configuration (no --agency
    filter), so domain entries of other domains under the base are reported
    (or pruned) too.
    """
    changes: list[Change] = []
    unchanged = 0
    unmanaged: list[str] = []
    notes = _profile_notes(profile, agencies)
    held: list[HeldBack] = []
    static = set(profile.mailbox_static) | set(profile.domain_static)
    elsewhere = carried_elsewhere(agencies, snapshot, profile)
    for agency in agencies:
        state = snapshot.state(agency.domain)
        domain_dn = profile.domain_dn(base_dn, agency.domain)
        wanted_domain = profile.domain_entry(agency)
        if state.entry is None:
            changes.append(Change("create", "domain", domain_dn, agency.id, attributes=wanted_domain,
                                  agency_name=agency.name, domain=agency.domain))
        else:
            mods = diff_attributes(wanted_domain, state.entry, static)
            if mods:
                changes.append(Change("modify", "domain", domain_dn, agency.id, modifications=mods,
                                      domain=agency.domain))
            else:
                unchanged += 1
        if profile.mailbox_container and not state.container:
            changes.append(Change("create", "container", profile.mailbox_parent_dn(base_dn, agency.domain),
                                  agency.id, attributes=profile.container_entry(), domain=agency.domain))
        seen: set[str] = set()
        for listed in agency.mailboxes:
            seen.add(listed.address)
            found = _managed_entry(agency, listed, state, profile, base_dn, notes, held)
            if found is False:
                continue
            mailbox = _without_taken(listed, found is None, elsewhere, notes, held)
            if mailbox is None:
                continue
            change = _mailbox_change(agency, mailbox, found, profile, base_dn, static)
            if change is None:
                unchanged += 1
            else:
                changes.append(change)
        for address in sorted(state.mailboxes):
            if address in seen:
                continue
            if prune:
                changes += [Change("delete", "mailbox", dn, agency.id, address=address)
                            for dn, _entry in state.carriers(address)]
            else:
                unmanaged.append(address)
    if whole:
        for domain, dn in sorted(snapshot.other_domains.items()):
            if prune:
                state = snapshot.state(domain)
                for address in sorted(state.mailboxes):
                    changes += [Change("delete", "mailbox", mdn, "", address=address)
                                for mdn, _entry in state.carriers(address)]
                if state.container and profile.mailbox_container:
                    changes.append(Change("delete", "container", profile.mailbox_parent_dn(base_dn, domain), "",
                                          domain=domain))
                changes.append(Change("delete", "domain", dn, "", domain=domain))
            else:
                unmanaged.append(domain)
    _check_passwords_readable(agencies, snapshot)
    changes.sort(key=lambda c: c.phase)
    if whole and snapshot.not_domains:
        shown = sorted(snapshot.not_domains)
        more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
        notes.append(f"left alone under the base DN, as their names are not domain names: {'; '.join(shown[:3])}"
                     f"{more} (if the domains are below one of them, directory.base_dn is set too high)")
    return Plan(changes=changes, unchanged=unchanged, unmanaged=unmanaged, notes=notes, held_back=held,
                found_mailboxes=sum(state.mailbox_entries for state in snapshot.domains.values()))


def _hold(notes: list[str], held: list[HeldBack], address: str, alias: str | None, note: str) -> None:
    notes.append(note)
    held.append(HeldBack(address, alias, note))


def _managed_entry(agency: Agency, mailbox: Mailbox, state: DomainState, profile: Profile, base_dn: str,
                   notes: list[str], held: list[HeldBack]) -> FoundEntry | Literal[False] | None:
    """The entry ``mailbox`` is planned against: None when there is none, False when it cannot be told.

    Two entries carrying one address (another tool's ``uid=walikota-lama``
    beside ``uid=walikota``) break the mail system's lookups, and planning
    against the wrong one would rename it onto the other and write a new
    password into the letter of an account that keeps its old one. The entry
    at the profile's DN is the managed one; the others are named and left
    alone. Without one there, none of them is changed.
    """
    carriers = state.carriers(mailbox.address)
    if len(carriers) < 2:
        return carriers[0] if carriers else None
    wanted = profile.mailbox_dn(base_dn, mailbox, agency.name)
    managed = next((c for c in carriers if same_dn(c[0], wanted)), None)
    others = "; ".join(dn for dn, _entry in carriers if managed is None or dn != managed[0])
    if managed is None:
        _hold(notes, held, mailbox.address, None, f"{mailbox.address} is carried by {len(carriers)} entries, none of "
              f"them {wanted}: {others}; mailprov changes none of them until one is left")
        return False
    notes.append(f"{mailbox.address} is also carried by {others}: mailprov manages {managed[0]} and leaves the "
                 "other alone; remove it or change its mail, as two entries with one address break the mail "
                 "system's lookups")
    return managed


def _without_taken(mailbox: Mailbox, new: bool, elsewhere: Mapping[str, str], notes: list[str],
                   held: list[HeldBack]) -> Mailbox | None:
    """``mailbox`` without the aliases an entry outside its domain carries; None when it is new and such an
    entry carries its address (it is not created). Each left out is held back, with a note."""
    if new and mailbox.address in elsewhere:
        _hold(notes, held, mailbox.address, None, f"{mailbox.address} is not created: {elsewhere[mailbox.address]} "
              f"already carries its address, {_TWO_ENTRIES}; move or delete that entry, or change the address in the "
              "configuration")
        return None
    taken = [alias for alias in mailbox.aliases if alias in elsewhere]
    for alias in taken:
        _hold(notes, held, mailbox.address, alias, f"{mailbox.address} does not get its alias {alias}: "
              f"{elsewhere[alias]} already carries it, {_TWO_ENTRIES}; move or delete that entry, or drop the alias "
              "from the configuration")
    return replace(mailbox, aliases=tuple(a for a in mailbox.aliases if a not in taken)) if taken else mailbox


_TWO_ENTRIES = "outside the domain's entries, and two entries with one address break the mail system's lookups"


def _mailbox_change(agency: Agency, mailbox: Mailbox, found: FoundEntry | None, profile: Profile, base_dn: str,
                    static: set[str]) -> Change | None:
    fields = profile.mailbox_fields(mailbox, agency.name)
    wanted = profile.mailbox_entry(mailbox, agency.name, fields)
    if found is None:
        return Change("create", "mailbox", profile.mailbox_dn(base_dn, mailbox, agency.name, fields), agency.id,
                      address=mailbox.address, attributes=wanted, set_password=True, mailbox=mailbox,
                      agency_name=agency.name)
    dn, entry = found
    status_attr = profile.status_attr
    desired = {k: v for k, v in wanted.items() if k.lower() != status_attr.lower()}
    mods = diff_attributes(desired, entry, static)
    was_active = profile.is_active(entry)
    action = "modify"
    if was_active != mailbox.active:
        action = "enable" if mailbox.active else "disable"
        for attr, values in profile.status_modification(mailbox.active).items():
            mods[attr] = AttrChange(old=values_of(entry, attr), new=values)
    quota_attr = profile.mailbox_attributes.get("quota")
    if quota_attr in mods and profile.quota_unit != "mb":
        mod = mods[quota_attr]
        mods[quota_attr] = replace(mod, shown=(_mib(profile, mod.old), _mib(profile, mod.new)))
    needs_password = mailbox.active and not values_of(entry, "userPassword")
    new_dn = _renamed(dn, profile.mailbox_dn(base_dn, mailbox, agency.name, fields))
    if not mods and not needs_password and not new_dn:
        return None
    return Change(action, "mailbox", dn, agency.id, address=mailbox.address, modifications=mods,
                  set_password=needs_password, mailbox=mailbox, agency_name=agency.name, new_dn=new_dn)


def _renamed(found: str, wanted: str) -> str | None:
    """``wanted`` when the entry's naming value changed in place (a profile named by ``cn`` and a new name, or
    an entry another tool made as ``uid=X`` for the mailbox ``Y@...``); a replace of that attribute alone is
    refused (namingViolation). An entry found under another parent is left where it is.

    The plain comparison first: parsing both DNs cost 0.38 s per 10,000 mailboxes on every plan, and a
    server gives back the DNs mailprov wrote.
    """
    if found.lower() == wanted.lower() or same_dn(found, wanted) or not same_dn(parent_dn(found), parent_dn(wanted)):
        return None
    return wanted


def _mib(profile: Profile, values: list[str]) -> list[str]:
    """Quota values in MiB, as domains.yaml gives them (a value that is no number stays as it is)."""
    return [f"{mb} MiB" if (mb := profile.quota_mb(v)) is not None else v for v in values]
