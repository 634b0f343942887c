"""Load ``domains.yaml`` and its CSV files into the typed model.

Every problem is collected with its ``file:line`` and reported together in
one ``ConfigError``; a ``Config`` is only returned when there are none.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import ConfigError, Problem
from .model import (
    DEFAULT_CHECKS,
    DMARC_POLICIES,
    EXTENDED_CHECKS,
    LANGUAGES,
    Agency,
    Config,
    Defaults,
    DirectorySettings,
    DkimKey,
    DkimPolicy,
    DmarcPolicy,
    LetterSettings,
    Mailbox,
    Notify,
    Platform,
    ProfileSpec,
    Signatory,
    Source,
)
from .passwords import SCHEMES
from .profiles import BUILTIN, DOMAIN_FIELDS, MAILBOX_FIELDS, QUOTA_UNITS, static_template_problem
from .reader import Reader, kind, parse_bool
from .roster import QUOTA_MAX_MB, QUOTA_MIN_MB, agencies, check_email
from .yamlsrc import YList, YMap, load_yaml

_SELECTOR = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]*)(?:\.[A-Za-z0-9_-]+)*$")
_LDAP_SCHEMES = ("ldap://", "ldaps://", "ldapi://")

#: environment variable -> (directory key, kind)
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "MAILPROV_LDAP_URL": ("urls", "urls"),
    "MAILPROV_BASE_DN": ("base_dn", "str"),
    "MAILPROV_BIND_DN": ("bind_dn", "str"),
    "MAILPROV_BIND_PASSWORD_FILE": ("bind_password_file", "str"),
    "MAILPROV_CA_FILE": ("ca_file", "str"),
    "MAILPROV_START_TLS": ("start_tls", "bool"),
    "MAILPROV_TLS_VERIFY": ("tls_verify", "bool"),
    "MAILPROV_LDAP_PROFILE": ("profile", "str"),
}

# ---------------------------------------------------------------------------
# sections


_PLATFORM_KEYS = (
    "name", "mx", "sending_ips", "spf_include", "dkim", "dmarc", "webmail_url",
    "imap_host", "smtp_host", "imap_port", "smtp_port", "checks", "outside_ip",
)


def _platform(r: Reader, root: YMap, base: Path) -> Platform | None:
    node = r.mapping(root, "platform", "configuration")
    if node is None:
        return None
    ctx = "platform"
    r.keys(node, _PLATFORM_KEYS, ctx)
    name = r.string(node, "name", ctx, required=True)
    mx = []
    for host, line in r.strings(node, "mx", ctx, required=True):
        domain = r.domain(host, line, f"{ctx}.mx")
        if domain:
            mx.append(domain)
    ips = []
    for ip, line in r.strings(node, "sending_ips", ctx, required=True):
        try:
            ips.append(str(ipaddress.ip_address(ip)))
        except ValueError:
            r.problem(line, f"{ctx}.sending_ips: '{ip}' is not an IPv4 or IPv6 address")
    include_text = r.string(node, "spf_include", ctx, required=True)
    include = r.domain(include_text, node.line_of("spf_include"), f"{ctx}.spf_include",
                       underscore=True) if include_text else None
    outside = r.string(node, "outside_ip", ctx, default="192.0.2.1")
    try:
        outside = str(ipaddress.ip_address(outside))
    except ValueError:
        r.problem(node.line_of("outside_ip"), f"{ctx}.outside_ip: '{outside}' is not an IP address")
    checks = []
    for check, line in r.strings(node, "checks", ctx):
        if check not in DEFAULT_CHECKS + EXTENDED_CHECKS:
            r.problem(line, f"{ctx}.checks: unknown check '{check}' (known: "
                            f"{', '.join(DEFAULT_CHECKS + EXTENDED_CHECKS)})")
        else:
            checks.append(check)
    dkim = _dkim(r, node, base)
    dmarc = _dmarc(r, node)
    imap_host = r.string(node, "imap_host", ctx, required=True)
    smtp_host = r.string(node, "smtp_host", ctx, required=True)
    for key, host in (("imap_host", imap_host), ("smtp_host", smtp_host)):
        if host:
            r.domain(host, node.line_of(key), f"{ctx}.{key}")
    webmail = r.string(node, "webmail_url", ctx, required=True)
    if webmail and not webmail.startswith(("https://", "http://")):
        r.problem(node.line_of("webmail_url"), f"{ctx}.webmail_url: '{webmail}' is not an http(s) URL")
    if not (mx and include and dkim and dmarc):
        return None
    return Platform(
        name=name, mx=tuple(mx), sending_ips=tuple(ips), spf_include=include, dkim=dkim, dmarc=dmarc,
        webmail_url=webmail, imap_host=imap_host, smtp_host=smtp_host,
        checks=tuple(checks) if checks else DEFAULT_CHECKS,
        imap_port=r.integer(node, "imap_port", ctx, 993, 1, 65535),
        smtp_port=r.integer(node, "smtp_port", ctx, 587, 1, 65535),
        outside_ip=outside,
    )


def _dkim(r: Reader, platform: YMap, base: Path) -> DkimPolicy | None:
    node = r.mapping(platform, "dkim", "platform")
    if node is None:
        return None
    ctx = "platform.dkim"
    r.keys(node, ("selectors", "public_keys", "min_key_bits"), ctx)
    selectors = []
    for selector, line in r.strings(node, "selectors", ctx, required=True):
        if not _SELECTOR.match(selector):
            r.problem(line, f"{ctx}.selectors: '{selector}' is not a valid DKIM selector")
        else:
            selectors.append(selector)
    keys: dict[str, DkimKey] = {}
    pk = r.mapping(node, "public_keys", ctx, required=False)
    if pk is not None:
        for selector, path in pk.items():
            line = pk.line_of(selector)
            if selector not in selectors:  # a typo in the selector's name: its file is beside the point
                r.problem(line, f"{ctx}.public_keys: '{selector}' is not one of the selectors")
                continue
            if not isinstance(path, str):
                r.problem(line, f"{ctx}.public_keys.{selector}: expected a file name, got {kind(path)}")
                continue
            key = _read_public_key(r, base / path, path, line, f"{ctx}.public_keys.{selector}")
            if key:
                keys[selector] = key
    bits = r.integer(node, "min_key_bits", ctx, 2048, 1024, 16384)
    return DkimPolicy(selectors=tuple(selectors), public_keys=keys, min_key_bits=bits)


def _read_public_key(r: Reader, path: Path, shown: str, line: int, ctx: str) -> DkimKey | None:
    """Read a DKIM public key file: PEM, bare base64, a DKIM TXT record or binary DER."""
    from .dkimkey import NotAPublicKey, read_key_bytes

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        r.problem(line, f"{ctx}: file not found: {shown}")
        return None
    except OSError as exc:
        r.problem(line, f"{ctx}: cannot read {shown}: {exc.strerror or exc}")
        return None
    try:
        return read_key_bytes(data)
    except NotAPublicKey as exc:
        r.problem(line, f"{ctx}: {shown} {exc}")
        return None


def _dmarc(r: Reader, platform: YMap) -> DmarcPolicy | None:
    node = r.mapping(platform, "dmarc", "platform", required=False)
    if node is None:
        return DmarcPolicy() if "dmarc" not in platform else None
    ctx = "platform.dmarc"
    r.keys(node, ("min_policy", "rua"), ctx)
    policy = r.choice(node, "min_policy", ctx, DMARC_POLICIES, "quarantine")
    rua = r.string(node, "rua", ctx) or None
    if rua and not rua.lower().startswith("mailto:"):
        r.problem(node.line_of("rua"), f"{ctx}.rua: '{rua}' must be a mailto: URI")
    return DmarcPolicy(min_policy=policy, rua=rua)


_DIRECTORY_KEYS = (
    "urls", "base_dn", "bind_dn", "bind_password_env", "bind_password_file", "start_tls", "ca_file",
    "tls_verify", "profile", "password_scheme", "password_length", "page_size", "timeout",
)


def _file_path(r: Reader, node: YMap, key: str, ctx: str, base: Path) -> str | None:
    """A file named in the configuration, relative to the YAML file's folder unless absolute."""
    name = r.string(node, key, ctx) or None
    return name if name is None or os.path.isabs(name) else str(base / name)


def _directory(r: Reader, root: YMap, base: Path, env: Mapping[str, str]) -> DirectorySettings | None:
    node = r.mapping(root, "directory", "configuration", required=False)
    if node is None:
        if "directory" in root:
            return None
        node = YMap()
        node.line, node.key_lines = root.line, {}
    ctx = "directory"
    r.keys(node, _DIRECTORY_KEYS, ctx)
    node = _apply_env(r, node, env)
    urls = []
    for url, line in r.strings(node, "urls", ctx, required=True):
        if not url.lower().startswith(_LDAP_SCHEMES):
            r.problem(line, f"{ctx}.urls: '{url}' is not an ldap://, ldaps:// or ldapi:// URL")
        else:
            urls.append(url)
    base_dn, bind_dn = (_dn(r, node, key, ctx) for key in ("base_dn", "bind_dn"))
    pw_env = r.string(node, "bind_password_env", ctx) or None
    pw_file = _file_path(r, node, "bind_password_file", ctx, base)
    if pw_env is None and pw_file is None:
        pw_env = "MAILPROV_BIND_PASSWORD"
    profile: str | ProfileSpec = "inetorgperson"
    if isinstance(node.get("profile"), YMap):
        spec = _profile_spec(r, node["profile"])
        profile = spec if spec else profile
    else:
        profile = r.choice(node, "profile", ctx, tuple(BUILTIN), "inetorgperson")
    ca_file = _file_path(r, node, "ca_file", ctx, base)
    return DirectorySettings(
        urls=tuple(urls), base_dn=base_dn, bind_dn=bind_dn, bind_password_env=pw_env,
        bind_password_file=pw_file, start_tls=r.boolean(node, "start_tls", ctx, False),
        ca_file=ca_file, tls_verify=r.boolean(node, "tls_verify", ctx, True), profile=profile,
        password_scheme=r.choice(node, "password_scheme", ctx, SCHEMES, "server"),
        password_length=r.integer(node, "password_length", ctx, 16, 16, 128),
        page_size=r.integer(node, "page_size", ctx, 1000, 10, 100000),
        timeout=r.number(node, "timeout", ctx, 10.0, 0.1, 600.0),
    )


def _apply_env(r: Reader, node: YMap, env: Mapping[str, str]) -> YMap:
    """Overlay the MAILPROV_* connection variables on the directory section."""
    merged = YMap(node)
    merged.line, merged.key_lines = node.line, dict(node.key_lines)
    for var, (key, form) in ENV_OVERRIDES.items():
        raw = env.get(var)
        if raw is None or raw == "":
            continue
        value: Any = raw
        if form == "urls":
            items = YList(u for u in re.split(r"[,\s]+", raw) if u)
            items.line, items.item_lines = node.line, [node.line] * len(items)
            value = items
        elif form == "bool":
            value = parse_bool(raw)
            if value is None:
                r.problem(0, f"expected true or false, got '{raw}'", file=f"${var}")
                continue
        merged[key] = value
    return merged


#: one organizationalUnit RDN: ou=NAME, NAME without DN special characters
_CONTAINER = re.compile(r"^[oO][uU]=[^,+=\\\"<>;#\s](?:[^,+=\\\"<>;]*[^,+=\\\"<>;\s])?$")


def _profile_spec(r: Reader, node: YMap) -> ProfileSpec | None:
    ctx = "directory.profile"
    r.keys(node, ("domain", "mailbox", "status", "quota_unit"), ctx)
    before = len(r.problems)
    parts = {}
    for part, fields in (("domain", DOMAIN_FIELDS), ("mailbox", MAILBOX_FIELDS)):
        sub = r.mapping(node, part, ctx)
        if sub is None:
            continue
        sctx = f"{ctx}.{part}"
        allowed = ("rdn", "object_classes", "attributes", "static") + (("container",) if part == "mailbox" else ())
        r.keys(sub, allowed, sctx)
        rdn = r.string(sub, "rdn", sctx, required=True)
        classes = tuple(v for v, _ in r.strings(sub, "object_classes", sctx, required=True))
        attrs: dict[str, str] = {}
        amap = r.mapping(sub, "attributes", sctx, required=False)
        for fld, attr in (amap or {}).items():
            if fld not in fields:
                r.problem(amap.line_of(fld) if amap else sub.line,
                          f"{sctx}.attributes: unknown field '{fld}' (known: {', '.join(fields)})")
            elif not isinstance(attr, str):
                r.problem(amap.line_of(fld) if amap else sub.line,
                          f"{sctx}.attributes.{fld}: expected an attribute name")
            else:
                attrs[fld] = attr
        static: dict[str, tuple[str, ...]] = {}
        smap = r.mapping(sub, "static", sctx, required=False)
        for attr in smap or {}:
            values = r.strings(smap, attr, f"{sctx}.static") if smap else []
            if part == "mailbox":
                for value, line in values:
                    wrong = static_template_problem(value)
                    if wrong:
                        r.problem(line, f"{sctx}.static.{attr}: {wrong}")
            static[attr] = tuple(v for v, _ in values)
        container = (r.string(sub, "container", sctx) or None) if part == "mailbox" else None
        if container is not None and not _CONTAINER.match(container):
            # it is created as an organizationalUnit, which is named by ou (a cn=... would be refused)
            r.problem(sub.line_of("container"), f"{sctx}.container: expected ou=NAME (the organizational unit "
                                                f"between a domain and its mailboxes), got '{container}'")
        parts[part] = (rdn, classes, attrs, static, container)
    status_node = r.mapping(node, "status", ctx, required=False)
    status: dict[str, str] = {}
    if status_node is not None:
        r.keys(status_node, ("attribute", "active", "disabled"), f"{ctx}.status")
        for key in ("attribute", "active", "disabled"):
            value = r.string(status_node, key, f"{ctx}.status")
            if value:
                status[key] = value
    unit = r.choice(node, "quota_unit", ctx, QUOTA_UNITS, "bytes")
    if len(r.problems) > before or len(parts) != 2:
        return None
    d, m = parts["domain"], parts["mailbox"]
    return ProfileSpec(
        domain_rdn=d[0], domain_object_classes=d[1], domain_attributes=d[2], domain_static=d[3],
        mailbox_rdn=m[0], mailbox_object_classes=m[1], mailbox_attributes=m[2], mailbox_static=m[3],
        mailbox_container=m[4], status=status, quota_unit=unit,
    )


def _defaults(r: Reader, root: YMap) -> Defaults:
    node = r.mapping(root, "defaults", "configuration", required=False)
    if node is None:
        return Defaults()
    r.keys(node, ("quota_mb", "language"), "defaults")
    return Defaults(
        quota_mb=r.integer(node, "quota_mb", "defaults", 2048, QUOTA_MIN_MB, QUOTA_MAX_MB),
        language=r.choice(node, "language", "defaults", LANGUAGES, "id"),
    )


def _notify(r: Reader, root: YMap, base: Path) -> Notify | None:
    node = r.mapping(root, "notify", "configuration", required=False)
    if node is None:
        return None
    ctx = "notify"
    r.keys(node, ("smtp_host", "smtp_port", "starttls", "implicit_tls", "ca_file", "from", "to", "agency_contacts",
                  "username", "password_env"), ctx,
           instead="name the environment variable that holds it in password_env")
    to = [addr for addr, line in r.strings(node, "to", ctx, required=True) if check_email(r, addr, line, f"{ctx}.to")]
    sender = r.string(node, "from", ctx, required=True)
    if sender:
        check_email(r, sender, node.line_of("from"), f"{ctx}.from")
    username = r.string(node, "username", ctx) or None
    password_env = r.string(node, "password_env", ctx) or None
    if username and not password_env:
        r.problem(node.line_of("username"), f"{ctx}.username needs {ctx}.password_env, the environment variable "
                                            "that holds the SMTP password")
    host = r.string(node, "smtp_host", ctx, required=True)
    port = r.integer(node, "smtp_port", ctx, 25, 1, 65535)
    # 465 speaks TLS from its first byte: a plain session there waits out its timeout and says only that
    implicit = r.boolean(node, "implicit_tls", ctx, port == 465)
    starttls = r.boolean(node, "starttls", ctx, False) and not implicit
    if username and not (implicit or starttls) and not _loopback(host):
        r.problem(node.line_of("username"), f"{ctx}.username would send the SMTP password unencrypted to {host}: "
                                            "set starttls: true (port 587), or use port 465")
    return Notify(
        smtp_host=host, smtp_port=port, starttls=starttls,
        sender=sender, to=tuple(to),
        agency_contacts=r.boolean(node, "agency_contacts", ctx, False),
        username=username, password_env=password_env, implicit_tls=implicit,
        ca_file=_file_path(r, node, "ca_file", ctx, base),
    )


def _distinct_entry_names(r: Reader, directory: DirectorySettings, agency_list: list[Agency]) -> None:
    """A profile naming mailbox entries by a field that is not the address (``rdn: cn``, the name) needs it to
    differ within a domain: two mailboxes would share one DN, and the second could never be created."""
    from .profiles import resolve

    profile = resolve(directory.profile)
    name = profile.naming_field
    if name in (None, "address", "local"):  # unique already: addresses are
        return
    assert name is not None
    for agency in agency_list:
        seen: dict[str, Mailbox] = {}
        for mailbox in agency.mailboxes:
            values = profile.mailbox_fields(mailbox, agency.name)[name]
            if not values:
                continue
            first = seen.setdefault(values[0].lower(), mailbox)  # naming attributes compare without case
            if first is not mailbox:
                src = mailbox.source or Source(r.file, 0)
                r.problem(src.line, f"{mailbox.address} and {first.address} (at {first.source}) would have the same "
                                    f"entry name {profile.mailbox_rdn}={values[0]}: the directory profile names "
                                    f"mailboxes by their {name}, which must differ within a domain", file=src.file)


def _loopback(host: str) -> bool:
    """A relay on this machine (a local Postfix): nothing crosses a network."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _timezone(r: Reader, node: YMap, ctx: str, default: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = r.string(node, "timezone", ctx, default=default)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        r.problem(node.line_of("timezone"), f"{ctx}.timezone: unknown time zone '{name}' (an IANA name: "
                                            "Asia/Jakarta, Asia/Makassar or Asia/Jayapura)")
        return default
    return name


def _dn(r: Reader, node: YMap, key: str, ctx: str) -> str:
    """A DN setting, written the one way RFC 4514 does (``OU=Domains, DC=go`` as ``OU=Domains,DC=go``)."""
    from .ldapnames import canonical_dn

    text = r.string(node, key, ctx, required=True)
    if not text:
        return text
    try:
        return canonical_dn(text)
    except ValueError as exc:
        r.problem(node.line_of(key), f"{ctx}.{key}: '{text}' is not a distinguished name: {exc}")
        return text


def _letters(r: Reader, root: YMap) -> LetterSettings:
    node = r.mapping(root, "letters", "configuration", required=False)
    if node is None:
        return LetterSettings()
    ctx = "letters"
    r.keys(node, ("organization", "unit", "address", "phone", "website", "place", "timezone", "number_code",
                  "signatory"), ctx)
    signatory = Signatory(name="", title="")
    sig = r.mapping(node, "signatory", ctx, required=False)
    if sig is not None:
        r.keys(sig, ("name", "title", "nip"), f"{ctx}.signatory")
        signatory = Signatory(
            name=r.string(sig, "name", f"{ctx}.signatory", required=True),
            title=r.string(sig, "title", f"{ctx}.signatory", required=True),
            nip=r.string(sig, "nip", f"{ctx}.signatory"),
        )
    defaults = LetterSettings()
    return LetterSettings(
        organization=r.string(node, "organization", ctx, default=defaults.organization),
        unit=r.string(node, "unit", ctx), address=r.string(node, "address", ctx, one_line=False),
        phone=r.string(node, "phone", ctx), website=r.string(node, "website", ctx),
        place=r.string(node, "place", ctx, default=defaults.place),
        timezone=_timezone(r, node, ctx, defaults.timezone),
        number_code=r.string(node, "number_code", ctx, default=defaults.number_code),
        signatory=signatory,
    )


# ---------------------------------------------------------------------------


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> Config:
    """Load and validate ``path``; raise ``ConfigError`` with every problem found.

    ``env`` supplies the MAILPROV_* overrides (pass ``os.environ`` from the
    CLI; tests pass a dict so nothing leaks in from the developer's shell).
    """
    shown = str(path)
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(shown, 0, "configuration file not found")]) from None
    except UnicodeDecodeError as exc:
        raw = file.read_bytes()
        why = ("is UTF-16 text (Notepad's 'Unicode'): save it as UTF-8" if raw.startswith((b"\xff\xfe", b"\xfe\xff"))
               else "is not valid UTF-8: save it as UTF-8")
        raise ConfigError([Problem(shown, raw[:exc.start].count(b"\n") + 1, why)]) from None
    except OSError as exc:
        raise ConfigError([Problem(shown, 0, f"cannot read configuration: {exc.strerror or exc}")]) from None
    data, problems = load_yaml(text, shown)
    if problems and data is None:
        raise ConfigError(problems)
    r = Reader(shown)
    r.problems.extend(problems)
    if data is None:  # nothing but comments, or a file emptied by a failed copy
        r.problem(1, "configuration: the file is empty (expected platform:, directory: and agencies:)")
        raise ConfigError(r.problems)
    if not isinstance(data, YMap):
        r.problem(getattr(data, "line", 1), "configuration: expected a mapping at the top level")
        raise ConfigError(r.problems)
    base = file.parent
    r.keys(data, ("platform", "directory", "defaults", "agencies", "notify", "letters"), "configuration")
    platform = _platform(r, data, base)
    directory = _directory(r, data, base, env or {})
    defaults = _defaults(r, data)
    agency_list = agencies(r, data, base, defaults)
    notify = _notify(r, data, base)
    letters = _letters(r, data)
    if directory is not None:
        _distinct_entry_names(r, directory, agency_list)
    if r.problems or platform is None or directory is None:
        if not r.problems:  # pragma: no cover - every None path reports first
            r.problem(1, "configuration is incomplete")
        raise ConfigError(r.problems)
    return Config(
        path=file, platform=platform, directory=directory, defaults=defaults,
        agencies=tuple(agency_list), notify=notify, letters=letters,
    )
