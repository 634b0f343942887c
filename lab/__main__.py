"""python -m lab start|stop|demo: the lab servers from the command line."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .demo import REPO, run_demo
from .servers import STATE, read_faults, start_lab, stop_saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="start the lab and run the whole flow on the sample configuration")
    demo.add_argument("--config", type=Path, default=REPO / "domains.yaml")
    demo.add_argument("--out", type=Path, default=REPO / "demo-output")
    demo.add_argument("--scenario", type=Path, default=REPO / "lab" / "scenarios" / "demo.yaml")
    demo.add_argument("--keep", action="store_true", help="leave the servers running")
    start = sub.add_parser("start", help="start slapd and Knot for a configuration and leave them running")
    start.add_argument("dir", type=Path)
    start.add_argument("--config", type=Path, default=REPO / "domains.yaml")
    start.add_argument("--scenario", type=Path, default=REPO / "lab" / "scenarios" / "demo.yaml")
    stop = sub.add_parser("stop", help="stop a lab started with 'start'")
    stop.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "demo":
        run_demo(args.config.resolve(), args.out.resolve(), args.scenario, args.keep)
    elif args.command == "start":
        if (args.dir / STATE).exists():
            print(f"a lab was started in {args.dir} already: 'python -m lab stop {args.dir}' first", file=sys.stderr)
            return 1
        lab = start_lab(args.dir.resolve(), args.config.resolve(), read_faults(args.scenario), outlive_parent=True)
        for key, value in lab.env().items():
            if key != "MAILPROV_BIND_PASSWORD":
                print(f"export {key}={shlex.quote(value)}")
        print(f"# the bind password is in {lab.root / 'lab.json'} (mode 0600)")
    elif args.command == "stop" and not stop_saved(args.dir.resolve()):
        print(f"no lab running in {args.dir}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
