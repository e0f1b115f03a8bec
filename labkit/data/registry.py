"""The asset table: every downloadable file of the lab, its checksums and where to get it.

The facts live in ``assets.yaml`` beside this module (one place for each fact); this module
only reads that file into small dataclasses and turns a source into a URL for one file.
``LABKIT_ASSETS=path/to/assets.yaml`` replaces the table everywhere (library, CLI, notebooks):
a course mirror, or the tests' local VoxCeleb mirror.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import yaml

ASSETS_FILE = Path(__file__).with_name("assets.yaml")
ASSETS_ENV = "LABKIT_ASSETS"  # another asset table (a course mirror, the tests' local mirror) instead of ASSETS_FILE
HF_ENDPOINT = "https://huggingface.co"
SOURCE_KINDS = ("drive", "http", "hf")
COMMIT = re.compile(r"[0-9a-f]{40}")  # a git commit hash: the only revision an asset may be pinned to
KEY_IN_URL = re.compile(r"([?&]key=)[^&#\s]*")  # the KAIST key, as a URL query parameter


def redact(text: str, key: str = "") -> str:
    """``text`` (a URL, a message, a marker) with the KAIST key replaced by ``<key>``, raw or URL-quoted."""
    text = KEY_IN_URL.sub(r"\1<key>", text)
    for form in {key, urllib.parse.quote(key)} - {""}:
        text = text.replace(form, "<key>")
    return text


@dataclass(frozen=True)
class AssetFile:
    """One file of an asset with what it must hash to (empty checksum = not published)."""

    name: str
    size: int | None = None
    md5: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class Source:
    """One place an asset can come from: a Google Drive id per file, or a URL template."""

    kind: str  # "drive", "http" or "hf"
    template: str = ""  # URL with {file} (and {key} for KAIST); empty for drive
    drive_ids: dict[str, str] = field(default_factory=dict)
    repo: str = ""  # hf only: repository, its type ("model" or "dataset"), the pinned commit, the path template
    repo_type: str = "model"
    revision: str = ""
    path: str = ""
    endpoint: str = HF_ENDPOINT

    def repo_path(self, file: str) -> str:
        """hf only: the file's path inside the repository (e.g. ``vox2/vox2_dev_aac_partaa``)."""
        return self.path.format(file=file)

    @property
    def needs_key(self) -> bool:
        """True for the KAIST mirror, whose URLs carry a per-user key."""
        return "{key}" in self.template

    def url(self, file: str, key: str = "") -> str:
        """The URL of ``file`` at this source (drive sources have ids, not URLs)."""
        return self.template.format(file=urllib.parse.quote(file), key=urllib.parse.quote(key))

    def describe(self) -> str:
        """A short human name: the host of the URL, or 'Google Drive'."""
        if self.kind == "drive":
            return "Google Drive (course copy)"
        return f"{self.kind} {urllib.parse.urlsplit(self.template).netloc}"

    @property
    def pinned(self) -> str:
        """The commit this source is pinned to: the hf revision, or a commit hash in the URL; "" for none."""
        return self.revision or next(iter(COMMIT.findall(self.template)), "")


@dataclass(frozen=True)
class Asset:
    """A named asset: files, sources in order of preference, how it unpacks, licence."""

    name: str
    description: str
    files: tuple[AssetFile, ...]
    sources: tuple[Source, ...]
    unpack_format: str = "none"  # "zip", "tar" or "none"
    unpack_to: str = "."  # relative to the download destination
    approx_bytes: int = 0
    licence: str = ""
    citation: str = ""

    @property
    def total_bytes(self) -> int:
        """Bytes to download: the exact sizes when published, else the approximate size."""
        return self.bytes_for(self.files)

    def bytes_for(self, files: Iterable[AssetFile]) -> int:
        """Bytes of ``files`` (some of this asset's): exact sizes when all are published, else at least
        the approximate size less the published sizes of the files not asked for."""
        files = list(files)
        exact = sum(f.size or 0 for f in files)
        if all(f.size for f in files) or not self.approx_bytes:
            return exact
        others = sum(f.size or 0 for f in self.files if f not in files)
        return max(exact, self.approx_bytes - others)

    @property
    def revisions(self) -> list[str]:
        """Where each source is pinned, e.g. ``["hf 6085a7c8ec62", "http -"]`` (``-``: a server file, checked by its checksum)."""
        return [f"{s.kind} {s.pinned[:12] or '-'}" for s in self.sources if s.kind != "drive"]


def _hf_source(spec: dict, where: str) -> Source:
    """A Hugging Face source, pinned to a commit: its resolve URL is
    ``endpoint/[datasets/]repo/resolve/revision/path``."""
    missing = {"repo", "revision", "path"} - set(spec)
    if missing:
        raise ValueError(f"{where}: hf source needs {sorted(missing)}")
    revision = str(spec["revision"])
    if not COMMIT.fullmatch(revision):
        raise ValueError(f"{where}: hf revision {revision!r} is not a commit hash (40 hex digits); "
                         "pin the commit shown on the repository's 'Files' page, never a branch such as main")
    repo_type = spec.get("type", "model")
    endpoint = str(spec.get("endpoint", HF_ENDPOINT)).rstrip("/")
    prefix = "datasets/" if repo_type == "dataset" else ""
    template = f"{endpoint}/{prefix}{spec['repo']}/resolve/{revision}/{spec['path']}"
    return Source("hf", template=template, repo=spec["repo"], repo_type=repo_type, revision=revision,
                  path=spec["path"], endpoint=endpoint)


def _parse_source(entry: dict, where: str) -> Source:
    if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in SOURCE_KINDS:
        raise ValueError(f"{where}: expected one of {SOURCE_KINDS} as a single key, got {entry!r}")
    kind, spec = next(iter(entry.items()))
    if kind == "drive":
        return Source("drive", drive_ids={str(k): str(v or "") for k, v in spec.items()})
    if kind == "hf":
        return _hf_source(spec, where)
    return Source("http", template=str(spec))


ASSET_KEYS = {"description", "files", "sources", "unpack", "approx_bytes", "licence", "citation",
              "whole_md5"}  # whole_md5: informational, documented in assets.yaml, not checked


def _parse_asset(name: str, entry: dict, where: str) -> Asset:
    if not isinstance(entry, dict) or not entry.get("files") or not entry.get("sources"):
        raise ValueError(f"{where}: asset {name!r} needs 'files' and 'sources'")
    unknown = sorted(set(entry) - ASSET_KEYS)
    if unknown:
        raise ValueError(f"{where}: asset {name!r}: unknown key(s) {unknown}; expected some of {sorted(ASSET_KEYS)}")
    try:
        files = tuple(AssetFile(**f) for f in entry["files"])
    except TypeError as error:
        raise ValueError(f"{where}: asset {name!r}: a file entry needs name and may have size, md5, sha256 ({error})") from error
    sources = tuple(_parse_source(s, f"{where}: asset {name!r}") for s in entry["sources"])
    unpack = entry.get("unpack", {})
    if unpack.get("format", "none") not in ("zip", "tar", "none"):
        raise ValueError(f"{where}: asset {name!r}: unpack format must be zip, tar or none")
    return Asset(
        name=name,
        description=entry.get("description", ""),
        files=files,
        sources=sources,
        unpack_format=unpack.get("format", "none"),
        unpack_to=unpack.get("to", "."),
        approx_bytes=int(entry.get("approx_bytes", 0)),
        licence=entry.get("licence", ""),
        citation=entry.get("citation", ""),
    )


def assets_file() -> Path:
    """The asset table in use: $LABKIT_ASSETS when set, else ``assets.yaml`` beside this module."""
    return Path(os.environ.get(ASSETS_ENV) or ASSETS_FILE)


def load_registry(path: str | Path | None = None) -> dict[str, Asset]:
    """Read the asset table (``assets_file()`` by default) into ``{name: Asset}``."""
    path = Path(path or assets_file())
    try:
        entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(entries, dict):
        raise ValueError(f"{path}: expected a mapping of asset names to entries")
    return {name: _parse_asset(name, entry, str(path)) for name, entry in entries.items()}


def get_asset(name: str, registry: dict[str, Asset] | None = None) -> Asset:
    """One asset by name, with the list of known names if it is not there."""
    registry = load_registry() if registry is None else registry
    if name not in registry:
        raise ValueError(f"unknown asset {name!r}; known assets: {', '.join(sorted(registry))}")
    return registry[name]
