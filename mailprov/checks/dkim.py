"""dkim: each platform selector's key record (RFC 6376 section 3.6.1), CNAMEs followed."""

from __future__ import annotations

import base64
import binascii
from functools import lru_cache

from ..dkimkey import rsa_bits
from ..model import Platform
from ..records import dkim_name, platform_domain
from .messages import Reason
from .resolver import Answer, Resolver
from .result import FAIL, PASS, WARN, CheckResult, dns_error, doubled_record, worst
from .taglist import TagListError, parse

MIN_RSA_BITS = 1024

Verdict = tuple[str, str, dict[str, object]]  # status, message id, message parameters


def evaluate(text: str, name: str, selector: str, platform: Platform) -> CheckResult:
    """The verdict on one DKIM key record."""
    configured = platform.dkim.public_keys.get(selector)
    verdicts = _verdicts(text, configured.p if configured else None, platform.dkim.min_key_bits)
    reasons = [Reason(message, {"name": name, "selector": selector, **params}) for _, message, params in verdicts]
    return CheckResult("dkim", worst([status for status, _, _ in verdicts]), reasons, [text], selector)


@lru_cache(maxsize=256)
def _verdicts(text: str, configured: str | None, min_key_bits: int) -> tuple[Verdict, ...]:
    """What is right or wrong with a key record, whoever publishes it.

    Remembered by the record's text: agencies publish the very record their
    letter gives them (or a CNAME to the platform's), so a run of 1,000
    domains would otherwise parse and decode one key a thousand times. The
    parameters are shared between calls: read them, never change them.
    """
    # a quote in a record that does not parse: most likely a panel given the zone file's text, quotes and all
    quoted: Verdict = (FAIL, "dkim.invalid", {"detail": Reason("dkim.why.quotes")})
    try:
        tags = parse(text)
    except TagListError as exc:
        return (quoted if '"' in text else (FAIL, "dkim.invalid", {"detail": exc.reason}),)
    if "v" in tags and (next(iter(tags)) != "v" or tags["v"] != "DKIM1"):
        return ((FAIL, "dkim.invalid", {"detail": Reason("dkim.why.v_first")}),)
    if "p" not in tags:
        return ((FAIL, "dkim.invalid", {"detail": Reason("tags.missing", {"tag": "p"})}),)
    key_type = tags.get("k", "rsa")
    if key_type not in ("rsa", "ed25519"):
        return ((FAIL, "dkim.invalid", {"detail": Reason("dkim.why.key_type", {"k": key_type})}),)
    # RFC 6376 3.6.1: a key limited to other hashes or other services does not verify the platform's mail
    hashes = [h.strip().lower() for h in tags["h"].split(":")] if "h" in tags else []
    if hashes and "sha256" not in hashes:
        return ((FAIL, "dkim.invalid", {"detail": Reason("dkim.why.hash", {"h": tags["h"]})}),)
    services = [s.strip().lower() for s in tags["s"].split(":")] if "s" in tags else []
    if services and not {"*", "email"} & set(services):
        return ((FAIL, "dkim.invalid", {"detail": Reason("dkim.why.service", {"s": tags["s"]})}),)
    body = "".join(tags["p"].split())
    if not body:
        return ((FAIL, "dkim.revoked", {}),)
    if configured and body != configured and configured.startswith(body):
        return ((FAIL, "dkim.invalid", {"detail": Reason("dkim.why.cut", {"have": len(body),
                                                                        "want": len(configured)})}),)
    try:
        der = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        if '"' in body:
            return (quoted,)
        why = "dkim.why.pem" if "-----BEGIN" in body.upper() else "dkim.why.base64"
        return ((FAIL, "dkim.invalid", {"detail": Reason(why)}),)
    if configured and base64.b64decode(configured) != der:
        return ((FAIL, "dkim.mismatch", {}),)
    warnings: list[Verdict] = []
    if key_type == "ed25519":
        if len(der) != 32:
            return ((FAIL, "dkim.invalid", {"detail": Reason("dkim.why.ed25519", {"size": len(der)})}),)
        description = "ed25519"
    else:
        try:
            bits = rsa_bits(der)
        except ValueError:
            return ((FAIL, "dkim.invalid", {"detail": Reason("dkim.why.not_rsa")}),)
        if bits < MIN_RSA_BITS:
            return ((FAIL, "dkim.weak", {"bits": bits}),)
        if bits < min_key_bits:
            warnings.append((WARN, "dkim.short", {"bits": bits, "minimum": min_key_bits}))
        description = f"RSA {bits} bit"
    flags = [f.strip() for f in tags.get("t", "").split(":")]
    if "y" in flags:
        warnings.append((WARN, "dkim.testing", {}))
    return tuple(warnings) or ((PASS, "dkim.ok", {"kind": description}),)


def _alias_reasons(answer: Answer, selector: str, domain: str, platform: Platform) -> list[Reason]:
    """Where a CNAME led to nothing: named, and when it is the platform's name with the domain appended
    (the CNAME's target written without its final dot), said so with the fix."""
    if not answer.target:
        return []
    reasons = [Reason("dkim.alias_empty", {"name": answer.name, "target": answer.target})]
    meant = dkim_name(selector, platform_domain(platform))
    if answer.target == f"{meant}.{domain}":
        reasons.append(Reason("domain.appended", {"name": answer.target, "meant": meant}))
    return reasons


async def check_dkim(resolver: Resolver, domain: str, platform: Platform) -> list[CheckResult]:
    results = []
    for selector in platform.dkim.selectors:
        name = dkim_name(selector, domain)
        answer = await resolver.query(name, "TXT")
        if answer.error:
            results.append(dns_error("dkim", answer, selector))
            continue
        texts = list(answer.texts)
        if not texts:
            doubled, where = ([], []) if answer.target else await doubled_record(resolver, name, domain)
            results.append(CheckResult("dkim", FAIL, [Reason("dkim.missing", {"name": name}),
                                                      *_alias_reasons(answer, selector, domain, platform), *where],
                                       doubled, selector))
        elif len(texts) > 1:
            results.append(CheckResult("dkim", FAIL, [Reason("dkim.multiple", {"name": name, "count": len(texts)})],
                                       texts, selector))
        else:
            results.append(evaluate(texts[0], name, selector, platform))
    return results
