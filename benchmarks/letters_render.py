"""10,000 mailbox letters as Markdown: the rate of rendering, and of rendering and writing (0600 files).

Target (issue 5): 10,000 letters rendered in under 5 s.
Run: .venv/bin/python benchmarks/letters_render.py [--letters N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


from mailprov.config import load_config  # noqa: E402
from mailprov.letters import MailboxLetter, MailboxLetterWriter  # noqa: E402
from mailprov.model import Mailbox  # noqa: E402
from mailprov.passwords import generate  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--letters", type=int, default=10_000)
    args = parser.parse_args()
    config = load_config(REPO / "domains.yaml", {})
    agency = config.agencies[0]
    mailboxes = [Mailbox(local=f"pegawai{i:05d}", domain=agency.domain, name=f"Pegawai Nomor {i}",
                         title="Pranata Komputer Ahli Pertama", employee_id=f"{199001012015031000 + i}")
                 for i in range(args.letters)]
    letters = [MailboxLetter(agency, m, generate()) for m in mailboxes]
    with tempfile.TemporaryDirectory(prefix="mailprov-letters-") as tmp:
        writer = MailboxLetterWriter(config, Path(tmp), lang="id", fmt="md")
        start = time.perf_counter()
        for letter in letters:
            writer.render(letter)
        rendered = time.perf_counter() - start
        start = time.perf_counter()
        for letter in letters:
            writer.write(letter)
        writer.sync()  # on the disk, as apply has them before it sends their passwords
        written = time.perf_counter() - start
        on_disk = sum(1 for _ in Path(tmp).rglob("*.md"))
        if on_disk != args.letters:
            raise SystemExit(f"{on_disk} letters written, expected {args.letters}")
    n = args.letters
    print(f"{n} mailbox letters (Markdown, Bahasa Indonesia, sandboxed Jinja):")
    print(f"  rendered:             {rendered:6.2f} s  {n / rendered:8.0f} letters/s  (target: {n} in under 5 s)")
    print(f"  rendered and written: {written:6.2f} s  {n / written:8.0f} letters/s  "
          "(files 0600 in a 0700 folder, then synced)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
