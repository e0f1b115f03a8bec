"""Does a session fit the class? A notebook executed headless in quick mode, timed cell by cell.

Issue 11: session 2 in quick mode on the `lab` preset must fit a 2-hour class on a 2-core CPU.
This runs the notebook exactly as a student's "Run all" would (a real Jupyter kernel, this venv's
Python), in a fresh working folder, then prints the total time, the slowest cells and the time
of each section (## heading), and checks the total against the class length. On a machine that
other jobs share the figure is an upper bound. Not part of `make bench` (it takes most of an hour).

    python benchmarks/class_time.py                       # session 2, Spanish, lab preset, 120 min
    python benchmarks/class_time.py --session 1 --preset tiny --minutes 30
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from common import check, finish  # noqa: E402
from notebook_kernel import NotebookClient  # noqa: E402  (reads replies next to widget messages at once)

REPO = Path(__file__).resolve().parents[1]


def kernel_spec(folder: Path) -> str:
    """A kernelspec running this Python, visible to nbclient through JUPYTER_PATH; returns its name."""
    spec = folder / "kernels" / "labkit-class-time"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "labkit", "language": "python"}), encoding="utf-8")
    os.environ["JUPYTER_PATH"] = str(folder)
    return spec.name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--session", type=int, default=2, choices=(1, 2))
    parser.add_argument("--lang", default="es", choices=("es", "en"))
    parser.add_argument("--preset", default="lab", help="synthetic corpus preset (default: %(default)s)")
    parser.add_argument("--minutes", type=float, default=120.0, help="the class length to fit in (default: %(default)s)")
    args = parser.parse_args()
    notebook = nbformat.read(REPO / "notebooks" / args.lang / f"session{args.session}.ipynb", as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        os.environ.update({"LABKIT_NOTEBOOK_QUICK": "1", "LABKIT_NOTEBOOK_PRESET": args.preset, "LABKIT_NOTEBOOK_OUT": str(work / "out"),
                           "LABKIT_ANSWERS": str(work / "answers.json")})
        client = NotebookClient(notebook, timeout=3600, kernel_name=kernel_spec(Path(tmp) / "jupyter"),
                                         resources={"metadata": {"path": str(work)}})
        seconds, section, sections = [], "(top)", {}
        with client.setup_kernel():
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type == "markdown" and cell.source.startswith("## "):
                    section = cell.source.splitlines()[0][3:]
                    print(f"{sum(seconds) / 60:6.1f} min  {section}", flush=True)  # progress, for a run that is stopped early
                started = time.perf_counter()
                client.execute_cell(cell, index)
                seconds.append(time.perf_counter() - started)
                sections[section] = sections.get(section, 0.0) + seconds[-1]
    total = sum(seconds) / 60
    print(f"session {args.session} ({args.lang}), quick mode, preset {args.preset}: {total:.1f} min")
    for name, spent in sections.items():
        print(f"  {spent / 60:6.1f} min  {name}")
    print("slowest cells:")
    for index in sorted(range(len(seconds)), key=seconds.__getitem__, reverse=True)[:5]:
        print(f"  {seconds[index] / 60:6.1f} min  cell {index}: {notebook.cells[index].source.splitlines()[0][:70]}")
    check(f"session {args.session} on '{args.preset}' fits the class (min)", total, args.minutes, at_least=False, digits=1)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
