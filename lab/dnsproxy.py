"""A UDP relay in front of the lab Knot that never answers for some names.

A recursive resolver that cannot reach a domain's servers makes the stub
wait until it gives up; this relay reproduces that for chosen names (so a
test sees a real timeout) and passes every other query to Knot untouched.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import dns.exception
import dns.message


@dataclass
class DroppingRelay:
    upstream: tuple[str, int]
    #: queries for these names, or names under them, are swallowed
    drop: tuple[str, ...] = ()
    _sock: socket.socket = field(init=False)
    _thread: threading.Thread | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.settimeout(0.2)

    @property
    def address(self) -> str:
        host, port = self._sock.getsockname()
        return f"{host}:{port}"

    def _swallowed(self, data: bytes) -> bool:
        try:
            name = dns.message.from_wire(data).question[0].name.to_text().rstrip(".").lower()
        except dns.exception.DNSException:  # not a query: let Knot answer it
            return False
        return any(name == d or name.endswith("." + d) for d in self.drop)

    def _serve(self) -> None:
        upstream = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        upstream.settimeout(2)
        while not self._stop.is_set():
            try:
                data, client = self._sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if self._swallowed(data):
                continue
            upstream.sendto(data, self.upstream)
            try:
                answer, _ = upstream.recvfrom(65535)
            except TimeoutError:
                continue
            self._sock.sendto(answer, client)

    def start(self) -> DroppingRelay:
        self._thread = threading.Thread(target=self._serve, name="dns-relay", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._sock.close()


class DelayingRelay:
    """A UDP relay that answers every query after ``delay`` seconds, many queries at once.

    Loopback answers in microseconds; a real resolver on the network takes
    milliseconds. Benchmarks use this to compare tools at a realistic round
    trip, not only at loopback speed.
    """

    def __init__(self, upstream: tuple[str, int], delay: float, listen: tuple[str, int] = ("127.0.0.1", 0)) -> None:
        import asyncio

        self.upstream = upstream
        self.delay = delay
        self._loop = asyncio.new_event_loop()
        self._listen = listen
        self._ready = threading.Event()
        self.address = ""
        #: queries received and not yet answered, now and at most (what a client had in flight)
        self.outstanding = 0
        self.peak = 0
        #: the id of every query received, in order
        self.query_ids: list[int] = []
        self._thread = threading.Thread(target=self._run, name="dns-delay", daemon=True)

    def _run(self) -> None:
        import asyncio

        relay = self

        class Front(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, client: tuple[str, int]) -> None:
                relay.query_ids.append(int.from_bytes(data[:2], "big"))
                relay.outstanding += 1
                relay.peak = max(relay.peak, relay.outstanding)
                relay._loop.call_later(relay.delay, relay._forward, data, client, self.transport)

        asyncio.set_event_loop(self._loop)
        transport, _ = self._loop.run_until_complete(
            self._loop.create_datagram_endpoint(Front, local_addr=self._listen))
        host, port = transport.get_extra_info("sockname")[:2]
        self.address = f"{host}:{port}"
        self._upstream_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._upstream_sock.setblocking(False)
        self._pending: dict[int, tuple[tuple[str, int], object]] = {}
        self._loop.add_reader(self._upstream_sock, self._answer)
        self._ready.set()
        self._loop.run_forever()
        transport.close()

    def _forward(self, data: bytes, client: tuple[str, int], transport: object) -> None:
        self._pending[int.from_bytes(data[:2], "big")] = (client, transport)
        self._upstream_sock.sendto(data, self.upstream)

    def _answer(self) -> None:
        while True:
            try:
                data = self._upstream_sock.recv(65535)
            except BlockingIOError:
                return
            waiting = self._pending.pop(int.from_bytes(data[:2], "big"), None)
            if waiting is not None:
                client, transport = waiting
                self.outstanding -= 1
                transport.sendto(data, client)  # type: ignore[attr-defined]

    def start(self) -> DelayingRelay:
        self._thread.start()
        self._ready.wait(5)
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=2)
