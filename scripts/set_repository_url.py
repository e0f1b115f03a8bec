"""Write the repository URL of pyproject.toml into the README's Colab badges and the notebooks' clone cells.

``[project.urls] Repository`` in pyproject.toml is the one place that names the repository.
Forking the course: change it there, then run ``make urls`` (this script). Standard library only.

    python scripts/set_repository_url.py [--root REPO] [--check]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the setup cell's bilingual source and the notebooks generated from it (`make notebooks`)
NOTEBOOKS = ("notebooks/src/shared/setup.py", "notebooks/es/*.ipynb", "notebooks/en/*.ipynb")
GITHUB = re.compile(r"^https://github\.com/(?P<owner>[\w.-]+)/(?P<name>[\w.-]+?)(?:\.git)?/?$")
BADGE = re.compile(r"https://colab\.research\.google\.com/github/[\w.-]+/[\w.-]+/blob/")  # the part before the branch
CLONE = re.compile(r'(REPOSITORY = \\?")[^"\\]*(\\?")')  # the clone cell's line, in a source or inside the .ipynb JSON


def repository_url(root: Path = ROOT) -> str:
    """``[project.urls] Repository`` of ``root/pyproject.toml``; it must be a GitHub repository URL."""
    path = root / "pyproject.toml"
    with open(path, "rb") as f:
        url = tomllib.load(f).get("project", {}).get("urls", {}).get("Repository")
    if not url or not GITHUB.match(url):
        raise ValueError(f"{path}: [project.urls] Repository must be https://github.com/OWNER/NAME, got {url!r}")
    return url


def badge_prefix(url: str) -> str:
    """The Colab address of the repository, up to the branch: https://colab.research.google.com/github/OWNER/NAME/blob/."""
    match = GITHUB.match(url)
    return f"https://colab.research.google.com/github/{match['owner']}/{match['name']}/blob/"


def rewritten(root: Path, url: str) -> dict[Path, str]:
    """The new text of every file that names the repository (README badges, notebook clone cells)."""
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    if not BADGE.search(text):
        raise ValueError(f"{readme}: no Colab badge (https://colab.research.google.com/github/OWNER/NAME/blob/...) found")
    files = {readme: BADGE.sub(badge_prefix(url), text)}
    notebooks = sorted(path for pattern in NOTEBOOKS for path in root.glob(pattern))
    if not notebooks:
        raise ValueError(f"{root}: no notebooks found ({', '.join(NOTEBOOKS)})")
    for path in notebooks:
        text = path.read_text(encoding="utf-8")
        if len(CLONE.findall(text)) != 1:
            raise ValueError(f'{path}: expected exactly one line REPOSITORY = "..." in its setup cell')
        files[path] = CLONE.sub(lambda m: m[1] + url + m[2], text)
    return files


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` by ``text`` through a temp file in the same folder."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    os.chmod(tmp, path.stat().st_mode & 0o7777)  # mkstemp makes 0600: keep the file's own mode
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="repository checkout (default: this script's)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file is out of date")
    args = parser.parse_args(argv)
    url = repository_url(args.root)
    stale = {path: text for path, text in rewritten(args.root, url).items() if path.read_text(encoding="utf-8") != text}
    if args.check:
        print("\n".join(f"out of date: {path}" for path in stale) or f"up to date with {url}")
        return 1 if stale else 0
    for path, text in stale.items():
        write_atomic(path, text)
        print(f"updated {path}")
    print(f"repository: {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
