"""VoxCeleb2 subset extraction: HTTP Range reads of the chosen members against downloading every part.

A VoxCeleb2-style split zip (240 AAC utterances of 3 s, 4 parts) is served on 127.0.0.1. The baseline
downloads all parts (verified, like ``labkit download``) and then extracts a 10% selection locally;
``labkit subset`` reads only the central directory and the selected members' byte ranges. Also compares
1 and 2 conversion workers. The server sends at most 20 MB/s per connection; the byte ratio is what
carries over to Colab (where the network is the bottleneck). Times are from a shared, loaded machine.

Then subsets of the local VoxCeleb mirror (tests/mirror.py, Hugging Face routes): the bytes fetched as
a share of the archive and the HTTP requests beside the naive count, one per member; exits non-zero
if merging neighbours saved no request.
"""

from __future__ import annotations

import hashlib
import io
import sys
import tempfile
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from common import best_time, check, finish  # noqa: E402
from httpserver import FileServer  # noqa: E402
from test_subset import m4a  # noqa: E402  (real AAC files made with PyAV)

from labkit.data.download import http_download  # noqa: E402
from labkit.data.registry import AssetFile  # noqa: E402
from labkit.data.subset import extract_subset  # noqa: E402

RATE_LIMIT = 20e6  # bytes/s per connection: a good Colab download (loopback alone has no bandwidth limit)


def main() -> None:
    buf, keys = io.BytesIO(), []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(240):
            keys.append(f"id{i // 12:05d}/video{i % 3}/{i:05d}")
            zf.writestr(f"dev/aac/{keys[-1]}.m4a", m4a(100 + 7 * i, seconds=3.0))
    whole = buf.getvalue()
    size = len(whole) // 4 + 1
    parts = {f"vox2_dev_aac_parta{chr(97 + i)}": whole[i * size : (i + 1) * size] for i in range(4)}
    chosen = keys[::10]
    with FileServer() as server, tempfile.TemporaryDirectory() as tmp:
        urls = [server.add(f"/{name}", data, rate=RATE_LIMIT) for name, data in parts.items()]

        def download_all_then_extract() -> None:
            folder = Path(tempfile.mkdtemp(dir=tmp))
            paths = [http_download(url, folder / name, AssetFile(name, len(data), sha256=hashlib.sha256(data).hexdigest()),
                                   progress=False) for url, (name, data) in zip(urls, parts.items())]
            extract_subset(paths, folder / "out", chosen, progress=False)

        def remote(workers: int) -> None:
            extract_subset(urls, Path(tempfile.mkdtemp(dir=tmp)), chosen, workers=workers, progress=False)

        server.sent.clear()
        download_all_then_extract()
        baseline_bytes = sum(server.sent.values())
        server.sent.clear()
        remote(2)
        subset_bytes = sum(server.sent.values())
        t_base = best_time(download_all_then_extract, repeats=3)
        t_remote = {w: best_time(lambda w=w: remote(w), repeats=3) for w in (1, 2)}
        t_convert_all = {w: best_time(lambda w=w: extract_subset(urls, Path(tempfile.mkdtemp(dir=tmp)), keys, workers=w,
                                                                   progress=False), repeats=2) for w in (1, 2)}
    print(f"  archive {len(whole) / 1e6:.2f} MB in 4 parts, {len(keys)} utterances; selection {len(chosen)} (10%)")
    print(f"  bytes: download-all {baseline_bytes / 1e6:.2f} MB, subset {subset_bytes / 1e6:.3f} MB "
          f"= {100 * subset_bytes / baseline_bytes:.1f}% of the baseline")
    print(f"  time at {RATE_LIMIT / 1e6:.0f} MB/s per connection: download-all + extract {t_base:.3f} s, subset {t_remote[2]:.3f} s "
          f"-> {t_base / t_remote[2]:.2f}x faster")
    check("subset over HTTP Range: share of the archive's bytes", 100 * subset_bytes / baseline_bytes, 20, at_least=False, unit=" %", digits=1)
    print(f"  conversion of all {len(keys)} utterances: 1 worker {len(keys) / t_convert_all[1]:.0f} utt/s, "
          f"2 workers {len(keys) / t_convert_all[2]:.0f} utt/s ({t_convert_all[1] / t_convert_all[2]:.2f}x)")


def mirror_requests() -> None:
    """Subsets drawn from the local VoxCeleb mirror: bytes as a share of the archive, HTTP requests against one per member."""
    import os

    from mirror import Mirror, build_mirror_files

    from labkit.data.subset import prepare_subset

    with tempfile.TemporaryDirectory() as tmp:
        files = build_mirror_files(Path(tmp), speakers=40)
        with Mirror(files) as server:
            os.environ["LABKIT_ASSETS"] = str(server.assets)
            for name in ("tiny_few", "tiny_many_low"):
                s = prepare_subset(Path(tmp) / name, list_name=name, source="hf", progress=False)
                share = s["bytes_fetched"] / s["archive_bytes"]
                print(f"  mirror {name}: {s['utterances']} utterances, {s['bytes_fetched'] / 1e6:.2f} MB = {100 * share:.1f}% "
                      f"of the {s['archive_bytes'] / 1e6:.2f} MB archive; {s['http_requests']} HTTP requests "
                      f"({s['planned_requests']} for members) against {s['naive_requests']} naive (one per member)")
                check(f"subset {name} from the mirror: member requests, share of one per member",
                      100 * s["planned_requests"] / s["naive_requests"], 100, at_least=False, unit=" %", digits=1)
                check(f"subset {name} from the mirror: share of the archive's bytes", 100 * share, 100, at_least=False, unit=" %", digits=1)
            del os.environ["LABKIT_ASSETS"]


if __name__ == "__main__":
    main()
    mirror_requests()
    raise SystemExit(finish())
