"""``labkit doctor``: what works on this machine for the real-data lab, and what to do about the rest.

One row per check: the GPU, free disk space, Google Drive, PyAV (VoxCeleb2's AAC), TeX (the PDF
report), and every download host of the asset table with the state of its token or key. Nothing
is downloaded: a host is asked for the headers of one file.
"""

from __future__ import annotations

import os
import shutil
import urllib.error
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from labkit.files import COLAB_DRIVE
from labkit.i18n import t

REAL_MODE_BYTES = 16 * 10**9  # the ~100 h subset as wav (11.5 GB), VoxCeleb1 test and its zip (2.1 GB), models, margin
LEVELS = {"ok": "ok", "warn": "!", "fail": "FAIL"}


@dataclass
class Check:
    """One row of the table: what was checked, how it went ("ok", "warn", "fail"), what was seen, what to do."""

    name: str
    level: str
    seen: str
    todo: str = ""


def check_gpu() -> Check:
    """A CUDA GPU for training (CPU works for the quick mode, slowly)."""
    import torch

    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return Check("GPU", "ok", f"{props.name}, {props.total_memory / 2**30:.0f} GiB")
    return Check("GPU", "warn", t("doctor.no_gpu"), t("doctor.no_gpu_fix"))


def check_disk(folder: str | Path, needed: int = REAL_MODE_BYTES) -> Check:
    """Free space where the data goes."""
    folder = Path(folder)
    probe = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(probe).free
    seen = t("doctor.disk_free", gb=free / 1e9, folder=probe)
    if free >= needed:
        return Check(t("doctor.disk"), "ok", seen)
    return Check(t("doctor.disk"), "fail", seen, t("doctor.disk_fix", gb=needed / 1e9))


def check_drive(mount: Path = COLAB_DRIVE) -> Check:
    """Google Drive mounted (Colab): answers and downloads survive a recycled VM."""
    if (mount / "MyDrive").is_dir():
        return Check("Google Drive", "ok", t("doctor.drive_mounted", path=mount))
    if mount.parent.is_dir():  # on Colab, not mounted
        return Check("Google Drive", "warn", t("doctor.drive_not_mounted"), "from google.colab import drive; drive.mount('/content/drive')")
    return Check("Google Drive", "ok", t("doctor.not_colab"))


def check_pyav() -> Check:
    """PyAV with an AAC decoder: VoxCeleb2 is AAC in .m4a."""
    try:
        import av
    except ImportError:
        return Check("PyAV", "fail", t("doctor.no_pyav"), "pip install av")
    try:
        av.codec.Codec("aac", "r")
    except Exception as error:  # PyAV raises its own UnknownCodecError
        return Check("PyAV", "fail", t("doctor.no_aac", version=av.__version__, error=error), "pip install --force-reinstall av")
    return Check("PyAV", "ok", t("doctor.aac", version=av.__version__))


def check_tex() -> Check:
    """pdflatex for the PDF report (the Overleaf zip and the Word file work without it)."""
    found = shutil.which("pdflatex")
    if found:
        return Check("TeX", "ok", found)
    return Check("TeX", "warn", t("doctor.no_tex"), t("doctor.no_tex_fix"))


def _probe(url: str, headers: dict[str, str], timeout: float) -> tuple[str, str]:
    """(level, what was seen) for the headers of one file at ``url``."""
    from labkit.data.http import failure, http_open

    try:
        with http_open(url, headers, timeout, method="HEAD") as response:
            return "ok", f"HTTP {response.status}"
    except urllib.error.HTTPError as error:
        return "fail", failure(error, url) or f"HTTP {error.code} {error.reason}"
    except OSError as error:
        return "fail", failure(error, url) or f"unreachable ({error})"


def check_sources(timeout: float = 5.0) -> list[Check]:
    """Each download host of the asset table, asked for one file's headers, with its token or key state."""
    from labkit.data.download import KAIST_KEY_ENV, source_kind
    from labkit.data.hub import TOKEN_HINT, auth_headers
    from labkit.data.registry import load_registry, redact

    checks, seen_hosts = [], set()
    registry = load_registry()
    drive_ids = sum(1 for a in registry.values() for s in a.sources for i in s.drive_ids.values() if i)
    checks.append(Check("Google Drive ids", "ok" if drive_ids else "warn", f"{drive_ids} course file ids filled in",
                        "" if drive_ids else "instructor: labkit drive-ids (README, 'Instructor workflow')"))
    for asset in registry.values():
        for source in asset.sources:
            kind = source_kind(source)
            host = urllib.parse.urlsplit(source.template).netloc
            if kind == "drive" or (kind, host) in seen_hosts:
                continue
            seen_hosts.add((kind, host))
            name = f"{kind} {host}"
            if kind == "kaist":
                key = os.environ.get(KAIST_KEY_ENV, "")
                if not key:
                    checks.append(Check(name, "warn", "no key", f"request one at https://mm.kaist.ac.kr/datasets/voxceleb/ and set {KAIST_KEY_ENV}"))
                    continue
                url, headers, token = source.url(asset.files[0].name, key), {}, "key set"
            elif kind == "hf":
                headers = auth_headers()
                url, token = source.url(asset.files[0].name), "token set" if headers else "anonymous"
            else:
                url, headers, token = source.url(asset.files[0].name), {}, ""
            level, result = _probe(url, headers, timeout)
            seen, _, todo = result.removeprefix(f"{host}: ").partition(": ")  # what happened: what to do
            if level != "ok" and kind == "hf" and ("401" in seen or "403" in seen):
                todo = TOKEN_HINT
            elif level == "ok" and kind == "hf" and not headers:
                level, todo = "warn", "anonymous requests are limited per IP: set HF_TOKEN for the subset's many range requests"
            if level != "ok" and not todo:
                todo = "other sources are tried in turn"
            checks.append(Check(name, level, redact(", ".join(filter(None, [seen, token]))), todo))
    return checks


def doctor(data_root: str | Path = "data", timeout: float = 5.0, sources: bool = True) -> list[Check]:
    """Every check, in the order the lab needs them (``sources=False``: this machine only, no network)."""
    checks = [check_gpu(), check_disk(data_root), check_drive(), check_pyav(), check_tex()]
    return checks + check_sources(timeout) if sources else checks


def format_table(checks: list[Check]) -> str:
    """The checks as a plain-text table (works in a terminal and a notebook cell)."""
    rows = [(t("doctor.check"), "", t("doctor.seen"), t("doctor.todo"))] + [(c.name, LEVELS[c.level], c.seen, c.todo) for c in checks]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{a:{widths[0]}}  {b:{widths[1]}}  {c:{widths[2]}}  {d}".rstrip() for a, b, c, d in rows)
