"""The notebooks' setup, as library code: install, Drive, GPU and PyAV, each step explaining its failure.

On Colab the setup cell clones the repository, then calls ``setup(...)``. Every step's output is
captured; a failure shows one line with its cause and one with the fix (``SetupError``, which a
notebook prints without a traceback) and stops before anything is downloaded. Nothing here needs
Colab: ``google.colab`` is imported only when running there, so it runs, and is tested, anywhere::

    from labkit.colab import setup
    QUICK, PRESET, DATA, OUT = setup(quick=True, language="es", use_drive=True, checkout=CHECKOUT)

Headless runs (the tests, CI) override the notebook's settings through the environment:
``LABKIT_NOTEBOOK_QUICK`` (1/0), ``LABKIT_NOTEBOOK_PRESET`` (``lab``/``tiny``) and ``LABKIT_NOTEBOOK_OUT``.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from labkit.files import COLAB_DRIVE
from labkit.i18n import set_language, t

DRIVE_HOME = COLAB_DRIVE / "MyDrive"


class SetupError(Exception):
    """A setup step failed: its cause and its fix, shown in a notebook without a traceback."""

    def __init__(self, cause: str, fix: str, details: str = ""):
        super().__init__(f"{cause}\n{fix}")
        self.cause, self.fix, self.details = cause, fix, details

    def _render_traceback_(self) -> list[str]:  # IPython shows these lines instead of the traceback
        return [*self.details.splitlines(), f"✗ {self.cause}", f"→ {self.fix}"]


class Settings(NamedTuple):
    """What the rest of a notebook needs: the mode, the synthetic corpus size, where data and outputs go."""

    quick: bool
    preset: str
    data: Path
    out: Path


def in_colab() -> bool:
    """Whether this kernel runs on Google Colab (which imports ``google.colab`` at start)."""
    return "google.colab" in sys.modules


def install(checkout: Path) -> None:
    """``pip install -e checkout`` (torch stays Colab's own CUDA build); pip's output is shown only on failure."""
    command = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", str(checkout)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        output = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
        # pip's own reason is its last "ERROR:" line (the lines after it are generic notes)
        reason = next((line for line in reversed(output) if "ERROR:" in line), output[-1] if output else f"exit status {result.returncode}")
        raise SetupError(t("setup.pip_failed", error=reason), t("setup.pip_fix"), "\n".join(output[-15:]))
    importlib.invalidate_caches()  # packages pip just installed (PyAV, python-docx) import without a restart


def mount_drive() -> bool:
    """Mount Google Drive at /content/drive; when that fails or is refused, say where the answers go instead."""
    from labkit.report.questions import default_store_path

    try:
        from google.colab import drive

        drive.mount(str(COLAB_DRIVE))
        return True
    except Exception as error:  # refused consent, a timeout, a Drive outage: the lab goes on without Drive
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        print(f"✗ {t('setup.drive_failed', error=reason)}")
        print(f"→ {t('setup.drive_fix', path=default_store_path())}")
        return False


def require_gpu() -> None:
    """Stop unless a CUDA GPU is there: real-data training on a CPU would take hours."""
    import torch

    if not torch.cuda.is_available():
        raise SetupError(t("setup.no_gpu"), t("setup.no_gpu_fix"))


def require_pyav() -> None:
    """Stop unless PyAV imports: VoxCeleb2's m4a audio is converted with it (before any download starts)."""
    try:
        import av  # noqa: F401
    except ImportError as error:
        raise SetupError(t("setup.no_pyav", error=error), t("setup.no_pyav_fix")) from None


def setup(quick: bool, language: str, use_drive: bool = True, checkout: Path | None = None) -> Settings:
    """Prepare this machine for a lab notebook and return its settings.

    ``checkout`` (Colab): the cloned repository, installed with pip. ``use_drive`` mounts Drive on
    Colab. ``quick=False`` (real VoxCeleb data) needs a GPU and PyAV: without them this stops
    before any download, with the fix. Messages are in ``language``, as everything labkit shows.
    """
    from labkit.data.download import default_data_root

    set_language(language)
    quick = os.environ.get("LABKIT_NOTEBOOK_QUICK", str(quick)).lower() not in ("0", "false", "no")
    if checkout is not None:
        install(Path(checkout))
    if use_drive and in_colab():
        mount_drive()
    if not quick:
        if not os.environ.get("LABKIT_NOTEBOOK_CPU"):  # CI runs real mode on the local mirror, on a CPU
            require_gpu()
        require_pyav()
    out = os.environ.get("LABKIT_NOTEBOOK_OUT") or (DRIVE_HOME / "labkit" / "notebooks" if DRIVE_HOME.is_dir() else "runs/notebooks")
    settings = Settings(quick, os.environ.get("LABKIT_NOTEBOOK_PRESET", "lab"), default_data_root(), Path(out))
    import torch

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    print(f"labkit | torch {torch.__version__} | device: {device} | QUICK={settings.quick}")
    print(t("setup.folders", data=settings.data, out=settings.out))
    return settings
