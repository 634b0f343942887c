"""The BER encoder of apply's pipeline, checked against ldap3's own ASN.1 definitions (pyasn1)."""

from __future__ import annotations

from typing import Any

import pytest
from ldap3.protocol.rfc4511 import LDAPMessage
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ

from mailprov import ldapwire as wire


def _decode(data: bytes) -> Any:
    message, rest = decoder.decode(data, asn1Spec=LDAPMessage())
    assert rest == b""
    return message


def test_add_request_decodes_with_an_independent_asn1_implementation() -> None:
    attrs = {"objectClass": ["top", "inetOrgPerson"], "cn": ["Bùdi \"Jr\", (x)"], "empty": [], "sn": ["S" * 300]}
    message = _decode(wire.encode_add(1_000_001, "uid=a\\,b,ou=x.go.id", attrs))
    assert int(message["messageID"]) == 1_000_001
    add = message["protocolOp"]["addRequest"]
    assert str(add["entry"]) == "uid=a\\,b,ou=x.go.id"
    decoded = {str(a["type"]): [bytes(v).decode() for v in a["vals"]] for a in add["attributes"]}
    assert decoded == {"objectClass": ["top", "inetOrgPerson"], "cn": ["Bùdi \"Jr\", (x)"], "sn": ["S" * 300]}


def test_modify_delete_and_password_modify_requests() -> None:
    changes = [(wire.MOD_REPLACE, "title", ["Kepala"]), (wire.MOD_DELETE, "pwdAccountLockedTime", []),
               (wire.MOD_ADD, "objectClass", ["mailUser"])]
    modify = _decode(wire.encode_modify(7, "uid=a,ou=x", changes))["protocolOp"]["modifyRequest"]
    got = [(int(c["operation"]), str(c["modification"]["type"]), [bytes(v).decode() for v in c["modification"]["vals"]])
           for c in modify["changes"]]
    assert got == [(2, "title", ["Kepala"]), (1, "pwdAccountLockedTime", []), (0, "objectClass", ["mailUser"])]
    delete = _decode(wire.encode_delete(8, "uid=a,ou=x"))["protocolOp"]["delRequest"]
    assert str(delete) == "uid=a,ou=x"
    ext = _decode(wire.encode_password_modify(9, "uid=a,ou=x", "Rahasia#123"))["protocolOp"]["extendedReq"]
    assert str(ext["requestName"]) == wire.PASSWD_MODIFY_OID
    value = bytes(ext["requestValue"])
    assert b"uid=a,ou=x" in value and b"Rahasia#123" in value


def test_modify_dn_request_renames_in_place() -> None:
    request = _decode(wire.encode_modify_dn(10, "cn=Budi\\, Jr,ou=x", "cn=Budi Santoso\\, Jr"))
    moddn = request["protocolOp"]["modDNRequest"]
    assert (str(moddn["entry"]), str(moddn["newrdn"]), bool(moddn["deleteoldrdn"])) == (
        "cn=Budi\\, Jr,ou=x", "cn=Budi Santoso\\, Jr", True)
    assert not moddn["newSuperior"].hasValue()  # the same parent


def test_compare_request() -> None:
    compare = _decode(wire.encode_compare(11, "cn=x,ou=y", "userPassword", "Rahasia#123"))["protocolOp"]
    ava = compare["compareRequest"]["ava"]
    assert (str(compare["compareRequest"]["entry"]), str(ava["attributeDesc"]), bytes(ava["assertionValue"])) == (
        "cn=x,ou=y", "userPassword", b"Rahasia#123")


def _response(message_id: int, tag: int, code: int, diagnostic: str = "") -> bytes:
    body: bytes = (encoder.encode(univ.Enumerated(code)) + encoder.encode(univ.OctetString(b"")) +
            encoder.encode(univ.OctetString(diagnostic.encode())))
    op = bytes([tag]) + bytes([len(body)]) + body
    mid: bytes = encoder.encode(univ.Integer(message_id))
    inner = mid + op
    return bytes([0x30, len(inner)]) + inner


def test_results_are_split_and_decoded_from_a_stream() -> None:
    stream = bytearray(_response(1_000_002, 0x69, 0) + _response(1_000_003, 0x69, 68, "Already exists"))
    partial = _response(1_000_004, 0x78, 0)
    stream += partial[:5]
    messages = wire.split_messages(stream)
    assert len(messages) == 2
    assert bytes(stream) == partial[:5]  # the incomplete message waits for more bytes
    first, second = (wire.decode_result(m) for m in messages)
    assert (first.message_id, first.operation, first.ok) == (1_000_002, "add", True)
    assert second.code == 68 and second.describe() == "entryAlreadyExists: Already exists"


@pytest.mark.parametrize(("message_id", "tag", "code", "diagnostic"), [
    (1_000_002, 0x69, 0, ""), (5, 0x67, 0, ""), (1_000_003, 0x78, 0, ""), (200, 0x6B, 0, ""),  # 200: a sign byte
    (0x7FFFFFFF, 0x6D, 0, ""), (1_000_004, 0x69, 68, ""), (1_000_005, 0x69, 0, "ok"), (0, 0x78, 0, ""),
    (1_000_006, 0x6F, 6, ""), (7, 0x7A, 0, ""),  # an operation apply never sends
    (0x69, 0x67, 0, ""),  # an id whose byte is a response tag
])
def test_plain_successes_read_by_position_match_the_general_decoder(message_id: int, tag: int, code: int,
                                                                     diagnostic: str) -> None:
    """Most answers are read by position; any answer must come out as the BER decoder reads it."""
    message = _response(message_id, tag, code, diagnostic)
    assert wire.decode_result(message) == wire._decode_result(message)
    assert wire.decode_result(message).message_id == message_id


@pytest.mark.parametrize("message", [
    bytes.fromhex("3005020105" "6900"),  # an addResponse with nothing in it
    bytes.fromhex("3008020105" "6903" "0a0100"),  # its result code, then no matchedDN
    bytes.fromhex("3003020105"),  # a message id alone
], ids=["empty result", "no matchedDN", "no operation"])
def test_a_malformed_answer_is_a_wire_error(message: bytes) -> None:
    """Not an IndexError out of apply (an internal error): the run stops as on a broken connection."""
    with pytest.raises(wire.WireError, match="malformed LDAP message"):
        wire.decode_result(message)


def test_notice_of_disconnection_is_recognised() -> None:
    notice = wire.decode_result(_response(0, 0x78, 52, "shutting down"))
    assert notice.operation == "disconnect"


def test_an_unknown_extended_operation_refuses_every_password_with_what_to_set_instead() -> None:
    """RFC 4511 4.12: protocolError is what a server without RFC 3062 answers each Password Modify; apply went on
    through every mailbox, each "created, but the password could not be set", and a re-run did the same."""
    refused = wire.decode_result(_response(7, 0x78, 2, "unsupported extended operation"))
    assert refused.refusal == ("the directory does not offer RFC 3062 Password Modify (protocolError: unsupported "
                               "extended operation): set directory.password_scheme to ssha512 or argon2, which set "
                               "the password's hash in a modify")
    # the same code for an add is about that request, not the server
    assert wire.decode_result(_response(8, 0x69, 2, "bad request")).refusal is None
    assert wire.decode_result(_response(9, 0x78, 19, "password too short")).refusal is None


@pytest.mark.parametrize(("value", "answer"), [
    (b"0\x03\x81\x01\x01", wire.PolicyAnswer(error=1)),  # what slapd sent for a locked account
    (b"0\x07\xa0\x05\x80\x03'\x8c\xf9", wire.PolicyAnswer(expires_in=2591993)),  # and 30 days ahead
    (b"0\x05\xa0\x03\x81\x01\x02", wire.PolicyAnswer(grace_binds=2)),
    (b"0\x00", wire.PolicyAnswer()),
    (b"0\x05\xa0", wire.PolicyAnswer()),  # cut short
    (b"\x04\x01x", wire.PolicyAnswer()),  # not a SEQUENCE
])
def test_password_policy_answers(value: bytes, answer: wire.PolicyAnswer) -> None:
    assert wire.password_policy(value) == answer


def test_answers_of_a_later_batch_wait_for_its_collect() -> None:
    import socket

    ours, server = socket.socketpair()
    with ours, server:
        pipeline = wire.Pipeline(ours, 2)
        first = pipeline.send([(1_000_001, b"request 1"), (1_000_002, b"request 2")])
        second = pipeline.send([(1_000_003, b"request 3")])
        # the server answers out of order and early: batch 2's answer before batch 1's last
        server.sendall(_response(1_000_001, 0x69, 0) + _response(1_000_003, 0x69, 68, "Already exists")
                       + _response(1_000_002, 0x69, 0))
        got_first = pipeline.collect(first)
        assert sorted(got_first) == [1_000_001, 1_000_002]
        got_second = pipeline.collect(second)
        assert list(got_second) == [1_000_003] and got_second[1_000_003].code == 68


@pytest.mark.parametrize(("server_does", "said"), [
    ("nothing", "the server did not answer in time"),
    ("close", "the server closed the connection"),
    ("notice", "the server ended the session: unavailable: shutting down"),
    # RFC 4511 5.1: only BER's definite form; no LDAP message needs more than 4 octets to say its length
    ("indefinite length", "unsupported BER length"),
    ("5-octet length", "unsupported BER length"),
])
def test_a_batch_whose_answers_do_not_come_is_a_wire_error(server_does: str, said: str) -> None:
    """What apply reports as 'directory connection lost' and counts the batch as unknown."""
    import socket

    ours, server = socket.socketpair()
    with ours, server:
        pipeline = wire.Pipeline(ours, 0.2)
        wanted = pipeline.send([(1_000_001, b"request 1")])
        sent = {"notice": _response(0, 0x78, 52, "shutting down"),
                "indefinite length": bytes.fromhex("3080" "020101" "0000"),
                "5-octet length": bytes.fromhex("3085" "0000000003")}
        if server_does == "close":
            server.shutdown(socket.SHUT_WR)
        elif server_does in sent:
            server.sendall(sent[server_does])
        with pytest.raises(wire.WireError) as info:
            pipeline.collect(wanted)
    assert str(info.value) == said


def test_a_connection_reset_is_a_wire_error_with_the_system_s_reason() -> None:
    """A server (or a firewall between) that resets the TCP connection: apply's 'directory connection lost'."""
    import socket
    import struct

    with socket.create_server(("127.0.0.1", 0)) as listener:
        ours = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        with ours:
            pipeline = wire.Pipeline(ours, 2)
            wanted = pipeline.send([(1_000_001, b"request 1")])
            server.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
            server.close()
            with pytest.raises(wire.WireError, match=r"^connection lost: \[Errno 104\] Connection reset by peer$"):
                pipeline.collect(wanted)


def test_answers_arriving_a_byte_at_a_time_are_put_together() -> None:
    import socket
    import threading

    ours, server = socket.socketpair()
    answers = _response(1_000_001, 0x69, 0) + _response(1_000_002, 0x78, 19, "Password fails quality checking")

    def trickle() -> None:
        for byte in answers:
            server.sendall(bytes([byte]))

    with ours, server:
        pipeline = wire.Pipeline(ours, 5)
        wanted = pipeline.send([(1_000_001, b"add"), (1_000_002, b"password")])
        sender = threading.Thread(target=trickle)
        sender.start()
        got = pipeline.collect(wanted)
        sender.join()
    assert got[1_000_001].ok and got[1_000_002].code == wire.CONSTRAINT_VIOLATION
