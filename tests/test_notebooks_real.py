"""Both notebooks in real mode (``QUICK = False``) against the local VoxCeleb mirror, end to end:
download, subset over HTTP Range, m4a -> wav, training, the WeSpeaker-format pretrained model
evaluated, the report built; then session 1 again on a "new VM" (a fresh data folder, the same
Drive cache) restores everything from Drive without a download.

One language: the Spanish notebooks run the same code cells (tests/test_notebooks.py checks that
both languages come from one source). The CPU stands in for Colab's GPU (LABKIT_NOTEBOOK_CPU=1).
"""

from __future__ import annotations

import zipfile

import nbformat
import pandas as pd
import pytest

from mirror import Mirror, build_mirror_files
from notebook_kernel import NotebookClient, kernel, outputs
from test_notebooks import NOTEBOOKS


def run(path, kernel_name: str, work) -> nbformat.NotebookNode:
    """"Run all" in a fresh kernel whose working folder is ``work`` (so ``data/`` goes there)."""
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name=kernel_name, resources={"metadata": {"path": str(work)}}).execute()
    return notebook


@pytest.mark.slow
def test_both_notebooks_in_real_mode_against_the_mirror_then_a_new_vm_restores_from_drive(tmp_path, monkeypatch):
    files = build_mirror_files(tmp_path / "mirror", speakers=180)  # tiny_few's train rows fill a batch of 128
    kernel_name = kernel(tmp_path, monkeypatch)
    out, drive = tmp_path / "out", tmp_path / "drive" / "labkit_cache"
    with Mirror(files) as mirror:
        for name, value in {"LABKIT_ASSETS": str(mirror.assets), "LABKIT_NOTEBOOK_QUICK": "0", "LABKIT_NOTEBOOK_CPU": "1",
                            "LABKIT_NOTEBOOK_MINUTES": "1", "LABKIT_NOTEBOOK_STUDY": "rehearsal", "LABKIT_ANSWERS": str(tmp_path / "answers.json"),
                            "LABKIT_NOTEBOOK_OUT": str(out), "LABKIT_DRIVE_CACHE": str(drive),
                            "HF_HOME": str(tmp_path / "hf_home")}.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        vm1, vm2 = tmp_path / "vm1", tmp_path / "vm2"
        vm1.mkdir(), vm2.mkdir()
        first = run(NOTEBOOKS[1, "en"], kernel_name, vm1)
        second = run(NOTEBOOKS[2, "en"], kernel_name, vm1)

        text = "\n".join(outputs(first, "text"))
        assert "QUICK=False" in text and not outputs(first, "error") and not outputs(second, "error")
        with zipfile.ZipFile(files / "vox1_test_wav.zip") as zf:
            assert len(list((vm1 / "data" / "voxceleb1" / "wav").rglob("*.wav"))) == len(zf.namelist())
        rows = (files / "tiny_few_utterance_list.csv").read_text().splitlines()[1:]
        train = [r for r in rows if r.endswith(";train")]
        assert len(list((vm1 / "data" / "voxceleb2_subset" / "wav").rglob("*.wav"))) == len(train)
        trials = len((files / "veri_test2.txt").read_text().splitlines())
        results = pd.read_csv(out / "results.csv")
        assert results["model"].tolist()[0] == "pretrained" and (results["trials"] == trials).all()
        assert results.loc[0, "arch"] == "resnet34-w32" and len(results) == 4  # WeSpeaker's ResNet34, Resemblyzer, two trained
        assert results.loc[1, "model"] == "resemblyzer" and results["eer_%"].between(0, 100).all()  # the real model's row in real mode too
        assert (out / "report" / "report-overleaf.zip").is_file() and (out / "report" / "report.docx").is_file()
        assert sorted(p.name for p in drive.iterdir() if p.suffix in (".zip", ".txt")) == \
            ["veri_test2.txt", "vox1_test_wav.zip", "voxceleb2_subset.zip"]

        requests = len(mirror.log)
        again = run(NOTEBOOKS[1, "en"], kernel_name, vm2)  # a new VM: nothing in data/, the same Drive
        assert len(mirror.log) == requests  # restored, not downloaded
        text = "\n".join(outputs(again, "text"))
        assert "restored vox1_test_wav.zip from" in text and "restored voxceleb2_subset from" in text
        assert len(list((vm2 / "data" / "voxceleb2_subset" / "wav").rglob("*.wav"))) == len(train)
