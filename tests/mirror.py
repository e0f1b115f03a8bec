"""A miniature VoxCeleb, in the real formats, served on 127.0.0.1 the way the real hosts serve it.

    files = build_mirror_files(folder)             # once: synthetic speakers -> the real file formats
    with Mirror(files) as mirror:                  # a loopback server with Hugging Face's routes
        monkeypatch.setenv("LABKIT_ASSETS", str(mirror.assets))  # labkit now downloads from the mirror

What is built (from labkit's synthetic generator, ``labkit.data.synthetic.make_corpus``):
    vox1_test_wav.zip               wav/id1xxxx/<video>/<nnnnn>.wav of the test speakers (VoxCeleb1 test)
    veri_test.txt, veri_test2.txt   their trial list in VoxCeleb's format
    vox2_dev_aac_parta{a..h}        dev/aac/id0xxxx/<video>/<nnnnn>.m4a (AAC via PyAV) as one zip, split raw
    tiny_*_utterance_list.csv       Vaessen-format lists (utterance_key;shard_dix;set_name), train and val rows:
                                    tiny_few = half the speakers, tiny_many_* = every 4th utterance of all
    avg_model[.pt], config.yaml     a WeSpeaker model folder (the shared random-weight fixture; the LM repo has no .pt)
    baseline_*.model                voxceleb_trainer models (the shared fixtures in the published format)

What is served, as on the real hosts:
    /[datasets/]<repo>/resolve/<commit>/<path>   302 to /cdn/<sha256> with X-Repo-Commit, X-Linked-Etag,
                                                 X-Linked-Size (what huggingface_hub reads); 401 without the
                                                 token when ``token`` is set; 429 + Retry-After on demand
    /cdn/<sha256>                                the bytes, with Range and If-Range
    /oxford/meta/<file>, /joon/data/<file>, /github/<commit>/meta/<file>   plain HTTP hosts
    /drive/uc                                    Google Drive's quota page (HTML, 200)
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

from httpserver import FileServer, Served

VOX_REVISION = "6085a7c8ec62af7a42fcccb938c56720c358acf0"
PEERS = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "peers"
PARTS = [f"vox2_dev_aac_parta{c}" for c in "abcdefgh"]
QUOTA_PAGE = b"""<html><head><title>Google Drive - Quota exceeded</title></head><body>
<p>Too many users have viewed or downloaded this file recently. Please try accessing the file again later.</p></body></html>"""


def encode_m4a(samples: np.ndarray, rate: int = 16000) -> bytes:
    """Float samples as a real AAC-in-mp4 (.m4a) file, encoded with PyAV."""
    import av

    buf = io.BytesIO()
    x = samples.astype(np.float32)
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate, layout="mono")
        for i in range(0, len(x), 1024):
            frame = av.AudioFrame.from_ndarray(x[None, i : i + 1024], format="fltp", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def build_mirror_files(folder: Path, speakers: int = 8, seed: int = 0) -> Path:
    """Write the mirror's files (see the module docstring) into ``folder/files``; return that folder."""
    from labkit.data.synthetic import make_corpus

    files = folder / "files"
    if (files / "DONE").is_file():
        return files
    corpus = make_corpus(folder / "corpus", preset="tiny", seed=seed, speakers=speakers)
    files.mkdir(parents=True, exist_ok=True)
    wavs = sorted((corpus / "wav").rglob("*.wav"))
    keys = [p.relative_to(corpus / "wav").as_posix()[:-4] for p in wavs]  # idXXXXX/<video>/<nnnnn>
    test = {k: p for k, p in zip(keys, wavs) if k.startswith("id1")}
    train = {k: p for k, p in zip(keys, wavs) if not k.startswith("id1")}
    (files / "vox1_test_wav.zip").write_bytes(_zip({f"wav/{k}.wav": p.read_bytes() for k, p in test.items()}))
    trials = (corpus / "meta" / "veri_test.txt").read_bytes()
    (files / "veri_test.txt").write_bytes(trials)
    (files / "veri_test2.txt").write_bytes(trials)
    whole = _zip({"dev/aac/": b"", **{f"dev/aac/{k}.m4a": encode_m4a(sf.read(p, dtype="float32")[0]) for k, p in train.items()}})
    size = len(whole) // len(PARTS) + 1  # `split -b`: raw pieces, only the last one shorter
    for i, name in enumerate(PARTS):
        (files / name).write_bytes(whole[i * size : (i + 1) * size])
    speakers_sorted = sorted({k.split("/")[0] for k in train})
    few = set(speakers_sorted[: len(speakers_sorted) // 2])
    lists = {"tiny_few": [k for k in sorted(train) if k.split("/")[0] in few],  # all of half the speakers: contiguous
             "tiny_many_low": sorted(train)[::4], "tiny_many_high": sorted(train)[1::4]}  # every speaker, scattered
    for name, chosen in lists.items():
        rows = [f"{k};0;{'val' if i % 4 == 3 else 'train'}\n" for i, k in enumerate(chosen)]  # a quarter are val rows
        (files / f"{name}_utterance_list.csv").write_text("utterance_key;shard_dix;set_name\n" + "".join(rows))
    for name in ("avg_model", "avg_model.pt"):  # the LM repository's name, and the plain one's
        shutil.copyfile(PEERS / "wespeaker_resnet34" / "avg_model.pt", files / name)
    shutil.copyfile(PEERS / "wespeaker_resnet34" / "config.yaml", files / "config.yaml")
    shutil.copyfile(PEERS / "voxceleb_trainer_resnetse34l" / "model_legacy_format.model", files / "baseline_lite_ap.model")
    shutil.copyfile(PEERS / "voxceleb_trainer_resnetse34v2" / "model_legacy_format.model", files / "baseline_v2_smproto.model")
    (files / "vox1_meta.csv").write_text("VoxCeleb1 ID\tVGGFace1 ID\tGender\tNationality\tSet\n")
    (files / "vox2_meta.csv").write_text("VoxCeleb2 ID ,VGGFace2 ID ,Gender ,Set \n")
    (files / "list_test_all2.txt").write_bytes(trials)
    (files / "list_test_hard2.txt").write_bytes(trials)
    (files / "DONE").write_text("")
    return files


@dataclass
class HubFile:
    sha256: str
    size: int
    revision: str


class Mirror(FileServer):
    """The loopback server with the mirror's files, Hugging Face routes and an asset table pointing at it.

    ``token``: the Hugging Face token every resolve request must carry ("" = anonymous access);
    ``rate_limited``: Retry-After values, each answering one resolve request with 429.
    """

    def __init__(self, files: Path, token: str = ""):
        super().__init__()
        self.files_dir, self.token = files, token
        self.hub: dict[str, HubFile] = {}
        self.rate_limited: list[str] = []
        self.assets = files.parent / f"assets-{id(self)}.yaml"

    def __enter__(self) -> "Mirror":
        super().__enter__()
        self.assets.write_text(yaml.safe_dump(self._asset_table(), sort_keys=False))
        return self

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self.assets.unlink(missing_ok=True)

    def add_hub(self, repo: str, repo_type: str, revision: str, path: str, data: bytes) -> None:
        """Serve ``data`` as ``path`` of a Hugging Face repository at ``revision`` (through /cdn/<sha256>)."""
        sha = hashlib.sha256(data).hexdigest()
        self.add(f"/cdn/{sha}", data, etag=f'"{sha}"')
        prefix = "/datasets/" if repo_type == "dataset" else "/"
        self.hub[f"{prefix}{repo}/resolve/{revision}/{path}"] = HubFile(sha, len(data), revision)

    def answer(self, handler, path: str) -> Served | bool | None:
        entry = self.hub.get(path)
        if entry is None:
            return None
        if self.token and handler.headers.get("Authorization") != f"Bearer {self.token}":
            self._reply(handler, 401, {"X-Error-Message": "Invalid credentials in Authorization header"})
        elif self.rate_limited:
            self._reply(handler, 429, {"Retry-After": self.rate_limited.pop(0)})
        else:
            self._reply(handler, 302, {"Location": self.url(f"/cdn/{entry.sha256}"), "X-Repo-Commit": entry.revision,
                                       "X-Linked-Etag": f'"{entry.sha256}"', "X-Linked-Size": str(entry.size),
                                       "ETag": f'"{entry.sha256}"'})
        return True

    @staticmethod
    def _reply(handler, status: int, headers: dict[str, str]) -> None:
        body = b"" if status == 302 else json.dumps({"error": headers.get("X-Error-Message", str(status))}).encode()
        handler.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body)), "Content-Type": "application/json"}.items():
            handler.send_header(name, value)
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)

    def _asset_table(self) -> dict:
        """labkit's own assets.yaml with every source moved to this server and every file's real checksums."""
        from labkit.data.registry import ASSETS_FILE

        table = yaml.safe_load(ASSETS_FILE.read_text())
        endpoint = self.url("").rstrip("/")
        for name, entry in table.items():
            sources = []
            for source in entry["sources"]:
                (kind, spec), = source.items()
                if kind == "hf":
                    spec = {**spec, "endpoint": endpoint}
                    for f in entry["files"]:
                        data = (self.files_dir / f["name"]).read_bytes()
                        self.add_hub(spec["repo"], spec.get("type", "model"), spec["revision"], spec["path"].format(file=f["name"]), data)
                elif kind == "http" and "{key}" not in spec:  # KAIST needs a personal key: left out of the mirror
                    host_path = spec.split("://", 1)[1].split("/", 1)[1].rsplit("/", 1)[0]  # e.g. ~vgg/data/voxceleb/meta
                    route = f"/{host_path.replace('~', '')}"
                    for f in entry["files"]:
                        self.add(f"{route}/{f['name']}", (self.files_dir / f["name"]).read_bytes())
                    spec = f"{endpoint}{route}/{{file}}"
                elif kind == "http":
                    continue
                sources.append({kind: spec})
            entry["sources"] = sources
            entry["files"] = [self._checksums(f["name"]) for f in entry["files"]]
            entry.pop("approx_bytes", None)
        self.add("/drive/uc", QUOTA_PAGE, content_type="text/html; charset=utf-8")
        return copy.deepcopy(table)

    def _checksums(self, name: str) -> dict:
        data = (self.files_dir / name).read_bytes()
        return {"name": name, "size": len(data), "md5": hashlib.md5(data).hexdigest(), "sha256": hashlib.sha256(data).hexdigest()}
