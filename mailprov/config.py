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

from . import csvsrc
from .addresses import AddressError, check_local, to_a_label, to_unicode
from .errors import ConfigError, Problem
from .model import (
    DEFAULT_CHECKS,
    DMARC_POLICIES,
    EXTENDED_CHECKS,
    Agency,
    Config,
    Contact,
    Defaults,
    DirectorySettings,
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
from .profiles import BUILTIN, DOMAIN_FIELDS, MAILBOX_FIELDS, QUOTA_UNITS
from .yamlsrc import YList, YMap, load_yaml

QUOTA_MIN_MB = 1
QUOTA_MAX_MB = 1024 * 1024  # 1 TiB
_AGENCY_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62})$")
_SELECTOR = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]*)(?:\.[A-Za-z0-9_-]+)*$")
_LDAP_SCHEMES = ("ldap://", "ldaps://", "ldapi://")
#: keys that would put a secret into the file; they get their own message
_SECRET_KEYS = {"password", "bind_password", "passwd", "userpassword", "secret", "smtp_password"}
LANGUAGES = ("id", "en")

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

_TRUE = {"true", "yes", "1", "ya", "on"}
_FALSE = {"false", "no", "0", "tidak", "off"}


def parse_bool(text: str) -> bool | None:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None


class _Reader:
    """Walks the YAML tree, collecting problems instead of stopping at the first."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    # -- reporting ---------------------------------------------------------
    def problem(self, line: int, message: str, file: str | None = None) -> None:
        self.problems.append(Problem(file or self.file, line, message))

    def where(self, node: Any, fallback: int = 1) -> int:
        return int(getattr(node, "line", fallback))

    # -- structure -----------------------------------------------------------
    def mapping(self, parent: YMap, key: str, context: str, required: bool = True) -> YMap | None:
        value = parent.get(key)
        if value is None:
            if required:
                self.problem(parent.line_of(key) if key in parent else parent.line, f"{context}: missing '{key}'")
            return None
        if not isinstance(value, YMap):
            self.problem(parent.line_of(key), f"{context}.{key}: expected a mapping, got {_kind(value)}")
            return None
        return value

    def keys(self, node: YMap, allowed: tuple[str, ...], context: str) -> None:
        for key in node:
            if key in allowed:
                continue
            if key.lower() in _SECRET_KEYS:
                self.problem(
                    node.line_of(key),
                    f"{context}.{key}: a password must not be written in the configuration file "
                    "(use bind_password_env or bind_password_file)",
                )
            else:
                hint = _suggest(key, allowed)
                self.problem(node.line_of(key), f"{context}: unknown key '{key}'{hint}")

    def string(self, node: YMap, key: str, context: str, required: bool = False, default: str = "") -> str:
        if key not in node or node[key] is None:
            if required:
                self.problem(node.line, f"{context}: missing '{key}'")
            return default
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.problem(node.line_of(key), f"{context}.{key}: expected a string, got {_kind(value)}")
            return default
        text = str(value).strip()
        if required and not text:
            self.problem(node.line_of(key), f"{context}.{key}: must not be empty")
        return text

    def integer(self, node: YMap, key: str, context: str, default: int, low: int, high: int) -> int:
        if key not in node or node[key] is None:
            return default
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(node.line_of(key), f"{context}.{key}: expected an integer, got {_kind(value)}")
            return default
        if not low <= value <= high:
            self.problem(node.line_of(key), f"{context}.{key}: {value} is out of range {low}..{high}")
            return default
        return value

    def number(self, node: YMap, key: str, context: str, default: float, low: float, high: float) -> float:
        if key not in node or node[key] is None:
            return default
        value = node[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.problem(node.line_of(key), f"{context}.{key}: expected a number, got {_kind(value)}")
            return default
        if not low <= value <= high:
            self.problem(node.line_of(key), f"{context}.{key}: {value} is out of range {low}..{high}")
            return default
        return float(value)

    def boolean(self, node: YMap, key: str, context: str, default: bool) -> bool:
        if key not in node or node[key] is None:
            return default
        value = node[key]
        if not isinstance(value, bool):
            self.problem(node.line_of(key), f"{context}.{key}: expected true or false, got {_kind(value)}")
            return default
        return value

    def strings(self, node: YMap, key: str, context: str, required: bool = False) -> list[tuple[str, int]]:
        """A list of strings, each with its line."""
        if key not in node or node[key] is None:
            if required:
                self.problem(node.line, f"{context}: missing '{key}'")
            return []
        value = node[key]
        if isinstance(value, str):  # a single value written without brackets
            return [(value, node.line_of(key))]
        if not isinstance(value, YList):
            self.problem(node.line_of(key), f"{context}.{key}: expected a list, got {_kind(value)}")
            return []
        result = []
        for index, item in enumerate(value):
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                self.problem(value.line_of(index), f"{context}.{key}[{index}]: expected a string, got {_kind(item)}")
                continue
            result.append((str(item).strip(), value.line_of(index)))
        if required and not result:
            self.problem(node.line_of(key), f"{context}.{key}: must not be empty")
        return result

    def choice(self, node: YMap, key: str, context: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(node, key, context, default=default)
        if value not in choices:
            self.problem(node.line_of(key), f"{context}.{key}: '{value}' is not one of {', '.join(choices)}")
            return default
        return value

    def domain(self, value: str, line: int, context: str, file: str | None = None,
               underscore: bool = False) -> str | None:
        try:
            return to_a_label(value, underscore)
        except AddressError as exc:
            self.problem(line, f"{context}: {exc}", file)
            return None


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return f"the string '{value}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(key, allowed, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


# ---------------------------------------------------------------------------
# sections


_PLATFORM_KEYS = (
    "name", "mx", "sending_ips", "spf_include", "dkim", "dmarc", "webmail_url",
    "imap_host", "smtp_host", "imap_port", "smtp_port", "checks", "outside_ip",
)


def _platform(r: _Reader, root: YMap, base: Path) -> Platform | None:
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


def _dkim(r: _Reader, platform: YMap, base: Path) -> DkimPolicy | None:
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
    keys: dict[str, str] = {}
    pk = r.mapping(node, "public_keys", ctx, required=False)
    if pk is not None:
        for selector, path in pk.items():
            line = pk.line_of(selector)
            if selector not in selectors:
                r.problem(line, f"{ctx}.public_keys: '{selector}' is not one of the selectors")
            if not isinstance(path, str):
                r.problem(line, f"{ctx}.public_keys.{selector}: expected a file name, got {_kind(path)}")
                continue
            key = _read_public_key(r, base / path, path, line, f"{ctx}.public_keys.{selector}")
            if key:
                keys[selector] = key
    bits = r.integer(node, "min_key_bits", ctx, 2048, 1024, 16384)
    return DkimPolicy(selectors=tuple(selectors), public_keys=keys, min_key_bits=bits)


def _read_public_key(r: _Reader, path: Path, shown: str, line: int, ctx: str) -> str | None:
    """Read a DKIM public key file: PEM, bare base64 or a DKIM TXT record."""
    import base64
    import binascii

    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        r.problem(line, f"{ctx}: file not found: {shown}")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        r.problem(line, f"{ctx}: cannot read {shown}: {exc}")
        return None
    if "p=" in text:
        match = re.search(r"(?:^|;)\s*p=([^;]*)", text.replace('"', "").replace("\n", ""))
        body = match.group(1) if match else ""
    else:
        body = "".join(ln for ln in text.splitlines() if not ln.startswith("-----"))
    body = "".join(body.split())
    try:
        base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        body = ""
    if not body:
        r.problem(line, f"{ctx}: {shown} holds no base64 public key")
        return None
    return body


def _dmarc(r: _Reader, platform: YMap) -> DmarcPolicy | None:
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
    "tls_verify", "profile", "password_scheme", "password_length", "page_size", "timeout", "workers",
)


def _directory(r: _Reader, root: YMap, base: Path, env: Mapping[str, str]) -> DirectorySettings | None:
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
    base_dn = r.string(node, "base_dn", ctx, required=True)
    bind_dn = r.string(node, "bind_dn", ctx, required=True)
    for key, dn in (("base_dn", base_dn), ("bind_dn", bind_dn)):
        if dn and "=" not in dn:
            r.problem(node.line_of(key), f"{ctx}.{key}: '{dn}' is not a distinguished name")
    pw_env = r.string(node, "bind_password_env", ctx) or None
    pw_file = r.string(node, "bind_password_file", ctx) or None
    if pw_file and not os.path.isabs(pw_file):
        pw_file = str(base / pw_file)
    if pw_env is None and pw_file is None:
        pw_env = "MAILPROV_BIND_PASSWORD"
    profile: str | ProfileSpec = "inetorgperson"
    if isinstance(node.get("profile"), YMap):
        spec = _profile_spec(r, node["profile"])
        profile = spec if spec else profile
    else:
        profile = r.choice(node, "profile", ctx, tuple(BUILTIN), "inetorgperson")
    ca_file = r.string(node, "ca_file", ctx) or None
    if ca_file and not os.path.isabs(ca_file):
        ca_file = str(base / ca_file)
    return DirectorySettings(
        urls=tuple(urls), base_dn=base_dn, bind_dn=bind_dn, bind_password_env=pw_env,
        bind_password_file=pw_file, start_tls=r.boolean(node, "start_tls", ctx, False),
        ca_file=ca_file, tls_verify=r.boolean(node, "tls_verify", ctx, True), profile=profile,
        password_scheme=r.choice(node, "password_scheme", ctx, ("server", "ssha512", "argon2"), "server"),
        password_length=r.integer(node, "password_length", ctx, 16, 16, 128),
        page_size=r.integer(node, "page_size", ctx, 1000, 10, 100000),
        timeout=r.number(node, "timeout", ctx, 10.0, 0.1, 600.0),
        workers=r.integer(node, "workers", ctx, 4, 1, 32),
    )


def _apply_env(r: _Reader, node: YMap, env: Mapping[str, str]) -> YMap:
    """Overlay the MAILPROV_* connection variables on the directory section."""
    merged = YMap(node)
    merged.line, merged.key_lines = node.line, dict(node.key_lines)
    for var, (key, kind) in ENV_OVERRIDES.items():
        raw = env.get(var)
        if raw is None or raw == "":
            continue
        value: Any = raw
        if kind == "urls":
            items = YList(u for u in re.split(r"[,\s]+", raw) if u)
            items.line, items.item_lines = node.line, [node.line] * len(items)
            value = items
        elif kind == "bool":
            value = parse_bool(raw)
            if value is None:
                r.problem(0, f"expected true or false, got '{raw}'", file=f"${var}")
                continue
        merged[key] = value
    return merged


def _profile_spec(r: _Reader, node: YMap) -> ProfileSpec | None:
    ctx = "directory.profile"
    r.keys(node, ("domain", "mailbox", "status", "quota_unit"), ctx)
    before = len(r.problems)
    parts = {}
    for kind, fields in (("domain", DOMAIN_FIELDS), ("mailbox", MAILBOX_FIELDS)):
        sub = r.mapping(node, kind, ctx)
        if sub is None:
            continue
        sctx = f"{ctx}.{kind}"
        allowed = ("rdn", "object_classes", "attributes", "static") + (("container",) if kind == "mailbox" else ())
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
            static[attr] = tuple(v for v, _ in r.strings(smap, attr, f"{sctx}.static")) if smap else ()
        container = r.string(sub, "container", sctx) or None if kind == "mailbox" else None
        parts[kind] = (rdn, classes, attrs, static, container)
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


def _defaults(r: _Reader, root: YMap) -> Defaults:
    node = r.mapping(root, "defaults", "configuration", required=False)
    if node is None:
        return Defaults()
    r.keys(node, ("quota_mb", "language"), "defaults")
    return Defaults(
        quota_mb=r.integer(node, "quota_mb", "defaults", 2048, QUOTA_MIN_MB, QUOTA_MAX_MB),
        language=r.choice(node, "language", "defaults", LANGUAGES, "id"),
    )


def _notify(r: _Reader, root: YMap) -> Notify | None:
    node = r.mapping(root, "notify", "configuration", required=False)
    if node is None:
        return None
    ctx = "notify"
    r.keys(node, ("smtp_host", "smtp_port", "starttls", "from", "to", "agency_contacts", "username",
                  "password_env"), ctx)
    to = [addr for addr, line in r.strings(node, "to", ctx, required=True) if _check_email(r, addr, line, ctx)]
    sender = r.string(node, "from", ctx, required=True)
    if sender:
        _check_email(r, sender, node.line_of("from"), ctx)
    return Notify(
        smtp_host=r.string(node, "smtp_host", ctx, required=True),
        smtp_port=r.integer(node, "smtp_port", ctx, 25, 1, 65535),
        starttls=r.boolean(node, "starttls", ctx, False),
        sender=sender, to=tuple(to),
        agency_contacts=r.boolean(node, "agency_contacts", ctx, False),
        username=r.string(node, "username", ctx) or None,
        password_env=r.string(node, "password_env", ctx) or None,
    )


def _check_email(r: _Reader, address: str, line: int, ctx: str) -> bool:
    local, sep, domain = address.rpartition("@")
    if not sep or not local or " " in local:
        r.problem(line, f"{ctx}: '{address}' is not an e-mail address")
        return False
    return r.domain(domain, line, ctx) is not None


def _letters(r: _Reader, root: YMap) -> LetterSettings:
    node = r.mapping(root, "letters", "configuration", required=False)
    if node is None:
        return LetterSettings()
    ctx = "letters"
    r.keys(node, ("organization", "unit", "address", "phone", "website", "place", "number_code", "signatory"), ctx)
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
        unit=r.string(node, "unit", ctx), address=r.string(node, "address", ctx),
        phone=r.string(node, "phone", ctx), website=r.string(node, "website", ctx),
        place=r.string(node, "place", ctx, default=defaults.place),
        number_code=r.string(node, "number_code", ctx, default=defaults.number_code),
        signatory=signatory,
    )


# ---------------------------------------------------------------------------
# agencies and mailboxes

_AGENCY_KEYS = ("id", "name", "domain", "contact", "quota_mb", "language", "city", "address",
                "mailboxes", "mailboxes_csv")
_MAILBOX_KEYS = ("local", "name", "title", "employee_id", "quota_mb", "aliases", "active")


class _Seen:
    """First place each agency id, domain and address was defined."""

    def __init__(self) -> None:
        self.ids: dict[str, Source] = {}
        self.domains: dict[str, Source] = {}
        self.addresses: dict[str, tuple[Source, str]] = {}


def _agencies(r: _Reader, root: YMap, base: Path, defaults: Defaults) -> list[Agency]:
    items = root.get("agencies")
    if items is None:
        r.problem(root.line, "configuration: missing 'agencies'")
        return []
    if not isinstance(items, YList):
        r.problem(root.line_of("agencies"), f"agencies: expected a list, got {_kind(items)}")
        return []
    seen = _Seen()
    agencies = []
    for index, node in enumerate(items):
        line = items.line_of(index)
        if not isinstance(node, YMap):
            r.problem(line, f"agencies[{index}]: expected a mapping, got {_kind(node)}")
            continue
        agency = _agency(r, node, index, base, defaults, seen)
        if agency is not None:
            agencies.append(agency)
    return agencies


def _agency(r: _Reader, node: YMap, index: int, base: Path, defaults: Defaults, seen: _Seen) -> Agency | None:
    agency_id = r.string(node, "id", f"agencies[{index}]", required=True)
    ctx = f"agency '{agency_id}'" if agency_id else f"agencies[{index}]"
    r.keys(node, _AGENCY_KEYS, ctx)
    here = Source(r.file, node.line)
    if agency_id:
        if not _AGENCY_ID.match(agency_id):
            r.problem(node.line_of("id"), f"{ctx}: id must be lower-case letters, digits and hyphens")
        elif agency_id in seen.ids:
            r.problem(node.line_of("id"), f"duplicate agency id '{agency_id}' (first at {seen.ids[agency_id]})")
        else:
            seen.ids[agency_id] = Source(r.file, node.line_of("id"))
    name = r.string(node, "name", ctx, required=True)
    written = r.string(node, "domain", ctx, required=True)
    domain = r.domain(written, node.line_of("domain"), ctx) if written else None
    if domain:
        if domain in seen.domains:
            r.problem(node.line_of("domain"), f"duplicate domain '{domain}' (first at {seen.domains[domain]})")
        else:
            seen.domains[domain] = Source(r.file, node.line_of("domain"))
    contact = _contact(r, node, ctx)
    quota = r.integer(node, "quota_mb", ctx, defaults.quota_mb, QUOTA_MIN_MB, QUOTA_MAX_MB)
    language = r.choice(node, "language", ctx, LANGUAGES, defaults.language)
    mailboxes: list[Mailbox] = []
    listed = node.get("mailboxes")
    if listed is not None and not isinstance(listed, YList):
        r.problem(node.line_of("mailboxes"), f"{ctx}.mailboxes: expected a list, got {_kind(listed)}")
    elif listed:
        for i, item in enumerate(listed):
            mb = _yaml_mailbox(r, item, listed.line_of(i), f"{ctx}.mailboxes[{i}]", domain, quota)
            if mb:
                mailboxes.append(mb)
    csv_name = r.string(node, "mailboxes_csv", ctx)
    if csv_name:
        mailboxes.extend(_csv_mailboxes(r, base, csv_name, node.line_of("mailboxes_csv"), ctx, domain, quota))
    if domain:
        for mb in mailboxes:
            _register_addresses(r, mb, seen)
    if not (agency_id and name and domain):
        return None
    return Agency(
        id=agency_id, name=name, domain=domain, domain_display=to_unicode(domain), contact=contact,
        quota_mb=quota, language=language, mailboxes=tuple(mailboxes),
        city=r.string(node, "city", ctx), address=r.string(node, "address", ctx), source=here,
    )


def _contact(r: _Reader, node: YMap, ctx: str) -> Contact:
    sub = r.mapping(node, "contact", ctx, required=False)
    if sub is None:
        return Contact(name="")
    r.keys(sub, ("name", "title", "email"), f"{ctx}.contact")
    email = r.string(sub, "email", f"{ctx}.contact")
    if email:
        _check_email(r, email, sub.line_of("email"), f"{ctx}.contact.email")
    return Contact(
        name=r.string(sub, "name", f"{ctx}.contact", required=True),
        title=r.string(sub, "title", f"{ctx}.contact"),
        email=email,
    )


def _aliases(raw: list[tuple[str, int]], domain: str | None, report: Any) -> tuple[str, ...]:
    result = []
    for alias, line in raw:
        local, sep, alias_domain = alias.rpartition("@")
        if not sep:
            local, alias_domain = alias, domain or ""
        try:
            local = check_local(local)
            alias_domain = to_a_label(alias_domain) if alias_domain else ""
        except AddressError as exc:
            report(line, f"alias: {exc}")
            continue
        if domain and alias_domain != domain:
            report(line, f"alias '{alias}' must be in the agency's domain {domain}")
            continue
        result.append(f"{local}@{alias_domain}")
    return tuple(result)


def _yaml_mailbox(r: _Reader, node: Any, line: int, ctx: str, domain: str | None, quota: int) -> Mailbox | None:
    if not isinstance(node, YMap):
        r.problem(line, f"{ctx}: expected a mapping, got {_kind(node)}")
        return None
    r.keys(node, _MAILBOX_KEYS, ctx)
    local_raw = r.string(node, "local", ctx, required=True)
    local = None
    if local_raw:
        try:
            local = check_local(local_raw)
        except AddressError as exc:
            r.problem(node.line_of("local"), f"{ctx}: {exc}")
    name = r.string(node, "name", ctx, required=True)
    aliases = _aliases(r.strings(node, "aliases", ctx), domain, lambda ln, msg: r.problem(ln, f"{ctx}: {msg}"))
    mb_quota = r.integer(node, "quota_mb", ctx, quota, QUOTA_MIN_MB, QUOTA_MAX_MB)
    if not (local and name and domain):
        return None
    return Mailbox(
        local=local, domain=domain, name=name, title=r.string(node, "title", ctx),
        employee_id=r.string(node, "employee_id", ctx), quota_mb=mb_quota, aliases=aliases,
        active=r.boolean(node, "active", ctx, True), source=Source(r.file, node.line),
    )


def _csv_mailboxes(r: _Reader, base: Path, name: str, line: int, ctx: str, domain: str | None,
                   quota: int) -> list[Mailbox]:
    path = base / name
    shown = str(path)
    try:
        rows = csvsrc.read_rows(path)
    except FileNotFoundError:
        r.problem(line, f"{ctx}.mailboxes_csv: file not found: {shown}")
        return []
    except csvsrc.CsvFormatError as exc:
        r.problem(exc.line, str(exc), file=shown)
        return []
    unknown = [c for c in rows.columns if c not in csvsrc.COLUMNS]
    for column in unknown:
        r.problem(1, f"unknown column '{column}' (known: {', '.join(csvsrc.COLUMNS)})", file=shown)
    for column in csvsrc.REQUIRED:
        if column not in rows.columns:
            r.problem(1, f"missing column '{column}'", file=shown)
    if unknown or any(c not in rows.columns for c in csvsrc.REQUIRED):
        return []
    result = []
    for row in rows.rows:
        if row.error:
            r.problem(row.line, row.error, file=shown)
            continue
        found: list[str] = []
        mb = _csv_mailbox(row, domain, quota, shown, found)
        for message in found:
            r.problem(row.line, message, file=shown)
        if mb:
            result.append(mb)
    return result


def _csv_mailbox(row: csvsrc.Row, domain: str | None, quota: int, shown: str, found: list[str]) -> Mailbox | None:
    """One CSV row as a mailbox; its problems are appended to ``found``."""
    values = row.values
    ok = True

    def report(_line: int, message: str) -> None:
        found.append(message)
    local = values.get("local", "")
    try:
        local = check_local(local)
    except AddressError as exc:
        report(row.line, str(exc))
        ok = False
    name = values.get("name", "").strip()
    if not name:
        report(row.line, "missing name")
        ok = False
    mb_quota = quota
    if values.get("quota_mb", "").strip():
        try:
            mb_quota = int(values["quota_mb"])
            if not QUOTA_MIN_MB <= mb_quota <= QUOTA_MAX_MB:
                report(row.line, f"quota_mb {mb_quota} is out of range {QUOTA_MIN_MB}..{QUOTA_MAX_MB}")
                ok = False
        except ValueError:
            report(row.line, f"quota_mb '{values['quota_mb']}' is not an integer")
            ok = False
    active = True
    if values.get("active", "").strip():
        parsed = parse_bool(values["active"])
        if parsed is None:
            report(row.line, f"active '{values['active']}' is not true or false")
            ok = False
        else:
            active = parsed
    raw_aliases = [(a.strip(), row.line) for a in values.get("aliases", "").split(";") if a.strip()]
    aliases = _aliases(raw_aliases, domain, report)
    if not ok or found or not domain:
        return None
    return Mailbox(
        local=local, domain=domain, name=name, title=values.get("title", "").strip(),
        employee_id=values.get("employee_id", "").strip(), quota_mb=mb_quota, aliases=aliases,
        active=active, source=Source(shown, row.line),
    )


def _register_addresses(r: _Reader, mailbox: Mailbox, seen: _Seen) -> None:
    src = mailbox.source or Source(r.file, 0)
    for address, what in [(mailbox.address, "mailbox")] + [(a, "alias") for a in mailbox.aliases]:
        if address in seen.addresses:
            first, first_what = seen.addresses[address]
            article = "an" if first_what == "alias" else "a"
            r.problem(src.line, f"duplicate address '{address}' ({what}; already {article} {first_what} at {first})",
                      file=src.file)
        else:
            seen.addresses[address] = (src, what)


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
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem(shown, 0, f"cannot read configuration: {exc}")]) from None
    data, problems = load_yaml(text, shown)
    if problems and data is None:
        raise ConfigError(problems)
    r = _Reader(shown)
    r.problems.extend(problems)
    if not isinstance(data, YMap):
        r.problem(getattr(data, "line", 1), "configuration: expected a mapping at the top level")
        raise ConfigError(r.problems)
    base = file.parent
    r.keys(data, ("platform", "directory", "defaults", "agencies", "notify", "letters"), "configuration")
    platform = _platform(r, data, base)
    directory = _directory(r, data, base, env or {})
    defaults = _defaults(r, data)
    agencies = _agencies(r, data, base, defaults)
    notify = _notify(r, data)
    letters = _letters(r, data)
    if r.problems or platform is None or directory is None:
        if not r.problems:  # pragma: no cover - every None path reports first
            r.problem(1, "configuration is incomplete")
        raise ConfigError(r.problems)
    return Config(
        path=file, platform=platform, directory=directory, defaults=defaults,
        agencies=tuple(agencies), notify=notify, letters=letters,
    )
