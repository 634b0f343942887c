"""tls-rpt (RFC 8460): a ``_smtp._tls`` record that says where TLS failure reports go. Warn at most."""

from __future__ import annotations

from ..model import Platform
from .messages import Reason
from .resolver import Resolver
from .result import PASS, WARN, CheckResult, dns_error
from .taglist import single


async def check_tls_rpt(resolver: Resolver, domain: str, platform: Platform) -> CheckResult:
    answer = await resolver.query(f"_smtp._tls.{domain}", "TXT")
    if answer.error:
        return dns_error("tls-rpt", answer)
    records = list(answer.texts)
    found, tags, problem = single(records, "v=TLSRPTv1")
    if problem == "missing":
        return CheckResult("tls-rpt", WARN, [Reason("tls-rpt.missing")], records)
    if tags is None:
        return CheckResult("tls-rpt", WARN, [Reason("tls-rpt.invalid", {"detail": problem})], found)
    rua = [u.strip() for u in tags.get("rua", "").split(",") if u.strip()]
    if not rua or not all(u.lower().startswith(("mailto:", "https:")) for u in rua):
        detail = "rua= needs mailto: or https: URIs"
        return CheckResult("tls-rpt", WARN, [Reason("tls-rpt.invalid", {"detail": detail})], found)
    return CheckResult("tls-rpt", PASS, [Reason("tls-rpt.ok", {"rua": ", ".join(rua)})], found)
