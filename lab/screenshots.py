"""Regenerate the README's pictures: the nightly report after a few runs, and an agency letter (PDF page 1)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from mailprov.config import load_config

from .servers import read_faults, start_lab
from .zones import build_zones

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def mailprov(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "mailprov", *args], env=env, check=False, stdout=subprocess.DEVNULL)


def main() -> None:
    docs = REPO / "docs"
    docs.mkdir(exist_ok=True)
    config = REPO / "domains.yaml"
    faults = read_faults(REPO / "lab" / "scenarios" / "demo.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        lab = start_lab(out / "lab", config, faults)
        env = {**os.environ, **lab.env(), "COLUMNS": "120"}
        check = ["dns", "check", "-c", str(config), "--history", str(out / "state.db"), "--report",
                 str(out / "report.html"), "--format", "json", "--output", str(out / "dns.json")]
        try:
            mailprov(env, *check)
            mailprov(env, *check)
            # overnight, Sidoarjo fixes its MX and DMARC; Banyuwangi breaks its DKIM
            changed = dict(faults)
            changed.pop("pemkab-sidoarjo", None)
            changed["pemkab-banyuwangi"] = ["spf-softfail", "dkim-revoked"]
            lab.knot.reload(build_zones(load_config(config, {}), changed).texts())
            mailprov(env, *check)
            mailprov(env, "letters", "render", "-c", str(config), "--kind", "agency", "--format", "pdf",
                     "--agency", "pemkab-sidoarjo", "--out", str(out / "letters"), "--results", str(out / "dns.json"),
                     "--date", "2026-11-28")
        finally:
            lab.stop()
        subprocess.run(["/usr/bin/chromium", *CHROMIUM_FLAGS, f"--user-data-dir={out / 'chromium'}",
                        "--window-size=1280,1500", f"--screenshot={docs / 'report.png'}",
                        (out / "report.html").as_uri()], check=True, capture_output=True)
        subprocess.run(["/usr/bin/pdftoppm", "-png", "-r", "90", "-f", "1", "-l", "1", "-singlefile",
                        str(out / "letters" / "pemkab-sidoarjo" / "agency.pdf"), str(docs / "agency-letter")],
                       check=True)
    print(f"wrote {docs / 'report.png'} and {docs / 'agency-letter.png'}")


if __name__ == "__main__":
    main()
