"""tls-rpt (RFC 8460): a ``_smtp._tls`` record that says where TLS failure reports go. Warn at most."""

from __future__ import annotations

from ..model import Platform
from .messages import Reason
from .resolver import Resolver
from .result import PASS, WARN, CheckResult, dns_error
from .taglist import TagListError, parse


async def check_tls_rpt(resolver: Resolver, domain: str, platform: Platform) -> CheckResult:
    answer = await resolver.query(f"_smtp._tls.{domain}", "TXT")
    if answer.error:
        return dns_error("tls-rpt", answer)
    records = [v.decode("utf-8", "replace") for v in answer.values]
    found = [r for r in records if r.replace(" ", "").startswith("v=TLSRPTv1")]
    if not found:
        return CheckResult("tls-rpt", WARN, [Reason("tls-rpt.missing")], records)
    if len(found) > 1:
        return CheckResult("tls-rpt", WARN, [Reason("tls-rpt.invalid", {"detail": f"{len(found)} records"})], found)
    try:
        tags = parse(found[0])
    except TagListError as exc:
        return CheckResult("tls-rpt", WARN, [Reason("tls-rpt.invalid", {"detail": str(exc)})], found)
    rua = [u.strip() for u in tags.get("rua", "").split(",") if u.strip()]
    if not rua or not all(u.lower().startswith(("mailto:", "https:")) for u in rua):
        detail = "rua= needs mailto: or https: URIs"
        return CheckResult("tls-rpt", WARN, [Reason("tls-rpt.invalid", {"detail": detail})], found)
    return CheckResult("tls-rpt", PASS, [Reason("tls-rpt.ok", {"rua": ", ".join(rua)})], found)
