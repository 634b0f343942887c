"""The LDAP directory: connecting (failover pool, TLS), reading, single writes.

Everything ldap3 raises or answers is turned into a ``DirectoryError`` with
one line a person can act on, so only this module knows ldap3's exceptions.
Bulk writes go through ``ldapwire.Pipeline`` on a connection opened here.
"""

from __future__ import annotations

import contextlib
import logging
import math
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import ldap3
from ldap3.core import exceptions as ldap_exc

from .addresses import AddressError, to_a_label
from .errors import DirectoryAuthError, DirectoryError, DirectoryLimitError, DirectoryUnavailable, MailprovError
from .files import unusable_ca_file
from .ldapnames import dn_depth, equality_filter, escape_filter_value, normalize_dn, parent_dn
from .ldapwire import (
    BUSY,
    CONFIDENTIALITY_REQUIRED,
    CONSTRAINT_VIOLATION,
    INAPPROPRIATE_AUTHENTICATION,
    PASSWORD_POLICY_CONTROL,
    PASSWORD_POLICY_ERRORS,
    REFERRAL,
    RESULT_NAMES,
    SIZE_LIMIT_EXCEEDED,
    STRONGER_AUTH_REQUIRED,
    TIME_LIMIT_EXCEEDED,
    UNAVAILABLE,
    UNWILLING_TO_PERFORM,
    Pipeline,
    PolicyAnswer,
    password_policy,
    session_refusal,
)
from .model import Agency, DirectorySettings
from .passwords import POLICY_HINT
from .plan import DomainState, Snapshot, new_addresses
from .profiles import Profile, values_of

log = logging.getLogger(__name__)

Entry = dict[str, list[str]]


class DirectoryTLSError(DirectoryError):
    """TLS as configured cannot be had: the certificate did not verify (wrong CA, wrong name), ``ca_file`` cannot
    be used, or the server refused StartTLS. A configuration problem, not a server to try again later."""

    exit_code = 2


class HeldElsewhere(DirectoryError):
    """The directory refers a search to another server: the base DN is not held where ``urls`` point."""

    exit_code = 2


class BaseNotFound(DirectoryError):
    """``directory.base_dn`` is not in the directory (or the bind DN may not read it): a configuration problem."""

    exit_code = 2


@dataclass(frozen=True)
class Found:
    """An entry as a search returned it: its DN and the attributes asked for."""
    dn: str
    attributes: Entry


@dataclass(frozen=True)
class Stored:
    """An entry with its values as the server sent them: what an export writes, photos and certificates too."""

    dn: str
    attributes: dict[str, list[bytes]]


def _decode(raw: Mapping[str, Sequence[bytes]]) -> Entry:
    return {name: [v.decode("utf-8", "replace") for v in values] for name, values in raw.items() if values}


def _start_tls(conn: ldap3.Connection, url: str) -> None:
    """StartTLS, or why the server refused it: a server nobody set TLS up on answers the request with an error
    (OpenLDAP: protocolError), which ldap3 raises as it raises a failed handshake; before the bind either way."""
    try:
        started = conn.start_tls()
    except ldap_exc.LDAPStartTLSError:
        if int(conn.result.get("result", 0)) == 0:  # the server agreed: the handshake failed (a certificate)
            raise
        started = False
    if not started:
        raise DirectoryTLSError(f"{url}: the server refused StartTLS ({_describe(conn.result)}): it offers no TLS "
                                "on this port: use its ldaps:// URL if it has one, or have TLS set up on it")


def _describe(result: Mapping[str, Any]) -> str:
    code = int(result.get("result", 80))
    name = RESULT_NAMES.get(code, result.get("description") or f"result {code}")
    message = (result.get("message") or "").strip()
    return f"{name}: {message}" if message else str(name)


class Directory:
    """A bound connection to the first reachable server of the pool."""

    def __init__(self, settings: DirectorySettings, password: str, profile: Profile,
                 warn: Callable[[str], None] | None = None) -> None:
        self.settings = settings
        self.profile = profile
        self._password = password
        self._warn = warn or (lambda message: log.warning("%s", message))
        self._tls_warned = False
        # ldap3 packs the receive timeout into a struct of whole seconds
        self._seconds = max(1, math.ceil(settings.timeout))
        self.url = ""
        self._pipelines: list[ldap3.Connection] = []
        self._referred_warned: set[str] = set()
        self._expiry_warned = False
        self.conn = self._connect()

    # -- connecting -------------------------------------------------------------
    def _tls(self) -> ldap3.Tls:
        settings = self.settings
        if not settings.tls_verify:
            if not self._tls_warned:
                self._warn("TLS certificate verification is OFF (tls_verify: false): "
                           "the directory's identity is not checked")
                self._tls_warned = True
            return ldap3.Tls(validate=ssl.CERT_NONE)
        ca_file = settings.ca_file
        why = unusable_ca_file(ca_file) if ca_file else None
        if why:
            raise DirectoryTLSError(f"ca_file {ca_file} {why}")
        return ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca_file)

    def _warn_of_expiry(self, answer: PolicyAnswer) -> None:
        """Once a run: the bind DN's password is about to expire, or has and binds on grace."""
        if self._expiry_warned or (answer.expires_in is None and answer.grace_binds is None):
            return
        self._expiry_warned = True
        who = self.settings.bind_dn
        if answer.grace_binds is not None:
            self._warn(f"the password of {who} has expired; the directory allows {answer.grace_binds} more "
                       "bind(s) with it: set a new one, and give mailprov that one")
        else:
            self._warn(f"the password of {who} expires in {_duration(answer.expires_in or 0)}: set a new one, and "
                       "give mailprov that one")

    def _open(self, url: str) -> ldap3.Connection:
        settings = self.settings
        use_ssl = url.lower().startswith("ldaps://")
        tls = self._tls() if use_ssl or settings.start_tls else None
        seconds = self._seconds
        server = ldap3.Server(url, use_ssl=use_ssl, tls=tls, get_info=ldap3.NONE, connect_timeout=seconds)
        # referrals are answers, not places to go: ldap3 would follow one to any server it names, binding
        # there with the bind password (a replica with updateref names its provider). The password goes as
        # bytes, as OpenLDAP's own tools send it: given a str, ldap3 runs SASLprep on it, which refuses a tab or
        # control character ("directory unreachable", exit 3) and changes a no-break space into a space.
        # surrogateescape gives back the bytes of an environment variable that was not UTF-8.
        password = self._password.encode("utf-8", "surrogateescape")
        conn = ldap3.Connection(server, user=settings.bind_dn, password=password, auto_bind=ldap3.AUTO_BIND_NONE,
                                receive_timeout=seconds, raise_exceptions=False, auto_escape=False,
                                return_empty_attributes=False, auto_referrals=False)
        try:
            conn.open()
            if settings.start_tls and not use_ssl:
                _start_tls(conn, url)
            # the password policy control: its answer tells an expired or locked account from a wrong password,
            # and warns before the bind DN's password expires (a nightly job's journal shows it in time)
            if not conn.bind(controls=[(PASSWORD_POLICY_CONTROL, False, None)]):
                raise _bind_refusal(url, settings.bind_dn, conn.result)
            answer = _policy_answer(conn.result)
            if answer.error in PASSWORD_POLICY_ERRORS:  # bound, but every search would be refused (pwdReset)
                raise DirectoryAuthError(f"{url}: the directory took the bind as {settings.bind_dn} but allows it "
                                         f"nothing: {PASSWORD_POLICY_ERRORS[answer.error]}")
            self._warn_of_expiry(answer)
        except (ldap_exc.LDAPSocketOpenError, ldap_exc.LDAPStartTLSError, ldap_exc.LDAPSSLConfigurationError) as exc:
            _drop(conn)
            text = str(exc)
            if "CERTIFICATE_VERIFY_FAILED" in text or "certificate" in text.lower() or "hostname" in text.lower():
                raise DirectoryTLSError(f"{url}: TLS certificate verification failed ({_short_tls(text)}); "
                                        "check ca_file and the server name") from None
            raise DirectoryUnavailable(f"{url}: cannot connect ({_short(text)}){_port_hint(url)}") from None
        except ldap_exc.LDAPException as exc:
            _drop(conn)
            raise DirectoryUnavailable(f"{url}: {_why(str(exc), seconds)}{_port_hint(url)}") from None
        except (KeyError, IndexError, ValueError):
            # how ldap3's BER decoder fails on bytes that are not LDAP: a TLS listener's alert (a load balancer's
            # LDAPS port reached as ldap://), an HTTP proxy's error page
            _drop(conn)
            raise DirectoryUnavailable(f"{url}: the answer is not LDAP (another service on this port, or one that "
                                       f"speaks TLS from the start){_port_hint(url)}") from None
        except DirectoryError:
            _drop(conn)
            raise
        return conn

    def _connect(self) -> ldap3.Connection:
        reasons = []
        for url in self.settings.urls:
            try:
                conn = self._open(url)
            except DirectoryUnavailable as exc:
                log.debug("server %s unavailable: %s", url, exc)
                reasons.append(str(exc))
                continue
            self.url = url
            return conn
        if len(reasons) == 1:
            raise DirectoryUnavailable(f"directory unreachable: {reasons[0]}")
        raise DirectoryUnavailable("no directory server reachable: " + "; ".join(reasons))

    def pipeline(self) -> Pipeline:
        """Another bound connection, handed to a BER pipeline for bulk writes (apply takes two)."""
        conn = self._open(self.url)
        self._pipelines.append(conn)
        return Pipeline(conn.socket, self.settings.timeout)

    def close(self) -> None:
        for conn in self._pipelines:
            _drop(conn)
        _drop(self.conn)

    def __enter__(self) -> Directory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------
    def _check(self, what: str) -> None:
        """Turn a failed operation's result into an error."""
        code = int(self.conn.result.get("result", 0))
        if code in (BUSY, UNAVAILABLE):  # slapd starting or stopping: a server to try again later (exit 3)
            raise DirectoryUnavailable(f"{self.url}: {what}: {_describe(self.conn.result)}")
        if code not in (0, 32):  # noSuchObject is an answer: "not there"
            raise DirectoryError(f"{what}: {_describe(self.conn.result)}")

    def _search(self, base: str, flt: str, scope: str, attributes: list[str]) -> Iterator[Found]:
        for dn, raw in self._search_raw(base, flt, scope, attributes):
            yield Found(dn, _decode(raw))

    def _search_raw(self, base: str, flt: str, scope: str,
                    attributes: list[str]) -> Iterator[tuple[str, Mapping[str, Sequence[bytes]]]]:
        """Paged search. Paging does not lift a size limit: OpenLDAP counts it over the whole search (its
        ``size.prtotal`` defaults to the account's limit), so the bind DN needs none."""
        cookie: bytes | None = None
        while True:
            try:
                self.conn.search(base, flt, search_scope=scope, attributes=attributes,
                                 paged_size=self.settings.page_size, paged_cookie=cookie)
            except ldap_exc.LDAPException as exc:
                raise DirectoryUnavailable(f"{self.url}: search failed: {_why(str(exc), self._seconds)}") from None
            code = int(self.conn.result.get("result", 0))
            if code in (SIZE_LIMIT_EXCEEDED, TIME_LIMIT_EXCEEDED):
                # a plan on part of the directory would create what exists and miss what to delete
                kind = "size" if code == SIZE_LIMIT_EXCEEDED else "time"
                raise DirectoryLimitError(
                    f"search under {base}: the directory stopped it at the {kind} limit of {self.settings.bind_dn}; "
                    f"mailprov reads every entry under the base DN: lift that limit for it (OpenLDAP: limits "
                    f'dn.exact="{self.settings.bind_dn}" {kind}=unlimited)')
            if code == REFERRAL:  # referrals are answers, never followed (see _open)
                raise HeldElsewhere(
                    f"search under {base}: the directory refers it to {_referred(self.conn.result.get('referrals'))}, "
                    "which holds that part of the tree: list that server in directory.urls, or correct "
                    "directory.base_dn")
            self._check(f"search under {base}")
            for item in self.conn.response or []:
                if item.get("type") == "searchResEntry":
                    yield item["dn"], item["raw_attributes"]
                elif item.get("type") == "searchResRef" and base not in self._referred_warned:
                    # a subtree another server holds (a referral object): what is there is in no plan or list
                    self._referred_warned.add(base)
                    self._warn(f"under {base}, part of the tree is held by another server ({_referred(item.get('uri'))}"
                               "): mailprov does not follow referrals, so what is there is left out")
            controls = self.conn.result.get("controls") or {}
            cookie = controls.get("1.2.840.113556.1.4.319", {}).get("value", {}).get("cookie")
            if not cookie:
                return

    def snapshot(self, agencies: Sequence[Agency], whole: bool) -> Snapshot:
        """Read what the directory holds for ``agencies``.

        With ``whole`` the domain entries directly under the base are listed
        too, so domains missing from the configuration can be reported, and
        every domain is read in one paged search of the base: slapd's mdb
        answers a paged subtree search in a time that grows with its whole
        database, not with the subtree (5.5 ms for a domain of 20 mailboxes in
        a database of 10,500 entries, 0.4 ms in an empty one), so one search
        per domain made a plan of 500 agencies twice as slow. Agencies picked
        with ``--agency`` are read with one paged search each, and so is every
        domain when the base also holds entries that are not domains (an
        ``ou=people`` of any size is not read whole); then the base is
        searched for the new addresses (those of the mailboxes to create, and
        new aliases), which an entry outside the domains read may carry
        already (``Snapshot.elsewhere``).
        """
        profile, base = self.profile, self.settings.base_dn
        if not any(self._search(base, "(objectClass=*)", ldap3.BASE, ["1.1"])):
            # every domain would otherwise be planned as new, and every add refused with noSuchObject
            raise BaseNotFound(f"base_dn {base} is not in the directory at {self.url}, or {self.settings.bind_dn} "
                               "may not read it: create it, or correct directory.base_dn")
        snap = Snapshot()
        wanted = {a.domain for a in agencies}
        only_domains = whole
        if whole:
            domain_class = profile.domain_class.lower()
            for found in self._search(base, "(objectClass=*)", ldap3.LEVEL, [profile.domain_rdn, "objectClass"]):
                domain = _first(found.attributes, profile.domain_rdn).lower()
                if domain_class not in {c.lower() for c in found.attributes.get("objectClass", [])}:
                    only_domains = False
                elif not domain or domain in wanted:
                    continue
                elif _domain_name(domain):
                    snap.other_domains[domain] = found.dn
                else:  # an ou=people or ou=policies: --prune would delete it as a domain no one lists
                    snap.not_domains.append(found.dn)
                    only_domains = False
        for domain in sorted(wanted | set(snap.other_domains)):
            snap.domains[domain] = DomainState(domain)
        if only_domains:
            try:
                self._read_domains(base, snap.domains)
            except DirectoryLimitError:
                # a size limit the whole base exceeds may still hold each domain, as one search per domain always did
                log.debug("one search of the base stopped at the bind DN's limit: reading each domain on its own")
                snap.domains = {domain: DomainState(domain) for domain in snap.domains}
                only_domains = False
        if not only_domains:
            for domain, state in snap.domains.items():
                self._read_domains(profile.domain_dn(base, domain), {domain: state})
            snap.elsewhere = self._carried_outside(list(new_addresses(agencies, snap, profile)), snap.domains)
        for domain in sorted(wanted):
            self._compare_password(snap.domains[domain])
        return snap

    def _carried_outside(self, addresses: Sequence[str], read: Iterable[str]) -> dict[str, str]:
        """The ``addresses`` a mailbox entry under the base DN but outside the domains ``read`` carries (as its
        address or an alias) -> its DN; a hundred addresses to a search, each an indexed equality."""
        profile, base = self.profile, self.settings.base_dn
        attrs = [profile.mailbox_attributes.get("address", "mail")]
        if profile.stores_aliases:
            attrs.append(profile.mailbox_attributes["aliases"])
        domain_dns = {normalize_dn(profile.domain_dn(base, domain)) for domain in read}
        base_depth = dn_depth(base)
        wanted = set(addresses)
        carried: dict[str, str] = {}
        for start in range(0, len(addresses), 100):
            terms = "".join(equality_filter(attr, address) for address in addresses[start:start + 100]
                            for attr in attrs)
            flt = f"(&(objectClass={profile.mailbox_class})(|{terms}))"
            for found in self._search(base, flt, ldap3.SUBTREE, attrs):
                dn, key = found.dn, normalize_dn(found.dn)
                while key not in domain_dns and dn_depth(dn) > base_depth + 1:
                    dn = parent_dn(dn)
                    key = normalize_dn(dn)
                if key in domain_dns:  # under a domain read: in the snapshot already
                    continue
                for attr in attrs:
                    for value in values_of(found.attributes, attr):
                        if value.lower() in wanted:
                            carried.setdefault(value.lower(), found.dn)
        return carried

    def _compare_password(self, state: DomainState) -> None:
        """When no mailbox of the domain shows a ``userPassword``, ask whether one of them has one.

        A bind DN that may not read the attribute sees none anywhere, and the
        plan would give every mailbox a new password. A Compare tells the
        cases apart: noSuchAttribute when there is none, compareFalse when
        there is one, insufficientAccessRights when the bind DN may not even
        compare it. ppolicy counts a compare as a login attempt only when it
        carries the password policy control, which this one does not.
        """
        if not state.mailboxes or state.shows_a_password:
            return
        dn = min(dn for dn, _entry in state.mailboxes.values())
        try:
            self.conn.compare(dn, "userPassword", "mailprov: is there a password?")
        except ldap_exc.LDAPException as exc:
            raise DirectoryUnavailable(f"{self.url}: compare failed: {_why(str(exc), self._seconds)}") from None
        code = int(self.conn.result.get("result", 0))
        state.password_compare = RESULT_NAMES.get(code, f"result {code}")

    def _read_domains(self, search_base: str, states: Mapping[str, DomainState]) -> None:
        """Sort the entries of one subtree search into the ``states`` of their domains; an entry under no
        domain of ``states`` (an ``ou=people``, a domain not asked for) is left out."""
        profile, base = self.profile, self.settings.base_dn
        domains = {normalize_dn(profile.domain_dn(base, domain)): state for domain, state in states.items()}
        containers = ({normalize_dn(profile.mailbox_parent_dn(base, domain)): state
                       for domain, state in states.items()} if profile.mailbox_container else {})
        domain_depth = dn_depth(base) + 1
        # the DN of an entry's parent -> the domain it lies in; its mailboxes share the parent, so one lookup each
        owners: dict[str, DomainState | None] = {}

        def owner(dn: str) -> DomainState | None:
            if dn not in owners:
                state = domains.get(normalize_dn(dn))
                if state is None and dn_depth(dn) > domain_depth:
                    state = owner(parent_dn(dn))
                owners[dn] = state
            return owners[dn]

        attrs = sorted(set(profile.mailbox_read_attributes()) | set(profile.domain_read_attributes()), key=str.lower)
        flt = f"(|(objectClass={profile.domain_class})(objectClass={profile.mailbox_class})" \
              "(objectClass=organizationalUnit))"
        mailbox_class = profile.mailbox_class.lower()
        address_attr = profile.mailbox_attributes.get("address", "mail")
        for found in self._search(search_base, flt, ldap3.SUBTREE, attrs):
            classes = {c.lower() for c in found.attributes.get("objectClass", [])}
            if mailbox_class in classes:
                state = owner(parent_dn(found.dn))
                if state is not None:
                    address = _first(found.attributes, address_attr).lower()
                    state.add_mailbox(address or found.dn.lower(), found.dn, found.attributes)
                continue
            key = normalize_dn(found.dn)
            if key in domains:
                domains[key].entry = found.attributes
            elif key in containers:
                containers[key].container = True

    def find_mailbox(self, address: str) -> Found | None:
        """The mailbox entry with this address (its mail attribute or an alias)."""
        profile = self.profile
        mail_attr = profile.mailbox_attributes.get("address", "mail")
        value = escape_filter_value(address.lower())
        alias = profile.mailbox_attributes.get("aliases")
        match = f"(|({mail_attr}={value})({alias}={value}))" if alias else equality_filter(mail_attr, address.lower())
        flt = f"(&(objectClass={profile.mailbox_class}){match})"
        found = list(self._search(self.settings.base_dn, flt, ldap3.SUBTREE, profile.mailbox_read_attributes()))
        if len(found) > 1:
            raise DirectoryError(f"{address}: {len(found)} entries carry this address: "
                                 + "; ".join(sorted(f.dn for f in found)))
        return found[0] if found else None

    def mailboxes(self, domain: str | None = None, name: str | None = None) -> list[Found]:
        """Mailbox entries, optionally of one domain and/or whose name, address or alias contains ``name``."""
        profile = self.profile
        base = profile.domain_dn(self.settings.base_dn, domain) if domain else self.settings.base_dn
        flt = f"(objectClass={profile.mailbox_class})"
        if name:
            text = escape_filter_value(name)
            attributes = dict.fromkeys(profile.mailbox_attributes[f] for f in ("name", "address", "aliases")
                                       if f in profile.mailbox_attributes)
            flt = f"(&{flt}(|{''.join(f'({attr}=*{text}*)' for attr in attributes)}))"
        return list(self._search(base, flt, ldap3.SUBTREE, profile.mailbox_read_attributes()))

    def entries(self, domains: Sequence[str] = ()) -> Iterator[Stored]:
        """Every entry under the base DN, or under each of ``domains`` (for export), parents before children.

        With the user attributes goes the profile's status attribute, which
        for ``inetorgperson`` is ppolicy's operational ``pwdAccountLockedTime``
        ("*" leaves it out): an export loaded back must not enable every
        disabled mailbox. Values stay bytes: a ``jpegPhoto`` or a certificate
        another tool stored is not text, and a backup must give it back whole.
        """
        bases = [self.profile.domain_dn(self.settings.base_dn, d) for d in domains] or [self.settings.base_dn]
        for base in bases:
            found = [Stored(dn, {name: list(values) for name, values in raw.items() if values})
                     for dn, raw in self._search_raw(base, "(objectClass=*)", ldap3.SUBTREE,
                                                     ["*", self.profile.status_attr])]
            # the server lists by entry id: an entry another tool moved under a newer parent comes before it,
            # and ldapadd would stop there; by depth (stable, so the server's order within one)
            found.sort(key=lambda entry: dn_depth(entry.dn))
            yield from found

    # -- single writes (lifecycle commands) -------------------------------------------
    def _write(self, what: str, call: Callable[[], Any], refused_hint: str = "") -> None:
        try:
            ok = call()
        except ldap_exc.LDAPException as exc:
            raise DirectoryUnavailable(f"{what}: {_why(str(exc), self._seconds)}") from None
        if not ok:
            code = int(self.conn.result.get("result", 0))
            operation = "extended" if self.conn.result.get("type") == "extendedResp" else ""
            refusal = session_refusal(code, (self.conn.result.get("message") or "").strip(), operation)
            if refusal:
                raise DirectoryError(f"{what}: {refusal}")
            hint = refused_hint if code == CONSTRAINT_VIOLATION else ""
            raise DirectoryError(f"{what}: {_describe(self.conn.result)}{hint}")

    def add(self, dn: str, attributes: Entry) -> None:
        attrs = {k: v for k, v in attributes.items() if v and k.lower() != "objectclass"}
        self._write(f"add {dn}", lambda: self.conn.add(dn, attributes.get("objectClass"), attrs))

    def modify(self, dn: str, changes: Mapping[str, list[str]]) -> None:
        """Replace each attribute's values (an empty list deletes the attribute, if it is there).

        A replace with no values, not a delete: RFC 4511 makes it a no-op on an
        attribute the entry does not have, where a delete fails (noSuchAttribute).
        """
        mods = {attr: [(ldap3.MODIFY_REPLACE, values)] for attr, values in changes.items()}
        self._write(f"modify {dn}", lambda: self.conn.modify(dn, mods))

    def set_password(self, dn: str, password: str) -> None:
        """RFC 3062 Password Modify: the server hashes the password with its own policy."""
        self._write(f"set password of {dn}",
                    lambda: self.conn.extend.standard.modify_password(dn, new_password=password), POLICY_HINT)

    def replace_password_hash(self, dn: str, hashed: str) -> None:
        self._write(f"set password of {dn}",
                    lambda: self.conn.modify(dn, {"userPassword": [(ldap3.MODIFY_REPLACE, [hashed])]}))


def _domain_name(name: str) -> bool:
    try:
        to_a_label(name)
    except AddressError:
        return False
    return True


def _drop(conn: ldap3.Connection) -> None:
    """Close a connection that may already be broken (server gone, TLS failed)."""
    with contextlib.suppress(ldap_exc.LDAPException, OSError):
        conn.unbind()


def _first(entry: Mapping[str, list[str]], attr: str) -> str:
    return next(iter(values_of(entry, attr)), "")


def _short(text: str) -> str:
    text = text.strip().strip("()[]'\",")
    return text if len(text) < 200 else text[:200] + "..."


def _why(text: str, seconds: int) -> str:
    """ldap3's reason, or for its receive timeout what it means to an operator: a hung server."""
    if "timed out" in text.lower():
        return f"no answer within {seconds} s (directory.timeout): the server took the connection but does not answer"
    return _short(text)


def _bind_refusal(url: str, bind_dn: str, result: Mapping[str, Any]) -> DirectoryError:
    """What a refused bind means: settings to change (exit 2), or a server that cannot take it now (exit 3, and
    the next server of the pool is tried), as slapd answers busy or unavailable while it starts or stops."""
    code = int(result.get("result", 0))
    said = _describe(result)
    if code == 49:
        error = _policy_answer(result).error
        if error in PASSWORD_POLICY_ERRORS:
            return DirectoryAuthError(f"{url}: the directory refused the bind as {bind_dn}: "
                                      f"{PASSWORD_POLICY_ERRORS[error]}")
        return DirectoryAuthError(f"{url}: the directory refused the bind as {bind_dn} "
                                  "(invalid credentials: check the DN and the bind password)")
    if code in (STRONGER_AUTH_REQUIRED, CONFIDENTIALITY_REQUIRED):
        return DirectoryAuthError(f"{url}: the directory takes the bind as {bind_dn} only over TLS ({said}): use "
                                  "an ldaps:// URL or start_tls: true")
    if code in (INAPPROPRIATE_AUTHENTICATION, UNWILLING_TO_PERFORM):
        return DirectoryAuthError(f"{url}: the directory does not take a simple bind as {bind_dn} ({said})")
    return DirectoryUnavailable(f"{url}: bind failed: {said}")


def _policy_answer(result: Mapping[str, Any]) -> PolicyAnswer:
    value = ((result.get("controls") or {}).get(PASSWORD_POLICY_CONTROL) or {}).get("value")
    return password_policy(value) if isinstance(value, bytes) else PolicyAnswer()


def _referred(urls: Sequence[str] | None) -> str:
    """The servers a referral names, their search suffixes (``??sub``) dropped."""
    return ", ".join(url.split("?", 1)[0] for url in urls or ()) or "another server"


def _duration(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}(s)"
    return f"{seconds} second(s)"


def _port_hint(url: str) -> str:
    """What a scheme on the other one's well-known port suggests."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme == "ldap" and port == 636:
        return "; 636 is the LDAPS port: ldaps:// there?"
    if scheme == "ldaps" and port == 389:
        return "; 389 is the plain LDAP port: ldap:// there, with start_tls: true?"
    return ""


def _short_tls(text: str) -> str:
    marker = "certificate verify failed"
    index = text.find(marker)
    if index >= 0:
        return text[index:].split("(_ssl", 1)[0].strip()
    return _short(text)


def open_directory(settings: DirectorySettings, profile: Profile, env: Mapping[str, str],
                   prompt: Callable[[str], str] | None = None,
                   warn: Callable[[str], None] | None = None) -> Directory:
    from .credentials import bind_password

    if not settings.urls:
        raise MailprovError("directory.urls is empty")
    return Directory(settings, bind_password(settings, env, prompt), profile, warn)
