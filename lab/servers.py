"""Start and stop the whole lab (slapd + Knot) for a configuration, from any process."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from mailprov.config import load_config

from .debian import ensure_lab_packages
from .knot import Knot, start_knot
from .slapd import Slapd, start_slapd
from .zones import build_zones

STATE = "lab.json"


@dataclass
class Lab:
    root: Path
    slapd: Slapd
    knot: Knot

    def env(self) -> dict[str, str]:
        return {**self.slapd.env(), "MAILPROV_NAMESERVER": self.knot.address}

    def save(self) -> None:
        state = {
            "slapd": {"port": self.slapd.port, "tls_port": self.slapd.tls_port,
                      "pid": self.slapd.process.pid if self.slapd.process else None},
            "knot": {"port": self.knot.port, "pid": self.knot.process.pid if self.knot.process else None},
            "env": self.env(),
        }
        path = self.root / STATE
        path.touch(mode=0o600)
        path.write_text(json.dumps(state, indent=2))

    def stop(self) -> None:
        self.knot.stop()
        self.slapd.stop()


def read_faults(path: Path | None) -> dict[str, list[str]]:
    if path is None:
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    return {str(k): list(v) for k, v in data.items()}


def start_lab(root: Path, config_path: Path, faults: Mapping[str, Iterable[str]] | None = None,
              outlive_parent: bool = False) -> Lab:
    """Install what is missing, then start slapd and Knot (zones from the config) under ``root``.

    ``outlive_parent``: the servers keep running after this process ends (else they end with it).
    """
    ensure_lab_packages()
    root.mkdir(parents=True, exist_ok=True)
    config = load_config(config_path, {})
    zones = build_zones(config, faults)
    slapd = start_slapd(root / "ldap", outlive_parent)
    try:
        knot = start_knot(root / "dns", zones.texts(), outlive_parent=outlive_parent)
    except BaseException:
        slapd.stop()
        raise
    lab = Lab(root=root, slapd=slapd, knot=knot)
    lab.save()
    return lab


def stop_saved(root: Path) -> bool:
    """Stop a lab started by another process (``python -m lab start``)."""
    path = root / STATE
    if not path.exists():
        return False
    state = json.loads(path.read_text())
    for name in ("knot", "slapd"):
        pid = state.get(name, {}).get("pid")
        if not pid:
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        for _ in range(100):
            if not _running(pid):
                break
            time.sleep(0.05)
    path.unlink()
    return True


def _running(pid: int) -> bool:
    """Whether ``pid`` still runs: an exited server whose parent (``lab start``) is gone stays a zombie until
    init reaps it, which in a container's minimal init may take long or never happen."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return not stat.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return False
