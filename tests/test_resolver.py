"""The run's one resolver against the lab Knot: bounded in flight, one question per name, TCP, failover."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.dnsproxy import DelayingRelay
from lab.knot import Knot
from lab.zones import Zone, txt
from mailprov.checks.resolver import (
    FAILURE,
    NXDOMAIN,
    OK,
    TIMEOUT,
    Answer,
    DnsResolver,
    parse_nameserver,
    system_nameservers,
)

from .conftest import new_knot
from .helpers import SAMPLE, run

#: more than a UDP answer may carry (EDNS payload 1232): Knot sets TC and the resolver asks again over TCP
LONG_TEXT = "v=DKIM1; k=rsa; p=" + "A" * 3000


@pytest.fixture(scope="module")
def knot(tmp_path_factory: pytest.TempPathFactory, knot_factory: list[Knot]) -> Knot:
    zone = Zone("resolver.test")
    for i in range(60):
        zone.add(f"n{i}", "TXT", txt(f"name {i}"))
    zone.add("besar", "TXT", txt(LONG_TEXT))
    zone.add("alias", "CNAME", "n1")
    zone.add("buntu", "CNAME", "tidak-ada")  # an alias of a name the zone does not have
    zone.add("putar1", "CNAME", "putar2")
    zone.add("putar2", "CNAME", "putar1")
    return new_knot(knot_factory, tmp_path_factory.mktemp("resolver") / "knot", {"resolver.test": zone.text()})


def server_of(knot: Knot) -> tuple[str, int]:
    host, port = knot.address.split(":")
    return host, int(port)


@pytest.fixture
def slow_relay(knot: Knot) -> Iterator[DelayingRelay]:
    relay = DelayingRelay(server_of(knot), 0.02).start()
    yield relay
    relay.stop()


def ask_all(resolver: DnsResolver, questions: list[tuple[str, str]]) -> list[Answer]:
    async def go() -> list[Answer]:
        try:
            return list(await asyncio.gather(*(resolver.query(name, rdtype) for name, rdtype in questions)))
        finally:
            resolver.close()

    return asyncio.run(go())


def relay_server(relay: DelayingRelay) -> tuple[str, int]:
    host, port = relay.address.split(":")
    return host, int(port)


@pytest.mark.parametrize("concurrency", [1, 5, 20])
def test_no_more_questions_in_flight_than_the_bound(slow_relay: DelayingRelay, concurrency: int) -> None:
    slow_relay.peak = 0
    resolver = DnsResolver([relay_server(slow_relay)], timeout=5, concurrency=concurrency)
    answers = ask_all(resolver, [(f"n{i}.resolver.test", "TXT") for i in range(40)])
    assert [a.texts for a in answers] == [(f"name {i}",) for i in range(40)]
    # the relay holds every query 20 ms, so the bound is reached and never passed
    assert slow_relay.peak == concurrency
    assert resolver.queries == 40


def test_a_name_asked_by_many_is_one_question(slow_relay: DelayingRelay) -> None:
    resolver = DnsResolver([relay_server(slow_relay)], timeout=5)
    answers = ask_all(resolver, [("n7.resolver.test", "TXT")] * 50 + [("N7.Resolver.Test.", "TXT")])
    assert {a.texts for a in answers} == {("name 7",)}
    assert resolver.queries == 1


def test_query_ids_come_from_the_systems_csprng(slow_relay: DelayingRelay) -> None:
    # one source port serves a run's questions, so the id is what an off-path forger must guess
    # (RFC 5452): two runs after the same seed of Python's own generator must not repeat each other
    runs = []
    for _ in range(2):
        random.seed(5452)
        del slow_relay.query_ids[:]
        ask_all(DnsResolver([relay_server(slow_relay)], timeout=5), [(f"n{i}.resolver.test", "TXT")
                                                                      for i in range(20)])
        runs.append(list(slow_relay.query_ids))
    assert len(runs[0]) == len(runs[1]) == 20
    assert runs[0] != runs[1]


def test_an_answer_too_long_for_udp_comes_over_tcp(knot: Knot) -> None:
    resolver = DnsResolver([server_of(knot)], timeout=2)
    (answer,) = ask_all(resolver, [("besar.resolver.test", "TXT")])
    assert answer.status == OK
    assert answer.texts == (LONG_TEXT,)
    assert resolver.queries == 2  # the truncated UDP answer, then TCP


def test_cname_nxdomain_and_nodata_are_answers(knot: Knot) -> None:
    resolver = DnsResolver([server_of(knot)], timeout=2)
    alias, missing, nodata = ask_all(resolver, [("alias.resolver.test", "TXT"), ("tidak.resolver.test", "TXT"),
                                                ("n1.resolver.test", "MX")])
    assert (alias.status, alias.texts) == (OK, ("name 1",))
    assert missing.status == NXDOMAIN and not missing.error
    assert nodata.status == "nodata" and not nodata.error
    assert (alias.chain, alias.target, missing.chain, missing.target) == (("alias.resolver.test",),
                                                                         "n1.resolver.test", (), "")


def test_an_alias_that_leads_nowhere_names_where_it_ended(knot: Knot) -> None:
    """RFC 6604: an NXDOMAIN after a CNAME is about the chain's last name, which the reasons then name (an
    alias of the platform's name written without its final dot ends at NAME.DOMAIN)."""
    resolver = DnsResolver([server_of(knot)], timeout=2)
    nowhere, no_mx = ask_all(resolver, [("buntu.resolver.test", "TXT"), ("alias.resolver.test", "MX")])
    assert (nowhere.status, nowhere.name, nowhere.chain, nowhere.target) == (
        NXDOMAIN, "buntu.resolver.test", ("buntu.resolver.test",), "tidak-ada.resolver.test")
    assert (no_mx.status, no_mx.chain, no_mx.target) == ("nodata", ("alias.resolver.test",), "n1.resolver.test")


def test_an_answer_to_another_question_is_not_taken_for_the_answer(knot: Knot) -> None:
    """Answers are matched on the question, not only the 16-bit id: before the real answer, the client gets
    one with its id for another name (as an off-path spoofer or a confused middlebox would send) and its own
    query echoed back (no QR bit). Neither is taken; the real answer is, without asking again."""
    import dns.message

    upstream = server_of(knot)
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", 0))
    front.settimeout(5)

    def serve() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as back:
            back.settimeout(5)
            query, client = front.recvfrom(65535)
            other = dns.message.make_query("n2.resolver.test", "TXT")
            other.id = int.from_bytes(query[:2], "big")
            back.sendto(other.to_wire(), upstream)
            front.sendto(back.recv(65535), client)  # the answer for n2, under n1's id
            front.sendto(query, client)  # the query itself: not an answer
            back.sendto(query, upstream)
            front.sendto(back.recv(65535), client)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        resolver = DnsResolver([front.getsockname()], timeout=3)
        (answer,) = ask_all(resolver, [("n1.resolver.test", "TXT")])
    finally:
        thread.join(5)
        front.close()
    assert (answer.status, answer.texts, resolver.queries) == (OK, ("name 1",), 1)


def test_a_dead_nameserver_is_passed_over(knot: Knot) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()
    # the port is closed now: the first try gets no answer, the next goes to the live server
    resolver = DnsResolver([dead, server_of(knot)], timeout=1)
    (answer,) = ask_all(resolver, [("n3.resolver.test", "TXT")])
    assert (answer.status, answer.texts) == (OK, ("name 3",))
    assert resolver.queries == 2


def test_no_answer_at_all_is_a_timeout_after_every_try(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))  # open, never answers
        resolver = DnsResolver([silent.getsockname()], timeout=0.5)
        (answer,) = ask_all(resolver, [("n3.resolver.test", "TXT")])
    assert answer.status == TIMEOUT and answer.error
    assert answer.describe() == "timeout"
    assert resolver.queries == len(DnsResolver.TRIES)


@pytest.mark.parametrize("garbage", [b"", b"\x00" * 11, b"\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x05abc",
                                     b"\x12\x34\x81\x80\x00\x00\x00\x01\x00\x00\x00\x00\xc0\xff",
                                     b"\x12\x34\x81\x80\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x10\x00\x01\x00\x00"
                                     b"\x00\x00\x00\x05\x09abc",
                                     # a TXT string longer than its record, inside the message
                                     b"\x12\x34\x81\x80\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x10\x00\x01\x00\x00"
                                     b"\x00\x00\x00\x02\x05a\x00\x00\x10\x00\x01\x00\x00\x00\x00\x00\x01\x00"])
def test_malformed_datagrams_are_wire_format_errors(garbage: bytes) -> None:
    from mailprov.checks import wire

    with pytest.raises(wire.WireFormatError):
        wire.decode_response(garbage)


@pytest.mark.parametrize(("asked_name", "read_again"), [("a.test", False), ("A.Test", True), ("b.test", True)])
def test_a_reply_that_repeats_the_question_is_read_the_same_without_reading_it_again(asked_name: str,
                                                                                     read_again: bool) -> None:
    """The resolver hands the decoder its query's question; a reply repeating it byte for byte decodes to
    what a full read gives (owner names pointing at it included). One that differs, in case only or in
    name, is read from its own bytes, and the resolver then compares names."""
    from mailprov.checks import wire

    query = wire.encode_query(0x1234, asked_name, "TXT")
    asked = query[12:-wire.OPT_SIZE]
    reply = bytearray(_error_response(0, b""))
    reply[7] = 1  # one answer: "a.test TXT "hi"", its owner a pointer to the question's name
    answer = b"\xc0\x0c" + bytes.fromhex("0010 0001 00000e10 0003") + b"\x02hi"
    at = 12 + len(b"\x01a\x04test\x00") + 4
    reply[at:at] = answer
    full = wire.decode_response(bytes(reply))
    known = wire.decode_response(bytes(reply), asked, asked_name.lower())
    assert full.qname == "a.test" and full.answers == [("a.test", 16, b"hi")]
    assert (known.qname, known.qtype, known.answers) == (full.qname, full.qtype, full.answers)
    assert (asked == bytes(reply[12:12 + len(asked)])) is not read_again


def test_a_refusal_carries_the_servers_extended_error(knot: Knot) -> None:
    """Knot refuses a name outside its zones with Extended DNS Error 20 (RFC 8914): the answer says so, which
    tells an operator that --nameserver points at an authoritative server, not a resolver."""
    resolver = DnsResolver([server_of(knot)], timeout=5)
    (outside, inside) = ask_all(resolver, [("contoh.example", "MX"), ("n5.resolver.test", "TXT")])
    assert outside.error and outside.describe() == "REFUSED: Not Authoritative"
    assert inside.status == OK


def _error_response(rcode: int, options: bytes, authority: bytes = b"") -> bytes:
    """A reply to 'a.test TXT' with ``rcode``, an authority section and an OPT record carrying ``options``."""
    header = bytes.fromhex("1234") + (0x8180 | rcode).to_bytes(2, "big") + bytes.fromhex("0001 0000")
    header += (1 if authority else 0).to_bytes(2, "big") + bytes.fromhex("0001")
    question = b"\x01a\x04test\x00" + bytes.fromhex("0010 0001")
    opt = b"\x00" + bytes.fromhex("0029 04d0 00000000") + len(options).to_bytes(2, "big") + options
    return header + question + authority + opt


@pytest.mark.parametrize(("rcode", "options", "said"), [
    (2, bytes.fromhex("000f 0002 0006"), "DNSSEC Bogus"),
    (2, bytes.fromhex("000a 0008 0102030405060708") + bytes.fromhex("000f 0012 0007") + b"RRSIG 2026-11-01",
     "Signature Expired (RRSIG 2026-11-01)"),
    (5, bytes.fromhex("000f 0002 0063"), "extended error 99"),
    (2, bytes.fromhex("000a 0008 0102030405060708"), ""),  # a cookie, no extended error
    (2, bytes.fromhex("000f 0040 0006"), ""),  # an option longer than the record: no explanation, no harm
])
def test_extended_dns_errors_are_read_from_error_answers(rcode: int, options: bytes, said: str) -> None:
    from mailprov.checks import wire

    # a no-data answer's SOA before the OPT record: root as both names, then five 32-bit numbers
    soa = b"\xc0\x0c" + bytes.fromhex("0006 0001 00000e10") + (1 + 1 + 20).to_bytes(2, "big") + b"\x00\x00" + \
        bytes(20)
    for authority in (b"", soa):
        response = wire.decode_response(_error_response(rcode, options, authority))
        assert (response.rcode, response.extended_error) == (rcode, said)


def test_a_server_answering_garbage_gives_a_timeout_not_a_hang(tmp_path: Path) -> None:
    import threading

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as bad:
        bad.bind(("127.0.0.1", 0))
        bad.settimeout(0.1)
        stop = threading.Event()

        def answer_garbage() -> None:
            while not stop.is_set():
                try:
                    data, client = bad.recvfrom(2048)
                except TimeoutError:
                    continue
                bad.sendto(data[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00\x3fxx", client)

        thread = threading.Thread(target=answer_garbage, daemon=True)
        thread.start()
        try:
            resolver = DnsResolver([bad.getsockname()], timeout=0.5)
            (answer,) = ask_all(resolver, [("n3.resolver.test", "TXT")])
        finally:
            stop.set()
            thread.join()
    assert answer.status == TIMEOUT


def test_a_question_a_check_waits_for_goes_before_those_asked_ahead(knot: Knot) -> None:
    """Asked ahead (prefetch), questions wait for a slot behind every question somebody waits for: the
    platform's include, asked by the first agency's SPF check, must not wait behind every other agency's."""
    resolver = DnsResolver([server_of(knot)], timeout=5, concurrency=1)

    async def go() -> tuple[Answer, int]:
        try:
            ahead = [f"n{i}.resolver.test" for i in range(30, 50)]
            for name in ahead:
                resolver.prefetch(name, "TXT")
            answer = await resolver.query("n50.resolver.test", "TXT")
            done = sum(resolver._cache[(name, "TXT", False)].done() for name in ahead)
            await asyncio.gather(*(resolver.query(name, "TXT") for name in ahead))
            return answer, done
        finally:
            resolver.close()

    answer, answered_before = asyncio.run(go())
    assert answer.status == OK and answer.texts == ("name 50",)
    assert answered_before <= 1  # at most the one in the only slot when it was asked
    assert resolver.queries == 21


def test_a_run_stopped_part_way_leaves_the_resolver_able_to_answer_in_the_next(slow_relay: DelayingRelay) -> None:
    """Ctrl-C in the middle of a run: questions in flight, others waiting for a slot or asked ahead. After
    close(), the same resolver in a new event loop answers every question, the ones left unanswered too."""
    resolver = DnsResolver([relay_server(slow_relay)], timeout=5, concurrency=2)
    names = [f"n{i}.resolver.test" for i in range(10, 20)]

    async def stopped() -> None:
        try:
            for name in names[5:]:
                resolver.prefetch(name, "TXT")
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*(resolver.query(n, "TXT") for n in names[:5])), 0.03)
        finally:
            resolver.close()

    asyncio.run(stopped())
    answers = ask_all(resolver, [(name, "TXT") for name in names])
    assert [a.texts for a in answers] == [(f"name {i}",) for i in range(10, 20)]


def test_a_domains_checks_ask_side_by_side(slow_relay: DelayingRelay) -> None:
    """A domain whose answers never come costs one timeout, not one per check: its first questions
    (MX, TXT, DKIM, DMARC) are all in flight at once."""
    from mailprov.checks.runner import Target, run_checks
    from mailprov.config import load_config

    from .helpers import SAMPLE

    platform = load_config(SAMPLE, {}).platform
    slow_relay.peak = 0
    report = run_checks([Target("tidak-dilayani.go.id")], platform, [relay_server(slow_relay)], timeout=5)
    assert report.domains[0].status == "error"  # the lab serves no such zone: REFUSED
    assert slow_relay.peak >= 4


def test_a_cname_loop_is_an_error_not_an_endless_chase(knot: Knot) -> None:
    resolver = DnsResolver([server_of(knot)], timeout=2)
    (answer,) = ask_all(resolver, [("putar1.resolver.test", "TXT")])
    assert answer.error and answer.describe() == "CNAME loop"
    assert resolver.queries <= 3


@pytest.mark.parametrize(("text", "server"), [
    ("127.0.0.1", ("127.0.0.1", 53)), (" 127.0.0.1:5300 ", ("127.0.0.1", 5300)), ("::1", ("::1", 53)),
    ("[::1]", ("::1", 53)), ("[::1]:5353", ("::1", 5353)), ("2001:db8::53", ("2001:db8::53", 53)),
])
def test_nameserver_forms(text: str, server: tuple[str, int]) -> None:
    assert parse_nameserver(text) == server


@pytest.mark.parametrize(("text", "why"), [
    ("ns1.lab.test", "'ns1.lab.test' is not an IP address (a nameserver is given by its address: looking up its name "
                     "would need another nameserver)"),
    ("300.1.1.1", "'300.1.1.1' is not an IP address"), ("", "no address given"),
    ("127.0.0.1:0", "port 0 is out of range (1-65535)"), ("127.0.0.1:65536", "port 65536 is out of range (1-65535)"),
    ("[::1]:70000", "port 70000 is out of range (1-65535)"), ("127.0.0.1:dns", "port 'dns' is not a number"),
    ("[::1]:x", "port 'x' is not a number"), ("[::1]:", "port '' is not a number"),
    ("127.0.0.1:", "port '' is not a number"),
    ("[::1", "an IPv6 address with a port is written [IPv6]:PORT"),
    ("[::1]53", "an IPv6 address with a port is written [IPv6]:PORT"),
])
def test_a_nameserver_that_is_not_an_address_is_refused_saying_why(text: str, why: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_nameserver(text)
    assert str(raised.value) == why


def test_a_nameserver_port_nobody_listens_on_is_refused_at_once() -> None:
    """A mistyped --nameserver port: the ICMP port unreachable reaches the (connected) socket, so every try
    fails with that reason instead of each question waiting out its timeout (30 s here) as 'timeout'."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: nothing listens there
    resolver = DnsResolver([("127.0.0.1", port)], timeout=30)
    (answer,) = ask_all(resolver, [("n4.resolver.test", "MX")])
    assert answer.error and answer.status == FAILURE
    assert answer.describe() == "Connection refused"
    assert resolver.answers == 0


def test_a_datagram_the_system_refuses_to_send_is_an_error_with_its_reason() -> None:
    """sendto fails at once (broadcast without SO_BROADCAST: EACCES, nothing leaves the machine): every
    try fails the same way and the answer says why, instead of waiting out the timeouts."""
    resolver = DnsResolver([("255.255.255.255", 53)], timeout=30)
    (answer,) = ask_all(resolver, [("n3.resolver.test", "TXT")])
    assert answer.error and answer.status == FAILURE
    # EACCES where the machine has a route for it; a machine without any route refuses it before that
    assert answer.describe() in ("Permission denied", "Network is unreachable")
    assert resolver.queries == len(DnsResolver.TRIES) and resolver.answers == 0


def test_the_system_s_nameservers_are_read_from_resolv_conf(tmp_path: Path) -> None:
    """Without --nameserver (and the lab's variable) the checks ask what the machine asks."""
    conf = tmp_path / "resolv.conf"
    conf.write_text("# written by NetworkManager\nsearch kominfo.go.id\nnameserver 127.0.0.53\nnameserver ::1\n"
                    "options edns0 trust-ad\n")
    assert system_nameservers(str(conf)) == [("127.0.0.53", 53), ("::1", 53)]
    conf.write_text("search kominfo.go.id\n")
    assert system_nameservers(str(conf)) == []
    assert system_nameservers(str(tmp_path / "missing")) == []


def test_dns_check_without_any_nameserver_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    import functools

    import mailprov.checks.resolver

    (tmp_path / "resolv.conf").write_text("search kominfo.go.id\n")
    monkeypatch.setattr(mailprov.checks.resolver, "system_nameservers",
                        functools.partial(system_nameservers, str(tmp_path / "resolv.conf")))
    r = run(["dns", "check", "-c", SAMPLE])  # the environment without MAILPROV_*
    assert (r.exit_code, r.stderr) == (2, "error: no nameserver: give --nameserver IP[:PORT] (none in "
                                          "/etc/resolv.conf)\n"), r.output
