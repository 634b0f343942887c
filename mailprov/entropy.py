"""Random bytes from the operating system's CSPRNG, fetched 64 KiB at a time.

One getrandom() call measured 40 us here (a system call is expensive on
virtual machines): a bulk apply of 10,000 mailboxes made 25,000 of them for
its passwords, and a nightly check of 1,000 domains would make 5,000 for its
DNS query ids. The bytes are the same CSPRNG's; each is handed out once.
"""

from __future__ import annotations

import secrets
import threading


class _Pool:
    CHUNK = 65536

    def __init__(self) -> None:
        self._buffer = b""
        self._pos = 0
        self._lock = threading.Lock()

    def take(self, count: int) -> bytes:
        with self._lock:
            if self._pos + count > len(self._buffer):
                self._buffer = secrets.token_bytes(max(self.CHUNK, count))
                self._pos = 0
            chunk = self._buffer[self._pos:self._pos + count]
            self._pos += count
            return chunk


_pool = _Pool()


def random_bytes(count: int) -> bytes:
    """``count`` bytes no one else gets (safe to call from several threads at once)."""
    return _pool.take(count)


def random_u16s(count: int) -> list[int]:
    """``count`` unpredictable 16-bit numbers (DNS query ids, RFC 5452 section 9.2)."""
    return list(memoryview(_pool.take(2 * count)).cast("H"))
