"""A second test environment, ``.venv-colab``, with the package versions of Google Colab.

Colab publishes the ``pip freeze`` of its GPU runtime (``../shared/colab/pip-freeze.gpu.txt``:
Python 3.13, torch 2.11 CUDA, ipywidgets 7.7.1, IPython 7.34, pandas 2.2.3, numpy 2.1.3, ...).
``make test`` executes the notebooks in this environment too, so that they are proven on those
versions and not only on the newest ones that ``requirements-dev.txt`` pins.

    python scripts/colab_env.py constraints [--freeze FILE]   # freeze -> .ci/colab-constraints.txt (committed)
    python scripts/colab_env.py build [--python python3.11]   # create / update .venv-colab

What differs from Colab, and why:
* Python: Colab runs 3.13, which this machine does not have; the environment uses this machine's
  3.11, and a Colab version with no build for 3.11 is left out of the constraints (listed below).
* torch: this machine's CPU build (``TORCH``), never Colab's CUDA 2.11 build (torch-family pins are left out).
* Packages Colab does not ship (PyAV, python-docx, pytest) take the project's own pins or ranges.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FREEZE = ROOT.parent / "shared" / "colab" / "pip-freeze.gpu.txt"
CONSTRAINTS = ROOT / ".ci" / "colab-constraints.txt"
VENV = ROOT / ".venv-colab"
TORCH = "torch==2.13.0"  # this machine's torch, as in requirements-dev.txt (the CPU build on the course machines)
TORCH_FAMILY = re.compile(r"^(torch|torchvision|torchaudio|torchcodec|triton|nvidia-.*)$", re.I)  # Colab's CUDA stack
NO_PY311_BUILD: set[str] = set()  # Colab versions with no build that installs on Python 3.11 (none among what labkit uses)
CONFLICTS = {"setuptools": "torch 2.13 requires setuptools>=77.0.3 (Colab has 75.2.0)"}  # pins this torch cannot live with
TEST_TOOLS = ("pytest", "pytest-timeout")  # Colab's version where it has one, else requirements-dev.txt's pin


def colab_pins(freeze: str) -> dict[str, str]:
    """``{name: "name==version"}`` of every plain pin in a ``pip freeze`` listing (no URLs, no local builds)."""
    pins = {}
    for line in freeze.splitlines():
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s+]+)", line.strip())
        if match:
            pins[match[1].lower().replace("_", "-")] = line.strip()
    return pins


def constraints_text(freeze: str, source: str) -> str:
    """The constraints file: Colab's pins without the torch family and without those that do not install on 3.11."""
    pins = colab_pins(freeze)
    left_out = {name for name in pins if TORCH_FAMILY.match(name)} | NO_PY311_BUILD | set(CONFLICTS)
    kept = [pin for name, pin in sorted(pins.items()) if name not in left_out]
    header = [
        "# Google Colab's package versions (GPU runtime), as constraints for .venv-colab.",
        f"# Written by `python scripts/colab_env.py constraints` from {source}; do not edit.",
        f"# Left out: the torch/CUDA family (this machine's {TORCH} is used instead of torch 2.11+cu128): "
        + ", ".join(sorted(name for name in pins if TORCH_FAMILY.match(name))),
        *(f"# Left out: {name}, {why}" for name, why in CONFLICTS.items()),
    ]
    return "\n".join(header + kept) + "\n"


def test_tools() -> list[str]:
    """``TEST_TOOLS``: by name where Colab pins them (its version wins), else at requirements-dev.txt's pins."""
    colab = colab_pins(CONSTRAINTS.read_text(encoding="utf-8"))
    lines = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    dev = {re.split(r"[=<>]", line.strip(), maxsplit=1)[0]: line.strip() for line in lines if line.strip() and not line.startswith("#")}
    return [name if name in colab else dev[name] for name in TEST_TOOLS]


def build(python: str) -> None:
    """Create ``.venv-colab`` (if needed) and install the project's requirements under Colab's constraints."""
    pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if not (VENV / "bin" / "python").exists():
        subprocess.run([python, "-m", "venv", str(VENV)], check=True)
    notebook_tools = ["ipykernel", "ipython", "ipywidgets", "nbclient", "nbformat", "nbconvert", "jupyter-client"]
    # torch pinned in the same resolution: a Colab pin that it cannot live with fails here, never swaps torch for a CUDA build
    subprocess.run([*pip, "-c", str(CONSTRAINTS), TORCH, "-r", str(ROOT / "requirements.txt"), *notebook_tools, *test_tools()],
                   check=True)
    versions = subprocess.run([str(VENV / "bin" / "python"), "-c", "import IPython, ipywidgets, numpy, pandas, matplotlib, torch, sys; "
                               "print('python', sys.version.split()[0], '| torch', torch.__version__, '| ipywidgets', ipywidgets.__version__,"
                               " '| IPython', IPython.__version__, '| numpy', numpy.__version__, '| pandas', pandas.__version__,"
                               " '| matplotlib', matplotlib.__version__)"], check=True, capture_output=True, text=True)
    print(f"{VENV.name}: {versions.stdout.strip()}")
    if f"torch {TORCH.split('==')[1]}" not in versions.stdout:
        raise SystemExit(f"{VENV.name}: expected {TORCH}, got {versions.stdout.strip()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    write = commands.add_parser("constraints", help=f"write {CONSTRAINTS.relative_to(ROOT)} from Colab's pip freeze")
    write.add_argument("--freeze", type=Path, default=FREEZE)
    make = commands.add_parser("build", help=f"create or update {VENV.name}")
    make.add_argument("--python", default="python3.11", help="the interpreter to base the venv on (default: python3.11)")
    args = parser.parse_args(argv)
    if args.command == "constraints":
        if not args.freeze.is_file():
            parser.error(f"{args.freeze}: no such file (Colab's pip-freeze.gpu.txt, from googlecolab/backend-info)")
        text = constraints_text(args.freeze.read_text(encoding="utf-8"), args.freeze.name)
        CONSTRAINTS.write_text(text, encoding="utf-8")
        print(f"wrote {CONSTRAINTS.relative_to(ROOT)}: {sum(not line.startswith('#') for line in text.splitlines())} pins")
    else:
        build(args.python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
