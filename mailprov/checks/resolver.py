"""One asynchronous resolver per run: bounded queries in flight, a cache, CNAMEs followed.

Every lookup of a ``dns check`` run goes through one ``DnsResolver``. All
queries share one UDP socket per nameserver and are matched to their
answers by id and question, so thousands can be in flight without a socket
each; at most ``concurrency`` are outstanding at once. Answers are cached for
the run (and concurrent asks for the same name wait for the same query), so
a record every agency includes, such as the platform's SPF include, is
fetched once.

Answers come back as plain ``Answer`` values; checks never see dnspython
objects, which is what lets the SPF conformance suite run against an
in-memory zone (``MemoryResolver``) through the same interface.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

OK, NXDOMAIN, NODATA = "ok", "nxdomain", "nodata"
TIMEOUT, SERVFAIL, REFUSED, FAILURE = "timeout", "servfail", "refused", "error"
#: statuses that answer the question (the name does or does not have records)
ANSWERED = (OK, NXDOMAIN, NODATA)
MAX_CNAME_CHAIN = 8


@dataclass(frozen=True)
class Answer:
    name: str
    rdtype: str
    status: str
    #: TXT: bytes per record (strings joined); A/AAAA/PTR/CNAME/NS: str; MX: (preference, host)
    values: tuple[Any, ...] = ()
    #: the names a CNAME chain went through to get here
    chain: tuple[str, ...] = ()
    message: str = ""
    #: DNSSEC material when asked for: (rrset, rrsig rrset) as dnspython objects
    signed: Any = None

    @property
    def texts(self) -> tuple[str, ...]:
        """TXT records as text, the way reports show them."""
        return tuple(display(v) for v in self.values)

    @property
    def answered(self) -> bool:
        return self.status in ANSWERED

    @property
    def error(self) -> bool:
        return not self.answered

    def describe(self) -> str:
        """Why an error is an error, in a word a person can search for."""
        return {TIMEOUT: "timeout", SERVFAIL: "SERVFAIL", REFUSED: "REFUSED"}.get(self.status, self.message
                                                                                     or self.status)


class Resolver(Protocol):
    queries: int

    async def query(self, name: str, rdtype: str, dnssec: bool = False) -> Answer: ...


def display(raw: bytes) -> str:
    """A TXT record's bytes as text (UTF-8, undecodable bytes replaced)."""
    return raw.decode("utf-8", "replace")


def normalise(name: str) -> str:
    return name.rstrip(".").lower()


def _values(rdtype: str, rrset: Iterable[Any]) -> tuple[Any, ...]:
    if rdtype == "TXT":
        return tuple(b"".join(rr.strings) for rr in rrset)
    if rdtype == "MX":
        return tuple((int(rr.preference), normalise(rr.exchange.to_text())) for rr in rrset)
    if rdtype in ("PTR", "CNAME", "NS"):
        return tuple(normalise(rr.target.to_text()) for rr in rrset)
    return tuple(rr.to_text() for rr in rrset)


class _Datagrams(asyncio.DatagramProtocol):
    """One UDP socket; answers handed to the query waiting for their id."""

    def __init__(self) -> None:
        self.waiting: dict[int, asyncio.Future[bytes]] = {}
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram endpoint's transport

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if len(data) < 2:
            return
        future = self.waiting.get(int.from_bytes(data[:2], "big"))
        if future is not None and not future.done():
            future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: every waiting query fails fast
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(exc)


@dataclass
class DnsResolver:
    """Stub resolver over UDP (TCP when truncated) to the given nameservers."""

    nameservers: Sequence[tuple[str, int]]
    timeout: float = 5.0
    concurrency: int = 200
    queries: int = 0
    _cache: dict[tuple[str, str, bool], asyncio.Future[Answer]] = field(default_factory=dict)
    _sockets: dict[tuple[str, int], asyncio.Future[_Datagrams]] = field(default_factory=dict)
    _open_sockets: dict[tuple[str, int], _Datagrams] = field(default_factory=dict)
    _limit: asyncio.Semaphore | None = None

    #: shares of ``timeout`` given to each try: a lost datagram is retried quickly
    TRIES = (0.2, 0.3, 0.5)

    async def query(self, name: str, rdtype: str, dnssec: bool = False) -> Answer:
        key = (normalise(name), rdtype, dnssec)
        cached = self._cache.get(key)
        if cached is None:
            cached = self._cache[key] = asyncio.get_running_loop().create_task(self._resolve(*key))
        elif cached.done():  # most asks of a run are answered from the cache: no waiting machinery
            return cached.result()
        return await asyncio.shield(cached)

    async def _resolve(self, name: str, rdtype: str, dnssec: bool) -> Answer:
        chain: list[str] = []
        current = name
        while True:
            answer = await self._ask(current, rdtype, dnssec)
            target = answer.message if answer.status == "cname" else None
            if target is None:
                return Answer(name, rdtype, answer.status, answer.values, tuple(chain), answer.message, answer.signed)
            chain.append(current)
            if target in chain or len(chain) > MAX_CNAME_CHAIN:
                return Answer(name, rdtype, FAILURE, (), tuple(chain), "CNAME loop")
            current = target

    async def _ask(self, name: str, rdtype: str, dnssec: bool) -> Answer:
        if self._limit is None:
            self._limit = asyncio.Semaphore(self.concurrency)
        last = Answer(name, rdtype, TIMEOUT)
        async with self._limit:
            for attempt, share in enumerate(self.TRIES):
                server = self.nameservers[attempt % len(self.nameservers)]
                try:
                    if dnssec:
                        answer = await self._ask_dnspython(name, rdtype, server, self.timeout * share)
                    else:
                        answer = await self._ask_fast(name, rdtype, server, self.timeout * share)
                except TimeoutError:
                    continue
                except OSError as exc:
                    last = Answer(name, rdtype, FAILURE, message=str(exc.strerror or exc))
                    continue
                if answer.status == SERVFAIL:  # another try, perhaps another server
                    last = answer
                    continue
                return answer
        return last

    # -- the fast path: plain questions, answers read off the wire ------------------
    async def _ask_fast(self, name: str, rdtype: str, server: tuple[str, int], timeout: float) -> Answer:
        from . import wire

        proto = self._open_sockets.get(server) or await self._socket(server)
        query_id = random.randrange(1, 65536)  # noqa: S311 - a query id, and answers are matched on the question
        while query_id in proto.waiting:
            query_id = random.randrange(1, 65536)  # noqa: S311
        try:
            payload = wire.encode_query(query_id, name, rdtype)
        except (wire.WireFormatError, UnicodeEncodeError):
            return Answer(name, rdtype, FAILURE, message="not a valid DNS name")
        loop = asyncio.get_running_loop()
        self.queries += 1
        deadline = loop.time() + timeout
        assert proto.transport is not None
        proto.transport.sendto(payload, server)
        try:
            while True:
                future: asyncio.Future[bytes] = loop.create_future()
                proto.waiting[query_id] = future
                timer = loop.call_at(deadline, _expire, future)
                try:
                    data = await future
                finally:
                    timer.cancel()
                try:
                    response = wire.decode_response(data)
                except wire.WireFormatError:
                    continue  # not an answer to anything: wait for the real one
                if response.flags & wire.FLAG_QR and response.qname == name and response.qtype == wire.TYPES[rdtype]:
                    break
        finally:
            proto.waiting.pop(query_id, None)
        if response.truncated:
            return await self._ask_dnspython(name, rdtype, server, self.timeout, tcp=True)
        status = {0: None, 2: SERVFAIL, 3: NXDOMAIN, 5: REFUSED}.get(response.rcode, FAILURE)
        if status is not None:
            return Answer(name, rdtype, status, message=wire.RCODES.get(response.rcode, str(response.rcode)))
        wanted = wire.TYPES[rdtype]
        owner = name
        for _ in range(MAX_CNAME_CHAIN + 1):
            values = [value for own, rtype, value in response.answers if own == owner and rtype == wanted]
            if values:
                return Answer(name, rdtype, OK, _fast_values(rdtype, values))
            target = next((v for own, rtype, v in response.answers if own == owner and rtype == 5), None)
            if target is None or rdtype == "CNAME":
                break
            owner = target
        if owner != name:  # the chain leaves this server's answer: follow it with a new query
            return Answer(name, rdtype, "cname", message=owner)
        return Answer(name, rdtype, NODATA)

    # -- dnspython: DNSSEC material and TCP -------------------------------------------
    async def _ask_dnspython(self, name: str, rdtype: str, server: tuple[str, int], timeout: float,
                             tcp: bool = False) -> Answer:
        import dns.asyncquery
        import dns.message
        import dns.rcode

        query = dns.message.make_query(name + ".", rdtype, want_dnssec=True, use_edns=0, payload=1232)
        self.queries += 1
        if tcp:
            response = await dns.asyncquery.tcp(query, server[0], timeout=timeout, port=server[1])
        else:
            response = await dns.asyncquery.udp(query, server[0], timeout=timeout, port=server[1])
            if response.flags & 0x0200:  # truncated
                response = await dns.asyncquery.tcp(query, server[0], timeout=timeout, port=server[1])
        rcode = response.rcode()
        if rcode == dns.rcode.SERVFAIL:
            return Answer(name, rdtype, SERVFAIL)
        if rcode == dns.rcode.REFUSED:
            return Answer(name, rdtype, REFUSED)
        if rcode == dns.rcode.NXDOMAIN:
            return Answer(name, rdtype, NXDOMAIN)
        if rcode != dns.rcode.NOERROR:
            return Answer(name, rdtype, FAILURE, message=dns.rcode.to_text(rcode))
        return self._interpret(name, rdtype, response)

    @staticmethod
    def _interpret(name: str, rdtype: str, response: Any) -> Answer:
        import dns.name
        import dns.rdatatype

        qname = dns.name.from_text(name + ".")
        wanted = dns.rdatatype.from_text(rdtype)
        owner = qname
        for _ in range(MAX_CNAME_CHAIN + 1):
            rrset = response.get_rrset(response.answer, owner, 1, wanted)
            if rrset is not None:
                sig = response.get_rrset(response.answer, owner, 1, dns.rdatatype.RRSIG, wanted)
                return Answer(name, rdtype, OK, _values(rdtype, rrset), signed=(rrset, sig))
            cname = response.get_rrset(response.answer, owner, 1, dns.rdatatype.CNAME)
            if cname is None or wanted == dns.rdatatype.CNAME:
                break
            owner = cname[0].target
        if owner != qname:
            return Answer(name, rdtype, "cname", message=normalise(owner.to_text()))
        return Answer(name, rdtype, NODATA)

    async def _socket(self, server: tuple[str, int]) -> _Datagrams:
        """The one socket for ``server``, opened by the first query that needs it."""
        opening = self._sockets.get(server)
        if opening is None:
            opening = self._sockets[server] = asyncio.get_running_loop().create_task(self._open(server))
        proto = await opening
        self._open_sockets[server] = proto
        return proto

    @staticmethod
    async def _open(server: tuple[str, int]) -> _Datagrams:
        import socket

        family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
        any_address = "::" if family == socket.AF_INET6 else "0.0.0.0"  # noqa: S104 - a client socket
        transport, proto = await asyncio.get_running_loop().create_datagram_endpoint(
            _Datagrams, family=family, local_addr=(any_address, 0))
        sock = transport.get_extra_info("socket")
        if sock is not None:  # bursts of answers must not overflow the default buffer
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        return proto

    def close(self) -> None:
        for opening in self._sockets.values():
            if opening.done() and not opening.cancelled() and opening.exception() is None:
                transport = opening.result().transport
                if transport is not None:
                    transport.close()
        self._sockets.clear()
        self._open_sockets.clear()


def _expire(future: asyncio.Future[bytes]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


def _fast_values(rdtype: str, values: list[Any]) -> tuple[Any, ...]:
    if rdtype == "MX":
        return tuple((pref, normalise(host)) for pref, host in values)
    if rdtype in ("PTR", "CNAME", "NS"):
        return tuple(normalise(v) for v in values)
    return tuple(values)


def parse_nameserver(text: str) -> tuple[str, int]:
    """``IP``, ``IP:PORT``, ``[IPv6]:PORT`` or a bare IPv6 address."""
    import ipaddress

    value = text.strip()
    port = 53
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        if rest.startswith(":"):
            port = int(rest[1:])
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
        port = int(port_text)
    else:
        host = value
    ipaddress.ip_address(host)
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range")
    return host, port


def system_nameservers() -> list[tuple[str, int]]:
    """The nameservers of /etc/resolv.conf (read by dnspython, which knows its syntax)."""
    import dns.resolver

    try:
        resolver = dns.resolver.Resolver()
    except dns.resolver.NoResolverConfiguration:
        return []
    return [(str(ns), 53) for ns in resolver.nameservers]
