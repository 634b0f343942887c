"""An in-memory zone behind the resolver interface, with the RFC 7208 suite's conventions.

The suite needs answers a real server cannot be made to give on demand
(timeouts for one type of one name), so the conformance tests run the same
``check_host()`` against this; everything else runs against the lab Knot.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mailprov.checks.resolver import NODATA, NXDOMAIN, OK, TIMEOUT, Answer, normalise


class MemoryResolver:
    def __init__(self, zonedata: dict[str, list[Any]], side_by_side: bool = False) -> None:
        self.queries = 0
        #: each answer waits one turn of the event loop, so that evaluations run at once interleave
        self.side_by_side = side_by_side
        self.records: dict[str, dict[str, list[Any]]] = {}
        self.timeouts: set[str] = set()
        for raw_name, entries in (zonedata or {}).items():
            name = normalise(str(raw_name))
            node = self.records.setdefault(name, {})
            no_txt = False
            for entry in entries:
                if entry == "TIMEOUT":
                    self.timeouts.add(name)
                    continue
                ((rtype, value),) = entry.items()
                if rtype == "TXT" and value == "NONE":
                    no_txt = True
                    continue
                node.setdefault(rtype, []).append(value)
            # the suite's drivers publish every SPF-type record as TXT too, unless told not to
            if "SPF" in node and "TXT" not in node and not no_txt:
                node["TXT"] = list(node["SPF"])

    def _exists(self, name: str) -> bool:
        return name in self.records or any(other.endswith("." + name) for other in self.records)

    def prefetch(self, name: str, rdtype: str, dnssec: bool = False) -> None:
        """Nothing to start: every answer here is already known."""

    async def query(self, name: str, rdtype: str, dnssec: bool = False) -> Answer:
        self.queries += 1
        if self.side_by_side:
            await asyncio.sleep(0)
        asked = name = normalise(name)
        chain: list[str] = []
        while True:
            node = self.records.get(name, {})
            if rdtype in node:
                return Answer(asked, rdtype, OK, tuple(self._value(rdtype, v) for v in node[rdtype]), tuple(chain),
                              target=name if chain else "")
            if "CNAME" in node and rdtype != "CNAME":
                chain.append(name)
                name = normalise(node["CNAME"][0])
                if name in chain or len(chain) > 8:
                    return Answer(name, rdtype, "error", message="CNAME loop")
                continue
            if name in self.timeouts:
                return Answer(name, rdtype, TIMEOUT)
            return Answer(asked, rdtype, NODATA if self._exists(name) else NXDOMAIN, (), tuple(chain),
                          target=name if chain else "")

    @staticmethod
    def _value(rdtype: str, value: Any) -> Any:
        if rdtype in ("TXT", "SPF"):
            parts = value if isinstance(value, list) else [value]
            return "".join(str(p) for p in parts).encode("latin-1", "replace")
        if rdtype == "MX":
            return int(value[0]), normalise(str(value[1]))
        if rdtype in ("PTR", "CNAME"):
            return normalise(str(value))
        return str(value)
