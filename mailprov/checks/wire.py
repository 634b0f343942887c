"""DNS messages on the wire (RFC 1035 section 4, RFC 6891 EDNS) for the checks' fast path.

A compliance run asks thousands of plain questions (MX, TXT, A, AAAA, PTR,
CNAME) and reads the answer section only. dnspython builds and parses a full
message object for each, which measured at about 0.4 ms of CPU per query and
kept 1,000 domains well above 2 s. Those questions are encoded and their
answers decoded here; DNSSEC lookups, which need RRSIG objects, and TCP
fallbacks still go through dnspython.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
from dataclasses import dataclass
from typing import Any

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28, "DS": 43, "DNSKEY": 48}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
FLAG_QR, FLAG_TC, FLAG_RD = 0x8000, 0x0200, 0x0100
EDNS_PAYLOAD = 1232
#: the OPT record every query ends with (RFC 6891): the root name, type 41, the payload size, no flags
_OPT_RECORD = b"\x00" + struct.pack("!HHIH", 41, EDNS_PAYLOAD, 0, 0)
OPT_SIZE = len(_OPT_RECORD)


class WireFormatError(ValueError):
    pass


def encode_name(name: str) -> bytes:
    out = bytearray()
    for label in name.rstrip(".").split("."):
        raw = label.encode("ascii")
        if not 0 < len(raw) < 64:
            raise WireFormatError(f"bad label in {name!r}")
        out.append(len(raw))
        out += raw
    out.append(0)
    return bytes(out)


def encode_query(query_id: int, name: str, rdtype: str) -> bytes:
    """A recursive query with an EDNS OPT record (payload 1232, the DNS flag day size)."""
    header = struct.pack("!HHHHHH", query_id, FLAG_RD, 1, 0, 0, 1)
    question = encode_name(name) + struct.pack("!HH", TYPES[rdtype], 1)
    return header + question + _OPT_RECORD


def _read_name(data: bytes, pos: int, seen: dict[int, str]) -> tuple[str, int]:
    """A (possibly compressed) name at ``pos``, lower-cased; returns it and the position after it.

    ``seen`` holds the names already read in this message by offset: most
    owner names are a pointer to the question's name, and answering them from
    it is a dictionary lookup instead of a walk over the labels. A pointer
    past the end raises IndexError, which ``decode_response`` reports.
    """
    start = pos
    labels: list[bytes] = []
    end = -1
    jumps = 0
    while True:
        length = data[pos]
        if length >= 0xC0:
            pointer = ((length & 0x3F) << 8) | data[pos + 1]
            if end < 0:
                end = pos + 2
            known = seen.get(pointer)
            if known is not None:
                if known:
                    labels.append(known.encode("ascii"))
                break
            jumps += 1
            if jumps > 64:
                raise WireFormatError("compression loop")
            pos = pointer
            continue
        if length & 0xC0:
            raise WireFormatError("unknown label type")
        pos += 1
        if length == 0:
            break
        if pos + length > len(data):
            raise WireFormatError("name runs past the message")
        labels.append(data[pos:pos + length])
        pos += length
    name = b".".join(labels).decode("ascii", "replace").lower()
    seen[start] = name
    return name, (end if end >= 0 else pos)


#: RFC 8914 Extended DNS Error codes: why a resolver answered SERVFAIL or REFUSED
EDE_NAMES = {
    0: "Other Error", 1: "Unsupported DNSKEY Algorithm", 2: "Unsupported DS Digest Type", 3: "Stale Answer",
    4: "Forged Answer", 5: "DNSSEC Indeterminate", 6: "DNSSEC Bogus", 7: "Signature Expired",
    8: "Signature Not Yet Valid", 9: "DNSKEY Missing", 10: "RRSIGs Missing", 11: "No Zone Key Bit Set",
    12: "NSEC Missing", 13: "Cached Error", 14: "Not Ready", 15: "Blocked", 16: "Censored", 17: "Filtered",
    18: "Prohibited", 19: "Stale NXDOMAIN Answer", 20: "Not Authoritative", 21: "Not Supported",
    22: "No Reachable Authority", 23: "Network Error", 24: "Invalid Data",
}
_OPT, _EDE = 41, 15


@dataclass(slots=True)
class Response:
    """A DNS reply decoded as far as the checks read it."""
    query_id: int
    flags: int
    rcode: int
    qname: str
    qtype: int
    #: (owner, type, decoded value) of every answer record
    answers: list[tuple[str, int, Any]]
    #: the Extended DNS Error of an error answer, as text ("DNSSEC Bogus (signature expired)"); read only then
    extended_error: str = ""

    @property
    def truncated(self) -> bool:
        return bool(self.flags & FLAG_TC)


def _rdata(data: bytes, rtype: int, start: int, end: int, seen: dict[int, str]) -> Any:
    if rtype == 1 and end - start == 4:
        return socket.inet_ntoa(data[start:end])
    if rtype == 28 and end - start == 16:
        return str(ipaddress.IPv6Address(data[start:end]))
    if rtype == 15:
        return struct.unpack_from("!H", data, start)[0], _read_name(data, start + 2, seen)[0]
    if rtype in (2, 5, 12):
        return _read_name(data, start, seen)[0]
    if rtype == 16:
        parts = []
        pos = start
        while pos < end:
            length = data[pos]
            if pos + 1 + length > end:
                raise WireFormatError("TXT string runs past its record")
            parts.append(data[pos + 1:pos + 1 + length])
            pos += 1 + length
        return b"".join(parts)
    return data[start:end]


def decode_response(data: bytes, asked: bytes = b"", name: str = "") -> Response:
    """The header, question and answer records of a response; ``WireFormatError`` for anything malformed.

    ``asked``: the question section of the query and ``name`` its name. A
    reply that repeats it byte for byte (as servers do) is not read again:
    its name is ``name``, and every owner name that points at it is too.
    """
    try:
        return _decode_response(data, asked, name)
    except WireFormatError:
        raise
    except (struct.error, IndexError, ValueError) as exc:  # a pointer or a length past the end
        raise WireFormatError(f"malformed response: {exc}") from None


def _decode_response(data: bytes, asked: bytes, name: str) -> Response:
    if len(data) < 12:
        raise WireFormatError("shorter than a DNS header")
    query_id, flags, qdcount, ancount, _nscount, _arcount = struct.unpack_from("!HHHHHH", data, 0)
    pos = 12
    qname, qtype = "", 0
    seen: dict[int, str] = {}
    if asked and qdcount == 1 and data[12:12 + len(asked)] == asked:
        qname, qtype = name, (asked[-4] << 8) | asked[-3]
        seen[12] = name
        pos += len(asked)
        qdcount = 0
    for _ in range(qdcount):
        qname, pos = _read_name(data, pos, seen)
        qtype = struct.unpack_from("!H", data, pos)[0]
        pos += 4
    answers = []
    for _ in range(ancount):
        owner, pos = _read_name(data, pos, seen)
        if pos + 10 > len(data):
            raise WireFormatError("truncated record")
        rtype, _cls, _ttl, length = struct.unpack_from("!HHIH", data, pos)
        pos += 10
        if pos + length > len(data):
            raise WireFormatError("record data runs past the message")
        answers.append((owner, rtype, _rdata(data, rtype, pos, pos + length, seen)))
        pos += length
    rcode = flags & 0x000F
    extended = _extended_error(data, pos, _nscount + _arcount, seen) if rcode else ""
    return Response(query_id, flags, rcode, qname, qtype, answers, extended)


def _extended_error(data: bytes, pos: int, records: int, seen: dict[int, str]) -> str:
    """The first Extended DNS Error (RFC 8914) in the OPT record among ``records`` from ``pos``, as text.

    Only an explanation: a malformed rest of the message leaves the answer's rcode standing ("").
    """
    try:
        return _find_extended_error(data, pos, records, seen)
    except (WireFormatError, struct.error, IndexError):
        return ""


def _find_extended_error(data: bytes, pos: int, records: int, seen: dict[int, str]) -> str:
    for _ in range(records):
        _owner, pos = _read_name(data, pos, seen)
        rtype, _cls, _ttl, length = struct.unpack_from("!HHIH", data, pos)
        pos += 10
        end = pos + length
        if rtype == _OPT:
            while pos + 4 <= end:
                code, size = struct.unpack_from("!HH", data, pos)
                if pos + 4 + size > end:  # an option longer than its record
                    return ""
                if code == _EDE and size >= 2:
                    info = struct.unpack_from("!H", data, pos + 4)[0]
                    extra = data[pos + 6:pos + 4 + size].decode("utf-8", "replace").strip()
                    name = EDE_NAMES.get(info, f"extended error {info}")
                    return f"{name} ({extra})" if extra else name
                pos += 4 + size
        pos = end
    return ""
