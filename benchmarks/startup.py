"""Median start-up time of `mailprov --help` next to `python -c 'import typer'`.

Target (issue 2): mailprov --help at most 1.5x the bare framework import.
Run: .venv/bin/python benchmarks/startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from installed import compile_package


def median_seconds(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    script = Path(sys.executable).parent / "mailprov"
    commands = {
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
        "mailprov --help": [str(script), "--help"],
    }
    compile_package()
    for cmd in commands.values():  # warm the page cache
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    results = {name: median_seconds(cmd, args.runs) for name, cmd in commands.items()}
    base = results["python -c 'import typer'"]
    for name, seconds in results.items():
        print(f"{name:28s} median {seconds * 1000:7.1f} ms  ({seconds / base:.2f}x import typer)")
    ratio = results["mailprov --help"] / base
    print(f"ratio mailprov --help / import typer: {ratio:.2f} (target <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
