"""Screenshots of the executed notebooks as a student's browser shows them (headless Chromium).

`make screenshots` first executes every notebook in quick mode and renders it to HTML
(tests/test_notebooks.py with ``LABKIT_EXECUTED_DIR``), then runs this script:

    python scripts/screenshots.py [HTML_FOLDER] [OUT_FOLDER]    # default: build/notebooks build/screenshots

Each page is captured whole (one tall screenshot, its blank end trimmed) and cut into screen-high
pieces, ``OUT/<lang>-session1-01.png``, ... Chromium is Debian's package ``chromium``; it runs
without network, sandbox, GPU or a profile of its own (a fresh ``--user-data-dir`` each time).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
WIDTH, TALLEST, PIECE = 1100, 32000, 1400  # browser width, the longest page captured, the height of one piece (px)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--hide-scrollbars", "--default-background-color=ffffffff"]


def chromium() -> str:
    """The Chromium executable; a clear error says how to install it."""
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    raise SystemExit("chromium not found: install Debian's package (apt-get install chromium)")


def capture(html: Path, png: Path) -> None:
    """One tall screenshot of ``html``."""
    with tempfile.TemporaryDirectory(prefix="labkit-chromium-") as profile:
        command = [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={WIDTH},{TALLEST}",
                   f"--screenshot={png}", html.resolve().as_uri()]
        subprocess.run(command, check=True, capture_output=True, timeout=300)


def pieces(png: Path, stem: Path) -> list[Path]:
    """Trim the blank end of ``png`` and cut it into pieces ``<stem>-01.png``, ...; returns them."""
    image = Image.open(png).convert("RGB")
    rows = np.asarray(image).min(axis=(1, 2)) < 250  # rows with anything darker than the white background
    end = min(image.height, int(np.nonzero(rows)[0].max()) + 40) if rows.any() else image.height
    written = []
    for number, top in enumerate(range(0, end, PIECE), start=1):
        target = stem.with_name(f"{stem.name}-{number:02d}.png")
        image.crop((0, top, image.width, min(top + PIECE, end))).save(target)
        written.append(target)
    if end >= TALLEST - 40:
        print(f"{png.name}: the page is longer than {TALLEST} px; its end is not captured", file=sys.stderr)
    png.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path, nargs="?", default=ROOT / "build" / "notebooks")
    parser.add_argument("out", type=Path, nargs="?", default=ROOT / "build" / "screenshots")
    args = parser.parse_args(argv)
    pages = sorted(args.html.rglob("*.html"))
    if not pages:
        parser.error(f"{args.html}: no HTML pages; run `make screenshots` (it executes the notebooks first)")
    args.out.mkdir(parents=True, exist_ok=True)
    for html in pages:
        stem = args.out / f"{html.parent.name}-{html.stem}"  # es-session1
        capture(html, stem.with_suffix(".png"))
        written = pieces(stem.with_suffix(".png"), stem)
        print(f"{html.relative_to(args.html)}: {len(written)} screenshots, {written[0].name} ... {written[-1].name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
