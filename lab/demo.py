"""The demo: a lab slapd and Knot, then the whole mailprov flow on the sample file."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from .servers import Lab, read_faults, start_lab

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def _run(lab: Lab, args: list[str], expect: tuple[int, ...] = (0,), note: str = "") -> int:
    shown = "mailprov " + " ".join(shlex.quote(a) for a in args)
    print(f"\n$ {shown}", flush=True)
    env = {**os.environ, **lab.env(), "COLUMNS": os.environ.get("COLUMNS", "120")}
    code = subprocess.run([sys.executable, "-m", "mailprov", *args], env=env, check=False).returncode
    if code not in expect:
        raise SystemExit(f"demo: '{shown}' exited with {code}, expected {' or '.join(map(str, expect))}")
    if code and note:
        print(f"  (exit {code}: {note})")
    return code


def run_demo(config: Path, out: Path, scenario: Path | None, keep: bool) -> None:
    if out.exists():  # every demo starts from an empty directory, zones and history
        shutil.rmtree(out)
    out.mkdir(parents=True)
    lab = start_lab(out / "lab", config, read_faults(scenario), outlive_parent=keep)
    print(f"lab: slapd on {lab.slapd.url} (LDAPS {lab.slapd.ldaps_url}), Knot DNS on {lab.knot.address}")
    print(f"lab: mailprov is pointed at them through MAILPROV_* variables ({out / 'lab' / 'lab.json'})")
    cfg = ["-c", str(config)]
    ns = ["--nameserver", lab.knot.address]
    letters = out / "letters"
    try:
        _run(lab, ["validate", *cfg])
        _run(lab, ["plan", *cfg])
        _run(lab, ["apply", *cfg, "--yes", "--letters", str(letters)])
        _run(lab, ["plan", *cfg, "--format", "json"], note="")
        _run(lab, ["mailbox", "list", *cfg, "--agency", "pemkab-banyuwangi"])
        broken = "some sample agencies are deliberately broken in the lab zones"
        _run(lab, ["dns", "check", *cfg, *ns, "--history", str(out / "state.db"),
                   "--report", str(out / "report.html")], expect=(0, 1), note=broken)
        _run(lab, ["dns", "check", *cfg, *ns, "--format", "json", "--output", str(out / "dns.json"),
                   "--history", str(out / "state.db")], expect=(0, 1), note=broken)
        _run(lab, ["dns", "records", *cfg, "probolinggokota.go.id"])
        _run(lab, ["letters", "render", *cfg, "--kind", "agency", "--format", "html", "--out", str(letters),
                   "--results", str(out / "dns.json")])
        # from the history, which keeps each reason in both languages (dns.json has the run's --lang only)
        _run(lab, ["letters", "render", *cfg, "--kind", "agency", "--format", "md", "--lang", "en",
                   "--out", str(letters / "en"), "--history", str(out / "state.db")])
        _run(lab, ["letters", "render", *cfg, "--kind", "agency", "--format", "pdf", "--agency", "pemkab-sidoarjo",
                   "--out", str(letters), "--history", str(out / "state.db")])
    finally:
        if keep:
            print(f"\nlab left running (stop it with: python -m lab stop {out / 'lab'})")
            lab.save()
        else:
            lab.stop()
    print(f"""
demo outputs in {out}:
  {letters}/AGENCY_ID/agency.html  agency letters (DNS records to publish, compliance, mailboxes);
                                   a PDF for pemkab-sidoarjo, English Markdown under {letters / 'en'}
  {letters}/AGENCY_ID/mailboxes/   one letter per new mailbox, with its first password (mode 0600)
  {out / 'report.html'}            the compliance report a nightly run writes
  {out / 'dns.json'}               the same check as JSON
  {out / 'state.db'}               the history the nightly run keeps""")
