"""Every benchmark script runs end to end on a few entries and prints each of its figures.

The benchmarks are how the issues' speed targets are shown; a change that
breaks one (an option renamed, a module moved) must fail here, not in the next
measurement. The figures themselves are not asserted: speed is measured by the
benchmarks, not by timed tests. What the scripts check of their own (apply
created every mailbox, the plan after it is empty, every domain passed, every
letter is on the disk) makes them exit non-zero, which fails these tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: a figure as the scripts print it (12, 0.37)
NUMBER = r"\d+(?:\.\d+)?"


def run(script: str, *args: str) -> str:
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / script), *args], capture_output=True,
                          text=True, timeout=600, check=False)
    assert proc.returncode == 0, f"{script} exited {proc.returncode}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def lines_matching(out: str, pattern: str) -> list[str]:
    return [line for line in out.splitlines() if re.search(pattern, line)]


def test_directory_bulk(tmp_path: Path) -> None:
    out = run("directory_bulk.py", "--mailboxes", "60", "--agencies", "3", "--many-agencies", "6", "--repeat", "2",
              "--disk", str(tmp_path))
    assert "60 mailboxes in 3 domains" in out, out
    assert lines_matching(out, rf"^ldapadd \(one at a time.*: +{NUMBER} s +{NUMBER} mailboxes/s +\(rounds: "
                               rf"{NUMBER}, {NUMBER} s\)$"), out
    for label in ("RFC 3062 Password Modify (default)", "the password in the add", "client-side {SSHA512}"):
        for where in ("disk", "tmpfs"):
            pattern = (rf"^mailprov apply, .*{re.escape(label)}.*, letters on {where}: +{NUMBER} s .*"
                       rf"ratio to ldapadd per round {NUMBER}, {NUMBER} \(median {NUMBER}\) \(target >= 1\.0\)$")
            assert len(lines_matching(out, pattern)) == 1, (label, where, out)
    cpu = lines_matching(out, rf"^    CPU \(medians\): (apply|ldapadd) {NUMBER} s, slapd {NUMBER} s during it, "
                              rf"together {NUMBER} s on \d+ cores$")
    assert [line.split()[2] for line in cpu] == ["ldapadd"] + ["apply"] * 6, out
    assert lines_matching(out, rf"one file in the letters folder's file system costs {NUMBER}-{NUMBER} us"), out
    assert lines_matching(out, rf"adds \+ Password Modify {NUMBER} s, ratio per round {NUMBER}, {NUMBER}"), out
    assert lines_matching(out, rf"the default scheme's ratio could at best be {NUMBER}, {NUMBER} \(median"), out
    for shape in ("60 mailboxes, zero changes", "60 mailboxes in 6 domains, zero changes"):
        assert lines_matching(out, rf"^mailprov plan of {shape} \(slowest of \d+\): {NUMBER} s \(target < 3 s\), "
                                   rf"peak memory {NUMBER} MB \(target < 300 MB\)$"), (shape, out)


def test_dns_check() -> None:
    out = run("dns_check.py", "--sizes", "12", "30", "--no-checkdmarc")
    for size in (12, 30):
        assert lines_matching(out, rf"^mailprov dns check, {size} domains: {NUMBER} s wall .* \d+ queries, "
                                   rf"{NUMBER} queries/s"), out
    assert "--no-checkdmarc: no comparison" in out, out


def test_letters_render() -> None:
    out = run("letters_render.py", "--letters", "40")
    assert "40 mailbox letters" in out, out
    assert lines_matching(out, rf"^  rendered: +{NUMBER} s +{NUMBER} letters/s +\(target: 40 in under 5 s\)$"), out
    assert lines_matching(out, rf"^  rendered and written: +{NUMBER} s +{NUMBER} letters/s"), out


def test_nightly_history() -> None:
    out = run("nightly_history.py", "--runs", "4", "--domains", "25")
    assert "history of 4 runs x 25 domains" in out, out
    for step in ("annotate", "unannounced", "store", "latest compliance"):
        assert lines_matching(out, rf"^{step} .* {NUMBER} s$"), (step, out)


def test_startup() -> None:
    out = run("startup.py", "--runs", "3")
    assert lines_matching(out, rf"^ratio mailprov --help / import typer: {NUMBER} \(target <= 1\.5\)$"), out
