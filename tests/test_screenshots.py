"""scripts/screenshots.py: whole pages photographed by headless Chromium, cut into screen-high pieces."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def _script():
    spec = importlib.util.spec_from_file_location("screenshots", REPO / "scripts" / "screenshots.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_tall_page_is_trimmed_and_cut_into_pieces(tmp_path):
    screenshots = _script()
    page = np.full((5000, 300, 3), 255, np.uint8)
    page[100:3000:50, 10:200] = 0  # text lines down to y = 2950, then blank to the end
    Image.fromarray(page).save(tmp_path / "es-session1.png")
    written = screenshots.pieces(tmp_path / "es-session1.png", tmp_path / "es-session1")
    assert [p.name for p in written] == ["es-session1-01.png", "es-session1-02.png", "es-session1-03.png"]
    heights = [Image.open(p).height for p in written]
    assert heights == [1400, 1400, 2950 + 40 - 2800]  # the blank end is trimmed to 40 px after the last dark row
    assert not (tmp_path / "es-session1.png").exists()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_chromium_photographs_a_page(tmp_path):
    """A real headless Chromium run on a small page (5-30 s, with the machine's load)."""
    html = tmp_path / "pages" / "en" / "session1.html"
    html.parent.mkdir(parents=True)
    html.write_text("<html><body style='margin:0'><div style='height:2000px;background:#000'></div></body></html>")
    assert _script().main([str(tmp_path / "pages"), str(tmp_path / "shots")]) == 0
    shots = sorted((tmp_path / "shots").iterdir())
    assert [p.name for p in shots] == ["en-session1-01.png", "en-session1-02.png"]
    first = np.asarray(Image.open(shots[0]).convert("L"))
    assert first.shape[1] == 1100 and first.max() < 30  # the black block fills the first piece
