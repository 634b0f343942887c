"""The nightly HTML report: one self-contained file (inline CSS and SVG, no external assets)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checks.messages import STATUS_WORDS
from .checks.result import ORDER, CheckReport
from .history import Changes, RunSummary
from .letters import Renderer, local, local_time, when
from .stamps import parse_stamp

LABELS = {
    "id": {
        "title": "Laporan Kepatuhan DNS", "generated": "Dibuat", "domains": "domain", "summary": "Ringkasan",
        "changes": "Perubahan sejak pemeriksaan sebelumnya", "newly_failing": "Baru gagal", "fixed": "Pulih",
        "other_changes": "Perubahan lain", "no_changes": "Tidak ada perubahan sejak pemeriksaan sebelumnya.",
        "first_run": "Ini pemeriksaan pertama yang tercatat.", "agencies": "Status per instansi",
        "domain": "Domain", "agency": "Instansi", "status": "Status", "failing_for": "Gagal sejak",
        "check": "Pemeriksaan", "reason": "Keterangan", "trend": "Tren 30 pemeriksaan terakhir",
        **STATUS_WORDS["id"],
        "queries": "kueri DNS", "seconds": "detik", "previous": "sebelumnya",
        "platform_problems": "Record platform sendiri yang rusak (tugas platform; instansi tidak diminta mengubah "
                             "apa pun)",
    },
    "en": {
        "title": "DNS Compliance Report", "generated": "Generated", "domains": "domains", "summary": "Summary",
        "changes": "What changed since the last run", "newly_failing": "Newly failing", "fixed": "Fixed",
        "other_changes": "Other changes", "no_changes": "Nothing changed since the last run.",
        "first_run": "This is the first recorded run.", "agencies": "Status per agency",
        "domain": "Domain", "agency": "Agency", "status": "Status", "failing_for": "Failing since",
        "check": "Check", "reason": "Reason", "trend": "Trend of the last 30 runs",
        **STATUS_WORDS["en"],
        "queries": "DNS queries", "seconds": "seconds", "previous": "previously",
        "platform_problems": "The platform's own records are broken (the platform's to fix; no agency is asked to "
                             "change anything)",
    },
}
COLOURS = {"pass": "#1a7f37", "warn": "#bf8700", "error": "#8250df", "fail": "#cf222e"}


@dataclass(frozen=True)
class Bar:
    """One bar of the history chart: a run's statuses stacked."""
    x: float
    segments: list[tuple[str, float, float]]  # status, y, height
    label: str


def duration(since: str, now: dt.datetime, lang: str) -> str:
    start = parse_stamp(since)
    seconds = max(0, int((now - start).total_seconds()))
    days, hours = seconds // 86400, seconds % 86400 // 3600
    if lang == "id":
        return f"{days} hari {hours} jam" if days else f"{hours} jam" if hours else "kurang dari 1 jam"
    if days:
        return f"{days} day{'s' if days != 1 else ''} {hours} h"
    return f"{hours} h" if hours else "less than an hour"


def trend_bars(runs: list[RunSummary], width: float = 600, height: float = 120, zone: str = "UTC") -> list[Bar]:
    """Stacked bars (fail at the bottom) for an inline SVG: no chart library, no script. Each is labelled with
    its run's day where the platform is: the 02:00 WIB run is the day before in UTC."""
    if not runs:
        return []
    slot = min(width / max(len(runs), 1), 20.0)
    bars = []
    for index, run in enumerate(runs):
        total = max(run.counts["domains"], 1)
        y = height
        segments = []
        for status in reversed(ORDER):
            share = run.counts[status] / total * height
            if share:
                y -= share
                segments.append((status, round(y, 2), round(share, 2)))
        day = f"{local(parse_stamp(run.started_at), zone):%Y-%m-%d}"
        bars.append(Bar(round(index * slot + slot * 0.15, 2), segments, day))
    return bars


def render_report(report: CheckReport, changes: Changes | None, runs: list[RunSummary], lang: str,
                  platform_name: str, templates: Path | None = None, zone: str = "UTC") -> str:
    labels = LABELS[lang]
    now = report.generated_at
    rows: list[dict[str, Any]] = []
    for domain in sorted(report.domains, key=lambda d: (-ORDER.index(d.status), d.domain)):
        rows.append({
            "domain": domain.domain, "agency": domain.agency or "-", "status": domain.status,
            "previous": domain.previous_status,
            "failing_for": duration(domain.failing_since, now, lang) if domain.failing_since else "",
            "failing_since": when(domain.failing_since, lang, zone) if domain.failing_since else "",
            "checks": [{"name": c.check + (f" ({c.selector})" if c.selector else ""), "status": c.status,
                        "reason": c.reason(lang)} for c in domain.checks],
        })
    bars = trend_bars(runs, zone=zone)
    special = set(report.newly_failing or []) | set(report.fixed or [])
    slot = min(600 / max(len(runs), 1), 20.0)
    context = {
        "lang": lang, "t": labels, "platform": platform_name, "summary": report.summary,
        "generated": local_time(now, zone, lang), "rows": rows, "colours": COLOURS,
        "changes": changes,
        "first_run": all(d.previous_status is None for d in report.domains),
        "other": sorted((d, before, now) for d, (before, now) in changes.changed.items() if d not in special)
        if changes else [],
        "bars": bars, "bar_width": round(slot * 0.7, 2), "queries": report.queries,
        # the last run's day at the right end, once it no longer runs into the first's at the left (a label
        # takes about 90 of the chart's 600 units)
        "label_last": bool(bars) and bars[-1].x + slot * 0.7 >= 190,
        "seconds": round(report.seconds, 2), "order": ORDER,
        "platform_problems": [reason.text(lang) for reason in report.platform_problems],
    }
    return Renderer(templates, zone).render("report.html.j2", context)
