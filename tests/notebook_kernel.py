"""Real Jupyter kernels for the tests: this venv's Python (with labkit), found through JUPYTER_PATH."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest


def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, python: str = sys.executable) -> str:
    """The name of a kernelspec that runs ``python``, visible to nbclient for this test only."""
    folder = tmp_path / "jupyter" / "kernels" / "labkit-test"
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"], "display_name": "labkit test", "language": "python"}
    (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "labkit-test"


def outputs(notebook: nbformat.NotebookNode, kind: str) -> list[str]:
    """Every output of ``kind`` ("text" for streams and text/plain, "error" for error lines, or a MIME type such as image/png)."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if kind == "text":
                found.append(output.get("text") or output.get("data", {}).get("text/plain", ""))
            elif kind == "error" and output.get("output_type") == "error":
                found.append("\n".join(output["traceback"]))
            elif kind in output.get("data", {}):
                found.append(output["data"][kind])
    return found
