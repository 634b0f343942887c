"""tls-rpt (RFC 8460): a ``_smtp._tls`` record that says where TLS failure reports go. Warn at most."""

from __future__ import annotations

from ..model import Platform
from ..records import tls_rpt_name
from .messages import Reason
from .resolver import Resolver
from .result import PASS, WARN, CheckResult
from .taglist import single


async def check_tls_rpt(resolver: Resolver, domain: str, platform: Platform) -> CheckResult:
    chosen = single("tls-rpt", await resolver.query(tls_rpt_name(domain), "TXT"), "v=TLSRPTv1")
    if isinstance(chosen, CheckResult):
        return chosen
    found, tags = chosen
    rua = [u.strip() for u in tags.get("rua", "").split(",") if u.strip()]
    if not rua or not all(u.lower().startswith(("mailto:", "https:")) for u in rua):
        return CheckResult("tls-rpt", WARN, [Reason("tls-rpt.invalid", {"detail": Reason("tls-rpt.why.rua")})], found)
    return CheckResult("tls-rpt", PASS, [Reason("tls-rpt.ok", {"rua": ", ".join(rua)})], found)
