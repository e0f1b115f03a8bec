"""The instructor's lab pack: ``labkit pack`` builds it, ``labkit verify`` checks what students unpacked.

A lab pack is three zip archives, each holding one folder and its ``MANIFEST.tsv``
(path, size, sha256 of every file):

    labpack_vox1_test.zip     voxceleb1/wav/... + voxceleb1/meta/veri_test2.txt
    labpack_vox2_subset.zip   voxceleb2_subset/wav/... + voxceleb2_subset/meta/... (nothing else of the folder)
    labpack_model.zip         checkpoints/<name>/...

``labkit subset`` writes the same ``MANIFEST.tsv`` (``write_manifest``), so ``labkit verify`` checks
its output as well as an unpacked pack.

``labpack.json`` lists the archives with size, md5 and sha256, and ``registry_entries`` prints the
``assets.yaml`` entries to paste after uploading them to Google Drive or Hugging Face;
``write_course_table`` (``labkit drive-ids``) writes a copy of the asset table with those entries and
the Drive ids of the uploaded files filled in, for students to use with ``LABKIT_ASSETS``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import time
import zipfile
from pathlib import Path

import yaml
from tqdm.auto import tqdm

from labkit.data.archives import ensure_free_space, safe_extract
from labkit.data.download import file_hashes
from labkit.data.registry import COMMIT, assets_file, get_asset, load_registry
from labkit.files import atomic_path, sha256_file, write_text_atomic

MANIFEST = "MANIFEST.tsv"
CHUNK = 1 << 20
LEFTOVERS = (".part", ".part.json", ".gdown", ".verified", ".mismatch", ".mismatch.json")  # download bookkeeping, not data
DATASET_FOLDERS = ("wav", "meta")  # what a prepared dataset is; downloads/, markers and partial files are not


def _files_under(folder: Path) -> list[Path]:
    """Finished files below ``folder``: no manifest, nothing hidden (temporary files), no download leftovers."""
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.name != MANIFEST and not p.name.endswith(LEFTOVERS)
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))  # .tmp files, .hf/ staging


def dataset_files(root: Path) -> list[Path]:
    """The files of a prepared dataset: everything under ``root/wav`` and ``root/meta``."""
    return [p for folder in DATASET_FOLDERS for p in _files_under(root / folder)]


def _manifest_text(rows: list[tuple[str, int, str]]) -> str:
    return "path\tsize\tsha256\n" + "".join(f"{n}\t{s}\t{h}\n" for n, s, h in rows)


def write_manifest(root: str | Path, progress: bool = True) -> Path:
    """Write ``root/MANIFEST.tsv`` (path, size, sha256) for the dataset files of ``root``; return its path."""
    root = Path(root)
    rows = []
    for path in tqdm(dataset_files(root), desc=f"sha256 {root.name}", unit="file", disable=not progress, leave=False):
        rows.append((path.relative_to(root).as_posix(), path.stat().st_size, sha256_file(path)))
    return write_text_atomic(root / MANIFEST, _manifest_text(rows))


def _add_folder(zf: zipfile.ZipFile, sources: dict[str, Path], top: str, bar: tqdm) -> int:
    """Add ``{path inside top: file on disk}`` to the zip, hashing each file once; then top/MANIFEST.tsv.

    ``top=""`` puts the files at the root of the zip."""
    prefix = f"{top}/" if top else ""
    rows = []
    for name, src in sorted(sources.items()):
        digest, size = hashlib.sha256(), 0
        with open(src, "rb") as fin, zf.open(f"{prefix}{name}", "w", force_zip64=True) as fout:
            for chunk in iter(lambda: fin.read(CHUNK), b""):
                fout.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                bar.update(len(chunk))
        rows.append((name, size, digest.hexdigest()))
    zf.writestr(f"{prefix}{MANIFEST}", _manifest_text(rows))
    return len(rows)


def _write_archive(path: Path, top: str, sources: dict[str, Path], bar: tqdm) -> dict:
    """One stored (uncompressed: audio does not shrink) zip, written to a temp name and renamed."""
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        count = _add_folder(zf, sources, top, bar)
    return {"name": path.name, "folder": top, "files": count, **file_hashes(path)}


def build_pack(out_dir: str | Path, vox1_test: str | Path, trials: str | Path, subset: str | Path,
               checkpoint: str | Path, progress: bool = True) -> dict:
    """Build the lab pack in ``out_dir``; return (and write as ``labpack.json``) its description.

    ``vox1_test`` holds ``wav/id10270/...``; ``trials`` is ``veri_test2.txt``; ``subset`` is the output of
    ``labkit subset`` (``wav/`` and ``meta/``); ``checkpoint`` is a file or a folder (e.g. WeSpeaker's).
    """
    out_dir, vox1_test, subset, checkpoint = Path(out_dir), Path(vox1_test), Path(subset), Path(checkpoint)
    for path, what in ((vox1_test / "wav", "VoxCeleb1 test audio (wav/idXXXXX/...)"), (Path(trials), "trial list"),
                       (subset / "wav", "subset audio (wav/idXXXXX/...)"), (checkpoint, "checkpoint")):
        if not path.exists():
            raise FileNotFoundError(f"{path}: missing {what}")
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = {
        "labpack_vox1_test.zip": ("voxceleb1", {**{str(p.relative_to(vox1_test)): p for p in _files_under(vox1_test / "wav")},
                                                f"meta/{Path(trials).name}": Path(trials)}),
        "labpack_vox2_subset.zip": ("voxceleb2_subset", {p.relative_to(subset).as_posix(): p for p in dataset_files(subset)}),
        "labpack_model.zip": (f"checkpoints/{checkpoint.stem}",
                              {str(p.relative_to(checkpoint)): p for p in _files_under(checkpoint)} if checkpoint.is_dir()
                              else {checkpoint.name: checkpoint}),
    }
    total = sum(p.stat().st_size for _, files in plan.values() for p in files.values())
    with tqdm(total=total, unit="B", unit_scale=True, desc="pack", disable=not progress) as bar:
        archives = [_write_archive(out_dir / name, top, files, bar) for name, (top, files) in plan.items()]
    description = {"archives": archives}
    write_text_atomic(out_dir / "labpack.json", json.dumps(description, indent=2))
    return description


def _check_pinned(hf_repo: str, hf_revision: str) -> None:
    """A Hugging Face source is pinned to a commit (never a branch): refuse a repo without one."""
    if hf_repo and not COMMIT.fullmatch(hf_revision):
        raise ValueError(f"--hf-repo needs --hf-revision: the commit hash (40 hex digits) of the upload, got {hf_revision!r}")


def registry_entries(description: dict, hf_repo: str = "", hf_revision: str = "") -> str:
    """The ``assets.yaml`` entries of a built pack (Drive ids left empty, to be filled after upload).

    ``hf_repo`` adds a Hugging Face source pinned to ``hf_revision``, the commit of the upload."""
    _check_pinned(hf_repo, hf_revision)
    about = {"labpack_vox1_test.zip": ("VoxCeleb1 test audio + veri_test2.txt (course lab pack)", "voxceleb1_test"),
             "labpack_vox2_subset.zip": ("~100 h VoxCeleb2 training subset as 16 kHz wav (course lab pack)", "voxceleb2_dev"),
             "labpack_model.zip": ("pretrained checkpoint (course lab pack)", "wespeaker_resnet34")}
    entries = {}
    for archive in description["archives"]:
        text, origin = about[archive["name"]]
        sources = [{"drive": {archive["name"]: ""}}]
        if hf_repo:
            sources.append({"hf": {"repo": hf_repo, "type": "dataset", "revision": hf_revision, "path": "{file}"}})
        entries[archive["name"].removesuffix(".zip")] = {
            "description": text,
            "files": [{k: archive[k] for k in ("name", "size", "md5", "sha256")}],
            "sources": sources,
            "unpack": {"format": "zip", "to": "."},
            "licence": get_asset(origin).licence,
            "citation": get_asset(origin).citation,
        }
    return yaml.safe_dump(entries, sort_keys=False, width=120)


def verify_dir(root: str | Path, quick: bool = False, progress: bool = True) -> list[str]:
    """Check a prepared folder against its ``MANIFEST.tsv``; return the problems (empty = all good).

    ``quick`` compares sizes only; otherwise every file's sha256 is recomputed.
    """
    root = Path(root)
    manifest = root / MANIFEST
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest}: no manifest; expected a folder unpacked from a lab pack or written by labkit subset")
    with open(manifest, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    if not rows or rows[0] != ["path", "size", "sha256"]:
        raise ValueError(f"{manifest}:1: expected the header 'path<TAB>size<TAB>sha256'")
    problems = []
    for line, row in enumerate(tqdm(rows[1:], desc=f"verify {root.name}", unit="file", disable=not progress), start=2):
        if len(row) != 3 or not row[1].isdigit():
            raise ValueError(f"{manifest}:{line}: expected 'path<TAB>size<TAB>sha256', got {row}")
        name, size, sha256 = row[0], int(row[1]), row[2]
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != size:
            problems.append(f"{name}: size {path.stat().st_size} != {size}")
        elif not quick and sha256_file(path) != sha256:
            problems.append(f"{name}: sha256 differs")
    return problems


def pack(out_dir: str | Path, vox1_test: str | Path, trials: str | Path, subset: str | Path, checkpoint: str | Path,
         hf_repo: str = "", hf_revision: str = "", progress: bool = True) -> str:
    """``labkit pack``: build the pack and return the registry entries to paste after uploading it."""
    _check_pinned(hf_repo, hf_revision)  # before hours of packing, not after
    return registry_entries(build_pack(out_dir, vox1_test, trials, subset, checkpoint, progress), hf_repo, hf_revision)


# ---------------------------------------------------------------- a prepared dataset kept on Drive between sessions


def persist_dataset(root: str | Path, drive_cache: str | Path, progress: bool = True) -> Path:
    """Keep a prepared dataset (``wav/``, ``meta/``) as one stored zip ``<name>.zip`` in ``drive_cache``.

    One archive, not 100,000 small files on the Drive mount (which is slow per file); written
    to a temporary name and renamed. An archive already holding the same manifest is kept.
    """
    root, drive_cache = Path(root), Path(drive_cache)
    archive = drive_cache / f"{root.name}.zip"
    manifest = (root / MANIFEST).read_text(encoding="utf-8") if (root / MANIFEST).is_file() else None
    if manifest is not None and archive.is_file():
        with zipfile.ZipFile(archive) as zf:
            if MANIFEST in zf.namelist() and zf.read(MANIFEST).decode("utf-8") == manifest:
                return archive
    files = {p.relative_to(root).as_posix(): p for p in dataset_files(root)}
    total = sum(p.stat().st_size for p in files.values())
    ensure_free_space(drive_cache, total, f"keeping {root.name} on Drive")  # a free Drive holds 15 GB
    drive_cache.mkdir(parents=True, exist_ok=True)
    with tqdm(total=total, unit="B", unit_scale=True, desc=f"Drive {archive.name}", disable=not progress) as bar:
        _write_archive(archive, "", files, bar)
    return archive


def restore_dataset(root: str | Path, drive_cache: str | Path, progress: bool = True) -> float | None:
    """Unpack ``<name>.zip`` from ``drive_cache`` into ``root`` and check it; return the seconds it took (None: no copy)."""
    root, archive = Path(root), Path(drive_cache) / f"{Path(root).name}.zip"
    if not archive.is_file():
        return None
    started = time.perf_counter()
    safe_extract(archive, root, progress=progress)
    problems = verify_dir(root, quick=True, progress=False)
    if problems:
        raise ValueError(f"{archive}: restored copy is incomplete ({problems[0]}, ...); delete it and prepare the data again")
    seconds = time.perf_counter() - started
    print(f"restored {root.name} from {archive} in {seconds:.1f} s (no download)")
    return seconds


# ---------------------------------------------------------------- the instructor's asset table with Drive ids


def fill_drive_ids(table: str, ids: dict[str, str]) -> str:
    """``table`` (assets.yaml text) with the empty Drive id of each file in ``ids`` filled in; comments kept."""
    for name, file_id in ids.items():
        if not re.fullmatch(r"[\w-]{10,}", file_id):
            raise ValueError(f"{name}={file_id!r}: not a Google Drive file id (the part after /d/ in the sharing link)")
        table, count = re.subn(rf"(?m)(^\s*|[{{,]\s*){re.escape(name)}:\s*(''|\"\")", rf'\g<1>{name}: "{file_id}"', table)
        if not count:
            raise ValueError(f"{name}: no empty Google Drive entry for this file in the asset table")
    return table


def write_course_table(out: str | Path, ids: dict[str, str], pack_entries: str | Path | None = None) -> Path:
    """Write a copy of the asset table in use (plus the lab pack's entries) with the Drive ids filled in.

    Students (or the course's notebooks) point ``LABKIT_ASSETS`` at it; Google Drive is then the first
    source of every file with an id. The result is checked by loading it before it is written.
    """
    table = assets_file().read_text(encoding="utf-8")
    if pack_entries:
        table = table.rstrip("\n") + "\n\n# the course lab pack (labkit pack)\n" + Path(pack_entries).read_text(encoding="utf-8")
    table = fill_drive_ids(table, ids)
    with atomic_path(out) as tmp:
        tmp.write_text(table, encoding="utf-8")
        load_registry(tmp)  # a broken table is never written
    return Path(out)
