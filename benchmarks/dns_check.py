"""`mailprov dns check` on 1,000 and 5,000 compliant agency domains served by the lab Knot.

Prints domains per second and DNS queries per second of the whole command
(start-up included). If checkdmarc is installed in the benchmark's own
virtualenv (benchmarks/.venv: `python3 -m venv benchmarks/.venv &&
benchmarks/.venv/bin/pip install checkdmarc`), it checks the same domains in
the same run and the ratio is printed. checkdmarc only talks to port 53, so
Knot also listens on 127.0.0.2:53 when the benchmark may bind it (root) and
checkdmarc is there to use it (``--no-checkdmarc`` leaves the comparison out).

Targets (issue 4): 1,000 domains in under 2 s of wall time on 2 cores, at
least 30x checkdmarc's rate.

Run: .venv/bin/python benchmarks/dns_check.py [--sizes 1000 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from installed import compile_package  # noqa: E402

from lab.debian import ensure_lab_packages  # noqa: E402
from lab.dnsproxy import DelayingRelay  # noqa: E402
from lab.knot import start_knot  # noqa: E402
from lab.zones import build_zones  # noqa: E402
from mailprov.config import load_config  # noqa: E402

PLATFORM = (REPO / "domains.yaml").read_text().split("\ndirectory:")[0]
CHECKDMARC = REPO / "benchmarks" / ".venv" / "bin" / "checkdmarc"


def write_config(folder: Path, count: int) -> Path:
    lines = [PLATFORM.replace("keys/mmd2026.pub", str(REPO / "keys" / "mmd2026.pub")),
             "directory:", '  urls: ["ldap://127.0.0.1:1"]', "  base_dn: ou=x,dc=go,dc=id",
             "  bind_dn: cn=x,dc=go,dc=id", "agencies:"]
    for i in range(count):
        lines += [f"  - id: kota{i:05d}", f"    name: Pemerintah Kota Nomor {i}", f"    domain: kota{i:05d}.go.id"]
    path = folder / f"domains-{count}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_mailprov(config: Path, nameserver: str) -> tuple[float, dict[str, object]]:
    mailprov = Path(sys.executable).parent / "mailprov"
    start = time.perf_counter()
    out = subprocess.run([str(mailprov), "dns", "check", "-c", str(config), "--nameserver", nameserver,
                          "--format", "json"], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if out.returncode != 0:
        raise SystemExit(f"mailprov dns check exited {out.returncode}: {out.stderr[-2000:]}")
    return elapsed, json.loads(out.stdout)


def run_checkdmarc(domains: list[str], folder: Path, nameserver: str = "127.0.0.2") -> float:
    listing = folder / "domains.txt"
    listing.write_text("\n".join(domains) + "\n")
    start = time.perf_counter()
    # the domain list first: -n takes every argument after it
    out = subprocess.run([str(CHECKDMARC), str(listing), "--skip-tls", "-t", "2", "-o",
                          str(folder / "checkdmarc.json"), "-n", nameserver], capture_output=True, text=True,
                         check=False)
    elapsed = time.perf_counter() - start
    if out.returncode not in (0, 1):
        raise SystemExit(f"checkdmarc exited {out.returncode}: {out.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--checkdmarc-domains", type=int, default=1000,
                        help="checkdmarc checks this many of the domains (it is slow: about 10 ms each); its rate "
                             "is per domain and flat with size, since it checks one domain after another")
    parser.add_argument("--latency-ms", type=float, default=2.0,
                        help="round trip of the relay that stands for a resolver on the network")
    parser.add_argument("--no-checkdmarc", action="store_true",
                        help="leave out the comparison with checkdmarc even where it is installed (and so never "
                             "bind port 53)")
    args = parser.parse_args()
    ensure_lab_packages()
    compile_package()
    can_53 = os.geteuid() == 0
    compare = CHECKDMARC.exists() and can_53 and not args.no_checkdmarc
    with tempfile.TemporaryDirectory(prefix="mailprov-dnsbench-") as tmp:
        folder = Path(tmp)
        biggest = write_config(folder, max(args.sizes))
        config = load_config(biggest, {})
        zones = build_zones(config)
        start = time.perf_counter()
        server = start_knot(folder / "knot", zones.texts(), also_listen=["127.0.0.2@53"] if compare else None)
        print(f"lab Knot serving {len(zones.zones)} zones (started in {time.perf_counter() - start:.1f} s)")
        try:
            for size in args.sizes:
                config_path = write_config(folder, size)
                elapsed, data = run_mailprov(config_path, server.address)
                summary = data["summary"]
                stats = data["stats"]
                assert isinstance(summary, dict) and isinstance(stats, dict)
                if summary["pass"] != size:
                    raise SystemExit(f"expected {size} compliant domains, got {summary}")
                print(f"mailprov dns check, {size} domains: {elapsed:.2f} s wall (start-up included), "
                      f"{size / elapsed:.0f} domains/s, {stats['queries']} queries, "
                      f"{int(stats['queries']) / elapsed:.0f} queries/s"
                      + ("  (target: 1,000 in under 2 s)" if size == 1000 else ""))
            if compare:
                count = min(args.checkdmarc_domains, max(args.sizes))
                domains = [a.domain for a in config.agencies[:count]]
                elapsed_cd = run_checkdmarc(domains, folder)
                rate_cd = count / elapsed_cd
                print(f"checkdmarc {count} domains: {elapsed_cd:.2f} s (start-up included), {rate_cd:.1f} domains/s")
                # start-up of each tool, measured on one domain, for the rate of checking alone
                start_cd = min(run_checkdmarc(domains[:1], folder) for _ in range(3))
                start_ours = min(run_mailprov(write_config(folder, 1), server.address)[0] for _ in range(3))
                steady_cd = count / (elapsed_cd - start_cd)
                for size in args.sizes:
                    best = min(run_mailprov(write_config(folder, size), server.address)[0] for _ in range(3))
                    print(f"mailprov at {size} domains (best of 3): {best:.2f} s, {size / best:.0f} domains/s, "
                          f"{size / best / rate_cd:.1f}x checkdmarc's rate (target >= 30x), both straight to Knot "
                          "on loopback")
                    print(f"  start-up left out of both (mailprov {start_ours:.2f} s, checkdmarc {start_cd:.2f} s, "
                          f"each on one domain): {size / (best - start_ours) / steady_cd:.1f}x")
                size = min(args.sizes)
                host, port = server.address.split(":")
                relay = DelayingRelay((host, int(port)), args.latency_ms / 1000, listen=("127.0.0.3", 53)).start()
                try:
                    few = domains[:200]  # through the relay checkdmarc needs about 60 ms a domain
                    slow_cd = len(few) / run_checkdmarc(few, folder, "127.0.0.3")
                    slow_ours, _ = run_mailprov(write_config(folder, size), relay.address)
                finally:
                    relay.stop()
                print(f"through a resolver {args.latency_ms:g} ms away: checkdmarc {slow_cd:.1f} domains/s, "
                      f"mailprov {size / slow_ours:.0f} domains/s at {size} domains, "
                      f"ratio {size / slow_ours / slow_cd:.0f}x")
            elif args.no_checkdmarc:
                print("--no-checkdmarc: no comparison")
            elif not CHECKDMARC.exists():
                print(f"checkdmarc not installed in {CHECKDMARC.parent.parent}: no comparison")
            else:
                print("checkdmarc needs port 53, which only root may bind: no comparison")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
