"""Measure mailprov as installed, not as a checkout that compiles itself on every run.

pip compiles a package's bytecode when it installs it. An editable install
does not, and where PYTHONDONTWRITEBYTECODE is set (many CI and container
images set it) Python then compiles every mailprov module again on each
command: 35-40 ms of every run on the 2-core machine, measured. The
benchmarks compile once first, as an installation would have.
"""

from __future__ import annotations

import compileall
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def compile_package() -> None:
    compileall.compile_dir(REPO / "mailprov", quiet=1)
