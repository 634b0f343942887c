"""mta-sts (RFC 8461): the ``_mta-sts`` record and the policy it announces. Warn at most.

The policy is fetched over HTTPS from ``mta-sts.DOMAIN``, at the address the
run's own resolver gives for that name (so the lab and the nightly job see
the same DNS), with the certificate verified for that name.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ..model import Platform
from ..records import mta_sts_name
from .messages import Reason, ReasonError
from .resolver import Resolver
from .result import PASS, WARN, CheckResult
from .taglist import single

MAX_POLICY_BYTES = 64 * 1024
MAX_AGE = 31557600


class PolicyError(ReasonError):
    """What is wrong with fetching or reading a policy."""


@dataclass(frozen=True)
class PolicyFetcher:
    """How policies are fetched: port 443 and the system CAs, unless a lab says otherwise."""

    port: int = 443
    ca_file: str | None = None
    timeout: float = 5.0

    async def fetch(self, resolver: Resolver, host: str) -> str:
        answer = await resolver.query(host, "A")
        if not answer.error and not answer.values:  # an IPv6-only web server: senders with IPv6 fetch it there
            answer = await resolver.query(host, "AAAA")
        if answer.error or not answer.values:
            raise PolicyError(Reason("mta-sts.why.no_address", {
                "host": host, "what": answer.describe() if answer.error else answer.status}))
        context = ssl.create_default_context(cafile=self.ca_file)
        async with asyncio.timeout(self.timeout):
            reader, writer = await asyncio.open_connection(answer.values[0], self.port, ssl=context,
                                                           server_hostname=host)
            try:
                # HTTP/1.0: the body comes as it is (no chunked encoding) and ends where the connection does
                writer.write(f"GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: {host}\r\n"
                             "User-Agent: mailprov\r\n\r\n".encode())
                data = await _read_to_end(reader)
            finally:
                writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        status, *headers = head.decode("latin-1").split("\r\n")
        if " 200 " not in status + " ":
            raise PolicyError(Reason("mta-sts.why.http", {"status": status}))
        # RFC 8461 3.2: the media type MUST be text/plain and senders SHOULD check it (a web server that lets
        # users put HTML or images at a path of their choosing), so a policy served otherwise may be ignored
        given = [value.strip() for name, _, value in (h.partition(":") for h in headers)
                 if name.strip().lower() == "content-type"]
        if not given:
            raise PolicyError(Reason("mta-sts.why.no_content_type"))
        if given[-1].split(";", 1)[0].strip().lower() != "text/plain":
            raise PolicyError(Reason("mta-sts.why.content_type", {"type": given[-1]}))
        return body.decode("utf-8", "replace")


async def _read_to_end(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes, at most ``MAX_POLICY_BYTES`` (one read returns
    only what has arrived: the headers may come in one TLS record and the policy in the next)."""
    data = bytearray()
    while chunk := await reader.read(MAX_POLICY_BYTES):
        data += chunk
        if len(data) > MAX_POLICY_BYTES:
            raise PolicyError(Reason("mta-sts.why.too_long", {"kib": MAX_POLICY_BYTES // 1024}))
    return bytes(data)


Fetch = Callable[[Resolver, str], Awaitable[str]]


def parse_policy(text: str) -> dict[str, list[str]]:
    policy: dict[str, list[str]] = {}
    for line in text.replace("\r\n", "\n").split("\n"):
        if not line.strip():
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise PolicyError(Reason("mta-sts.why.line", {"line": line}))
        policy.setdefault(key.strip().lower(), []).append(value.strip())
    return policy


def mx_matches(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        return host.count(".") == pattern.count(".") and host.endswith(pattern[1:])
    return pattern == host


async def check_mta_sts(resolver: Resolver, domain: str, platform: Platform, fetch: Fetch | None = None) -> CheckResult:
    chosen = single("mta-sts", await resolver.query(mta_sts_name(domain), "TXT"), "v=STSv1")
    if isinstance(chosen, CheckResult):
        return chosen
    found, tags = chosen
    policy_id = tags.get("id", "")
    if not policy_id or not policy_id.isalnum() or len(policy_id) > 32:
        return CheckResult("mta-sts", WARN, [Reason("mta-sts.invalid", {"detail": Reason("mta-sts.why.id")})],
                           found)
    host = f"mta-sts.{domain}"
    url = f"https://{host}/.well-known/mta-sts.txt"

    def problem(detail: Reason | str) -> CheckResult:
        return CheckResult("mta-sts", WARN, [Reason("mta-sts.policy", {"url": url, "detail": detail})], found)

    try:
        text = await (fetch or PolicyFetcher().fetch)(resolver, host)
        policy = parse_policy(text)
    except PolicyError as exc:
        return problem(exc.reason)
    except (OSError, ssl.SSLError, TimeoutError, ValueError) as exc:  # the TLS library's or the system's words
        return problem(str(exc) or type(exc).__name__)
    if policy.get("version") != ["STSv1"]:
        return problem(Reason("mta-sts.why.version"))
    mode = (policy.get("mode") or [""])[0]
    if mode not in ("enforce", "testing", "none"):
        return problem(Reason("mta-sts.why.mode", {"mode": mode}))
    max_age = (policy.get("max_age") or [""])[0]
    if not max_age.isdigit() or int(max_age) > MAX_AGE:  # RFC 8461 3.2: required, at most a year
        return problem(Reason("mta-sts.why.max_age", {"max_age": max_age, "most": MAX_AGE}) if max_age
                       else Reason("mta-sts.why.no_max_age"))
    patterns = policy.get("mx", [])
    uncovered = [h for h in platform.mx if not any(mx_matches(p, h) for p in patterns)]
    if uncovered:
        return problem(Reason("mta-sts.why.mx", {"hosts": ", ".join(uncovered)}))
    if mode != "enforce":
        return problem(Reason("mta-sts.why.not_enforce", {"mode": mode}))
    return CheckResult("mta-sts", PASS, [Reason("mta-sts.ok", {"mode": mode, "id": policy_id})], [*found, text.strip()])
