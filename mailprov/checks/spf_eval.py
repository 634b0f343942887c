"""RFC 7208 ``check_host()``: SPF evaluated, not pattern-matched.

Record selection, the whole term syntax (parsed before anything is
evaluated, so a syntax error anywhere is a permerror), every mechanism and
modifier, macro expansion (section 7, IPv6 ``%{i}`` as nibbles), the limit
of 10 DNS-querying terms, the void-lookup limit of 2, include and redirect
semantics and loops (caught by the lookup limit, as the RFC intends), and
``exp=`` explanations. It runs on any ``Resolver``, so the RFC 7208 test
suite runs it against an in-memory zone and ``dns check`` against the
network.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import time
import urllib.parse
from dataclasses import dataclass, field

from .messages import Reason, ReasonError
from .resolver import NODATA, NXDOMAIN, OK, Answer, Resolver

IP = ipaddress.IPv4Address | ipaddress.IPv6Address

PASS, FAIL, SOFTFAIL, NEUTRAL = "pass", "fail", "softfail", "neutral"
NONE, PERMERROR, TEMPERROR = "none", "permerror", "temperror"
QUALIFIERS = {"+": PASS, "-": FAIL, "~": SOFTFAIL, "?": NEUTRAL}
MAX_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2
MAX_MX_PTR_NAMES = 10

_MECHANISMS = ("all", "include", "a", "mx", "ptr", "ip4", "ip6", "exists")
_MODIFIER = re.compile(r"^([A-Za-z][A-Za-z0-9\-_.]*)=(.*)$", re.S)
_MACRO = re.compile(r"%(?:\{([a-zA-Z])(\d*)(r?)([.\-+,/_=]*)\}|(.))", re.S)
_TOPLABEL = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9]+$|^[A-Za-z0-9]+-[A-Za-z0-9-]*[A-Za-z0-9]$")
_DOMAIN_MACROS = set("slodiphv")
_EXP_MACROS = _DOMAIN_MACROS | set("crt")


class SpfError(ReasonError):
    """Ends evaluation with ``permerror`` or ``temperror``."""

    def __init__(self, result: str, reason: Reason) -> None:
        super().__init__(reason)
        self.result = result


@dataclass
class Outcome:
    """The result of check_host() with why, and the lookups it took."""
    result: str
    #: why, in each language (``reason.text("en")``)
    reason: Reason
    explanation: str | None = None
    #: the record of the domain check_host started at, if there was one
    record: str | None = None
    lookups: int = 0
    void_lookups: int = 0
    #: the result may differ for another domain with the same record: a macro was expanded, or a mechanism
    #: without a domain (a, mx, ptr) asked about the domain itself
    domain_bound: bool = False


@dataclass(frozen=True)
class Term:
    """One mechanism or modifier of an SPF record, parsed."""
    kind: str  # a mechanism name, or "redirect" / "exp" / "unknown"
    qualifier: str = "+"
    domain_spec: str | None = None
    ip_network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    cidr4: int = 32
    cidr6: int = 128
    text: str = ""


#: (result, reason, lookups, void lookups) of an include evaluated without macros
_Memoized = tuple[str, Reason, int, int]
#: (ip, included domain) -> the include's result when it depended on nothing but the address, else None; not
#: done while its first evaluation is under way
IncludeMemo = dict[tuple[IP, str], "asyncio.Future[_Memoized | None]"]


@dataclass
class _Context:
    """One check_host() evaluation: the address asked about, its macros' values and the limits' counts."""
    resolver: Resolver
    ip: IP
    sender: str
    helo: str
    receiver: str
    now: int
    lookups: int = 0
    voids: int = 0
    validated: dict[str, str] = field(default_factory=dict)
    memo: IncludeMemo | None = None
    #: a macro was expanded since this was last cleared: the result depends on more than the address
    expanded: bool = False
    #: includes this evaluation is working out for the memo, which other evaluations may be waiting for
    holding: int = 0
    #: the domain check_host() was asked about
    domain: str = ""
    #: a mechanism without a domain (a, mx, ptr) was evaluated for ``domain`` itself
    domain_bound: bool = False

    def count_lookup(self, term: str) -> None:
        self.lookups += 1
        if self.lookups > MAX_LOOKUPS:
            raise SpfError(PERMERROR, Reason("spf.why.lookups", {"max": MAX_LOOKUPS, "term": term}))

    def count_void(self, answer: Answer) -> None:
        if answer.status in (NXDOMAIN, NODATA) or (answer.status == OK and not answer.values):
            self.voids += 1
            if self.voids > MAX_VOID_LOOKUPS:
                raise SpfError(PERMERROR, Reason("spf.why.voids", {"max": MAX_VOID_LOOKUPS}))


# -- syntax ------------------------------------------------------------------------


def _check_macro_string(text: str, allowed: set[str]) -> None:
    pos = 0
    for match in _MACRO.finditer(text):
        literal = text[pos:match.start()]
        if any(not 0x21 <= ord(c) <= 0x7E or c == "%" for c in literal):
            raise SpfError(PERMERROR, Reason("spf.why.bad_char", {"text": text}))
        pos = match.end()
        letter, single = match.group(1), match.group(5)
        if single is not None and single not in "%_-":
            raise SpfError(PERMERROR, Reason("spf.why.not_macro", {"single": single, "text": text}))
        if letter is not None and letter.lower() not in allowed:
            raise SpfError(PERMERROR, Reason("spf.why.macro_letter", {"letter": letter, "text": text}))
    rest = text[pos:]
    if "%" in rest or any(not 0x21 <= ord(c) <= 0x7E for c in rest):
        raise SpfError(PERMERROR, Reason("spf.why.bad_macro", {"text": text}))


def _check_domain_spec(spec: str) -> None:
    if not spec:
        raise SpfError(PERMERROR, Reason("spf.why.empty_spec"))
    _check_macro_string(spec, _DOMAIN_MACROS)
    if spec.endswith("}") or spec.endswith(("%%", "%_", "%-")):
        return  # domain-end is a macro-expand
    labels = spec.rstrip(".").rsplit(".", 1)
    if len(labels) < 2 or not _TOPLABEL.match(labels[1]):
        raise SpfError(PERMERROR, Reason("spf.why.bad_tld", {"spec": spec}))


def _cidr(text: str, maximum: int) -> int:
    if not text or not text.isdigit() or (len(text) > 1 and text[0] == "0") or int(text) > maximum:
        raise SpfError(PERMERROR, Reason("spf.why.bad_cidr", {"text": text}))
    return int(text)


_DUAL_CIDR = re.compile(r"^(.*?)(?:/(\d+))?(?://(\d+))?$", re.S)


def _split_dual_cidr(rest: str) -> tuple[str, int, int]:
    """':domain/24//64' -> (':domain', 24, 64); a '/' not followed by digits belongs to the domain."""
    match = _DUAL_CIDR.match(rest)
    assert match is not None  # the pattern matches every string
    spec, v4, v6 = match.groups()
    return spec, _cidr(v4, 32) if v4 is not None else 32, _cidr(v6, 128) if v6 is not None else 128


def parse_term(text: str) -> Term:
    modifier = _MODIFIER.match(text)
    if modifier:
        name, value = modifier.group(1).lower(), modifier.group(2)
        if name in ("redirect", "exp"):
            _check_domain_spec(value)
            return Term(kind=name, domain_spec=value, text=text)
        _check_macro_string(value, _EXP_MACROS)
        return Term(kind="unknown", text=text)
    qualifier = "+"
    body = text
    if body[:1] in QUALIFIERS:
        qualifier, body = body[0], body[1:]
    name = re.match(r"^[A-Za-z0-9]+", body)
    mech = name.group(0).lower() if name else ""
    rest = body[len(mech):] if name else body
    if mech not in _MECHANISMS:
        raise SpfError(PERMERROR, Reason("spf.why.unknown", {"text": text}))
    if mech == "all":
        if rest:
            raise SpfError(PERMERROR, Reason("spf.why.bad_all", {"text": text}))
        return Term("all", qualifier, text=text)
    if mech in ("ip4", "ip6"):
        if not rest.startswith(":"):
            raise SpfError(PERMERROR, Reason("spf.why.needs_address", {"text": text}))
        address, _, length = rest[1:].partition("/")
        try:
            if mech == "ip4":
                ipaddress.IPv4Address(address)
                bits = _cidr(length, 32) if "/" in rest else 32
                network: ipaddress.IPv4Network | ipaddress.IPv6Network = ipaddress.IPv4Network(
                    f"{address}/{bits}", strict=False)
            else:
                if "." in address.rsplit(":", 1)[-1] and address.count(":") < 2:
                    raise ValueError(address)
                ipaddress.IPv6Address(address)
                bits = _cidr(length, 128) if "/" in rest else 128
                network = ipaddress.IPv6Network(f"{address}/{bits}", strict=False)
        except ValueError:
            raise SpfError(PERMERROR, Reason("spf.why.bad_address", {"text": text})) from None
        return Term(mech, qualifier, ip_network=network, text=text)
    if mech in ("a", "mx"):
        spec, cidr4, cidr6 = _split_dual_cidr(rest)
        if spec:
            if not spec.startswith(":"):
                raise SpfError(PERMERROR, Reason("spf.why.bad_term", {"text": text}))
            spec = spec[1:]
            _check_domain_spec(spec)
        return Term(mech, qualifier, domain_spec=spec or None, cidr4=cidr4, cidr6=cidr6, text=text)
    if mech == "ptr":
        if rest and not rest.startswith(":"):
            raise SpfError(PERMERROR, Reason("spf.why.bad_term", {"text": text}))
        if rest:
            _check_domain_spec(rest[1:])
        return Term("ptr", qualifier, domain_spec=rest[1:] or None, text=text)
    # include, exists: a domain-spec is required
    if not rest.startswith(":") or len(rest) < 2:
        raise SpfError(PERMERROR, Reason("spf.why.needs_domain", {"text": text}))
    _check_domain_spec(rest[1:])
    return Term(mech, qualifier, domain_spec=rest[1:], text=text)


@functools.lru_cache(maxsize=4096)
def parse_record(record: str) -> tuple[Term, ...]:
    """Parse a whole record; a syntax error anywhere is a permerror before anything is looked up.

    Cached: a run evaluates the same record for several addresses, and every
    agency's record includes the same platform record.
    """
    if not record.isascii():
        raise SpfError(PERMERROR, Reason("spf.why.not_ascii"))
    body = record[6:]  # after "v=spf1"
    terms = []
    redirects = exps = 0
    for word in body.split(" "):
        if not word:
            continue
        term = parse_term(word)
        redirects += term.kind == "redirect"
        exps += term.kind == "exp"
        terms.append(term)
    if redirects > 1 or exps > 1:
        raise SpfError(PERMERROR, Reason("spf.why.modifier_twice"))
    return tuple(terms)


def select_record(records: list[bytes]) -> list[str]:
    """The TXT records that are SPF records (``v=spf1`` then a space or the end)."""
    found = []
    for raw in records:
        text = raw.decode("latin-1")
        if text[:6].lower() == "v=spf1" and (len(text) == 6 or text[6] == " "):
            found.append(text)
    return found


# -- macros ------------------------------------------------------------------------


def _ip_dotted(ip: IP) -> str:
    if ip.version == 4:
        return str(ip)
    return ".".join(ip.exploded.replace(":", "").upper())


def _truncate(domain: str) -> str:
    while len(domain) > 253 and "." in domain:
        domain = domain.split(".", 1)[1]
    return domain


async def expand(ctx: _Context, text: str, domain: str, exp: bool = False) -> str:
    if "%" not in text:  # nearly every domain-spec: nothing to expand
        return text if exp else _truncate(text)
    ctx.expanded = True
    out = []
    pos = 0
    for match in _MACRO.finditer(text):
        out.append(text[pos:match.start()])
        pos = match.end()
        single = match.group(5)
        if single is not None:
            out.append({"%": "%", "_": " ", "-": "%20"}[single])
            continue
        letter, digits, reverse, delimiters = match.group(1), match.group(2), match.group(3), match.group(4)
        value = await _macro_value(ctx, letter.lower(), domain)
        parts = re.split("[" + re.escape(delimiters or ".") + "]", value)
        if reverse:
            parts.reverse()
        if digits:
            count = int(digits)
            if count == 0:
                raise SpfError(PERMERROR, Reason("spf.why.transformer_zero"))
            parts = parts[-count:]
        value = ".".join(parts)
        if letter.isupper():
            value = urllib.parse.quote(value, safe="-._~")
        out.append(value)
    out.append(text[pos:])
    result = "".join(out)
    return result if exp else _truncate(result)


async def _macro_value(ctx: _Context, letter: str, domain: str) -> str:
    local, _, sender_domain = ctx.sender.rpartition("@")
    values = {
        "s": ctx.sender, "l": local or "postmaster", "o": sender_domain, "d": domain, "i": _ip_dotted(ctx.ip),
        "h": ctx.helo, "c": str(ctx.ip), "r": ctx.receiver, "t": str(ctx.now),
        "v": "in-addr" if ctx.ip.version == 4 else "ip6",
    }
    if letter == "p":
        return await _validated_name(ctx, domain) or "unknown"
    return values[letter]


# -- lookups -----------------------------------------------------------------------


def _valid_name(name: str) -> bool:
    name = name.rstrip(".")
    if not name or len(name) > 253 or "." not in name:
        return False
    labels = name.split(".")
    return "" not in labels and max(map(len, labels)) <= 63


async def _lookup(ctx: _Context, name: str, rdtype: str, void: bool = True) -> Answer:
    answer = await ctx.resolver.query(name, rdtype)
    if answer.error:
        raise SpfError(TEMPERROR, Reason("spf.why.dns", {"what": answer.describe(), "name": name, "rdtype": rdtype}))
    if void:
        ctx.count_void(answer)
    return answer


async def _addresses(ctx: _Context, name: str, void: bool = True) -> list[IP]:
    rdtype = "A" if ctx.ip.version == 4 else "AAAA"
    answer = await _lookup(ctx, name, rdtype, void)
    found = []
    for value in answer.values:
        try:
            found.append(ipaddress.ip_address(value))
        except ValueError:
            continue
    return found


def _in(ip: IP, addresses: list[IP], cidr4: int, cidr6: int) -> bool:
    for address in addresses:
        if address.version != ip.version:
            continue
        bits = cidr4 if ip.version == 4 else cidr6
        if ip in ipaddress.ip_network(f"{address}/{bits}", strict=False):
            return True
    return False


async def _ptr_names(ctx: _Context) -> list[str]:
    """Names of the PTR records of <ip> whose addresses include <ip> (validated), at most 10 tried."""
    answer = await ctx.resolver.query(ctx.ip.reverse_pointer, "PTR")
    if answer.error:
        return []
    validated = []
    for name in list(answer.values)[:MAX_MX_PTR_NAMES]:
        addresses = await ctx.resolver.query(name, "A" if ctx.ip.version == 4 else "AAAA")
        if addresses.error:
            continue
        if any(ipaddress.ip_address(v) == ctx.ip for v in addresses.values):
            validated.append(name)
    return validated


async def _validated_name(ctx: _Context, domain: str) -> str | None:
    names = await _ptr_names(ctx)
    if not names:
        return None
    for name in names:  # the target itself or a subdomain of it is preferred
        if name.lower() == domain.lower() or name.lower().endswith("." + domain.lower()):
            return name
    return names[0]


# -- evaluation ----------------------------------------------------------------------


async def _match(ctx: _Context, term: Term, domain: str) -> bool | str:
    """True/False for a match, or a result string from an include."""
    kind = term.kind
    if kind == "all":
        return True
    if kind in ("ip4", "ip6"):
        assert term.ip_network is not None
        return ctx.ip.version == term.ip_network.version and ctx.ip in term.ip_network
    ctx.count_lookup(term.text)
    target = await expand(ctx, term.domain_spec, domain) if term.domain_spec else domain
    if not term.domain_spec and domain == ctx.domain:
        ctx.domain_bound = True
    if kind == "include":
        result = await _include(ctx, target)
        if result.result == PASS:
            return True
        if result.result in (FAIL, SOFTFAIL, NEUTRAL):
            return False
        if result.result == NONE:
            raise SpfError(PERMERROR, Reason("spf.why.include_none", {"target": target}))
        raise SpfError(result.result, result.reason)
    if not _valid_name(target):
        return False
    if kind == "a":
        return _in(ctx.ip, await _addresses(ctx, target), term.cidr4, term.cidr6)
    if kind == "mx":
        answer = await _lookup(ctx, target, "MX")
        hosts = sorted(answer.values)
        if len(hosts) > MAX_MX_PTR_NAMES:
            raise SpfError(PERMERROR, Reason("spf.why.too_many_mx", {"target": target, "max": MAX_MX_PTR_NAMES}))
        for _, host in hosts:
            if host and _in(ctx.ip, await _addresses(ctx, host, void=False), term.cidr4, term.cidr6):
                return True
        return False
    if kind == "exists":
        answer = await _lookup(ctx, target, "A")
        return bool(answer.values)
    if kind == "ptr":
        for name in await _ptr_names(ctx):
            if name.lower() == target.lower() or name.lower().endswith("." + target.lower()):
                return True
        return False
    raise SpfError(PERMERROR, Reason("spf.why.unknown", {"text": kind}))


async def _include(ctx: _Context, target: str) -> Outcome:
    """The included domain's result, from the run's memo when another evaluation worked it out for this address.

    Every agency includes the platform's record: evaluated once per address
    instead of once per agency. The agencies of a run are checked side by
    side, so the first evaluation leaves a future in the memo and the others
    wait for it. Only results that depended on nothing but the address (no
    macro expanded, no limit reached) are kept, and one is reused only when
    its lookups still fit under this evaluation's limits, so the outcome is
    the one a full evaluation would give.

    An evaluation that is itself working out an include others may be
    waiting for never waits: two includes that include each other, worked
    out by two evaluations at once, would wait for each other for ever.
    """
    memo = ctx.memo
    if memo is None:
        return (await _evaluate_include(ctx, target))[0]
    key = (ctx.ip, target)
    known = memo.get(key)
    if known is None:
        future = memo[key] = asyncio.get_running_loop().create_future()
        ctx.holding += 1
        entry = None
        try:
            outcome, entry = await _evaluate_include(ctx, target)
        finally:
            ctx.holding -= 1
            if not future.done():  # (cancelled by a waiter: the run is being cancelled)
                future.set_result(entry)
        return outcome
    if not known.done() and not ctx.holding:
        await known
    entry = known.result() if known.done() and not known.cancelled() else None
    if entry is not None and ctx.lookups + entry[2] <= MAX_LOOKUPS and ctx.voids + entry[3] <= MAX_VOID_LOOKUPS:
        ctx.lookups += entry[2]
        ctx.voids += entry[3]
        return Outcome(entry[0], entry[1])
    return (await _evaluate_include(ctx, target))[0]


async def _evaluate_include(ctx: _Context, target: str) -> tuple[Outcome, _Memoized | None]:
    """The included domain's result, and what the memo may keep of it (None: it depended on more than the
    address)."""
    lookups, voids, expanded = ctx.lookups, ctx.voids, ctx.expanded
    ctx.expanded = False
    result = await _check(ctx, target, nested=True)
    entry = None
    if not ctx.expanded and result.result in (PASS, FAIL, SOFTFAIL, NEUTRAL, NONE):
        entry = (result.result, result.reason, ctx.lookups - lookups, ctx.voids - voids)
    ctx.expanded = ctx.expanded or expanded
    return result, entry


async def _explanation(ctx: _Context, term: Term, domain: str) -> str | None:
    try:
        assert term.domain_spec is not None
        target = await expand(ctx, term.domain_spec, domain)
        answer = await ctx.resolver.query(target, "TXT")
        if answer.status != OK or len(answer.values) != 1:
            return None
        text = answer.values[0].decode("ascii")
        _check_macro_string(text.replace(" ", "%_"), _EXP_MACROS)
        return await expand(ctx, text, domain, exp=True)
    except (SpfError, UnicodeDecodeError):
        return None


async def _check(ctx: _Context, domain: str, nested: bool = False) -> Outcome:
    domain = domain.rstrip(".")
    if not _valid_name(domain) or domain.startswith("["):
        return Outcome(NONE, Reason("spf.why.invalid_domain", {"domain": domain}))
    answer = await ctx.resolver.query(domain, "TXT")
    if answer.status == NXDOMAIN:
        return Outcome(NONE, Reason("spf.why.no_domain", {"domain": domain}))
    if answer.error:
        return Outcome(TEMPERROR, Reason("spf.why.dns_record", {"what": answer.describe(), "domain": domain}))
    records = select_record(list(answer.values))
    if not records:
        return Outcome(NONE, Reason("spf.why.no_record", {"domain": domain}))
    if len(records) > 1:
        return Outcome(PERMERROR, Reason("spf.why.several", {"domain": domain, "count": len(records)}))
    record = records[0]
    try:
        terms = parse_record(record)
        redirect = next((t for t in terms if t.kind == "redirect"), None)
        exp = next((t for t in terms if t.kind == "exp"), None)
        for term in terms:
            if term.kind in ("redirect", "exp", "unknown"):
                continue
            matched = await _match(ctx, term, domain)
            if matched is True:
                verdict = QUALIFIERS[term.qualifier]
                explanation = None
                if verdict == FAIL and exp is not None and not nested:
                    explanation = await _explanation(ctx, exp, domain)
                return Outcome(verdict, Reason("spf.why.matched", {"term": term.text, "domain": domain}), explanation,
                               record)
        if redirect is not None:
            ctx.count_lookup(redirect.text)
            assert redirect.domain_spec is not None
            target = await expand(ctx, redirect.domain_spec, domain)
            result = await _check(ctx, target, nested=nested)
            if result.result == NONE:
                return Outcome(PERMERROR, Reason("spf.why.redirect_none", {"target": target}), record=record)
            result.record = record
            return result
    except SpfError as exc:
        return Outcome(exc.result, exc.reason, record=record)
    return Outcome(NEUTRAL, Reason("spf.why.no_match", {"domain": domain}), record=record)


@functools.lru_cache(maxsize=256)
def _address(ip: str) -> IP:
    """The address check_host evaluates (an IPv4-mapped IPv6 address as IPv4); a run asks for a few, many times."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


async def check_host(resolver: Resolver, ip: str, domain: str, sender: str, helo: str = "",
                     receiver: str = "unknown", now: int | None = None, memo: IncludeMemo | None = None) -> Outcome:
    """The result of RFC 7208 ``check_host(<ip>, <domain>, <sender>)``.

    ``memo``, shared by the evaluations of one run (against the same DNS
    data), lets an include evaluated for one domain answer for the next.
    """
    address = _address(ip)
    local, at, _ = sender.rpartition("@")
    if not at:
        sender = f"postmaster@{sender}"
    elif not local:
        sender = f"postmaster{sender}"
    ctx = _Context(resolver, address, sender, helo, receiver, int(time.time()) if now is None else now, memo=memo,
                   domain=domain.rstrip("."))
    outcome = await _check(ctx, domain)
    outcome.lookups, outcome.void_lookups = ctx.lookups, ctx.voids
    outcome.domain_bound = ctx.expanded or ctx.domain_bound
    return outcome
