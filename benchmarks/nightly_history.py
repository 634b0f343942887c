"""The nightly run's history after a year: how long comparing a run with it takes.

Fills a history database with RUNS nightly runs of DOMAINS domains (5% failing
at random, every third run's mail delivered), then times what a nightly run
adds to the checks: `annotate` (previous status, failing since, newly failing,
fixed), `unannounced` (what the mail owes) and `store`; and what `letters render
--history` reads (each domain's latest result). No target is named in
the issues; an operator should not see the nightly job slow down year after
year, so the figures are printed for the README.

Run: .venv/bin/python benchmarks/nightly_history.py [--runs 365] [--domains 5000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from mailprov.checks.messages import Reason  # noqa: E402
from mailprov.checks.result import CheckReport, CheckResult, DomainResult  # noqa: E402
from mailprov.history import History  # noqa: E402


def fill(history: History, runs: int, domains: int) -> None:
    rng = random.Random(2026)
    with history.db:
        for run in range(1, runs + 1):
            history.db.execute(
                "INSERT INTO runs (id, started_at, version, domains, pass, warn, error, fail, notified) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (run, f"2026-01-01T02:00:{run % 60:02d}Z", "0.1.0", domains, domains, 0, 0, 0, int(run % 3 == 0)))
            statuses = ["fail" if rng.random() < 0.05 else "pass" for _ in range(domains)]
            history.db.executemany("INSERT INTO domain_results VALUES (?,?,?,?)", [
                (run, f"kota{i:05d}.go.id", f"kota{i:05d}", status) for i, status in enumerate(statuses)])
            # checks are kept when they change: every domain's on the first night, a failing one's after that
            history.db.executemany("INSERT INTO check_results VALUES (?,?,?,?,?,?,?,?)", [
                (run, f"kota{i:05d}.go.id", check, None, status if check == "dmarc" else "pass", "alasan",
                 "reason", "[]")
                for i, status in enumerate(statuses) if run == 1 or status == "fail"
                for check in ("mx", "spf", "dkim", "dmarc")])


def tonight(domains: int) -> CheckReport:
    ok = [CheckResult("mx", "pass", [Reason("mx.ok", {"hosts": "mx1.mail.go.id"})], ["10 mx1.mail.go.id."])]
    return CheckReport(generated_at=dt.datetime.now(dt.UTC), version="0.1.0", queries=0, answers=0, seconds=0.0,
                       domains=[DomainResult(f"kota{i:05d}.go.id", f"kota{i:05d}", ok) for i in range(domains)])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=365)
    parser.add_argument("--domains", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.db"
        with History(path) as history:
            start = time.perf_counter()
            fill(history, args.runs, args.domains)
            print(f"history of {args.runs} runs x {args.domains} domains written in "
                  f"{time.perf_counter() - start:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
        with History(path) as history:  # opened again, as the next night's run opens it
            report = tonight(args.domains)
            for name, step in (("annotate (previous status, failing since)", lambda: history.annotate(report)),
                               ("unannounced (what the mail owes)", lambda: history.unannounced(report)),
                               ("store (tonight's run)", lambda: history.store(report)),
                               ("latest compliance (letters render --history)",
                                lambda: history.latest_compliance("id"))):
                start = time.perf_counter()
                step()
                print(f"{name:44s} {time.perf_counter() - start:6.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
