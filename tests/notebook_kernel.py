"""Real Jupyter kernels for the tests: this venv's Python (with labkit), found through JUPYTER_PATH."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from queue import Empty

import nbclient
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


class NotebookClient(nbclient.NotebookClient):
    """nbclient's client, with the kernel's replies read in 1-s polls.

    A reply that arrives together with widget messages (the threshold explorer's ipywidgets) can sit
    unread until the poll's whole timeout runs out: the cell's ``timeout``, minutes of a test doing
    nothing (nbclient issue #312). Polling in short slices until the same deadline reads it at once.
    """

    async def async_start_new_kernel_client(self):
        client = await super().async_start_new_kernel_client()
        channel = client.shell_channel
        get_msg = channel.get_msg

        async def sliced_get_msg(timeout: float | None = None) -> dict:
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = 1.0 if deadline is None else min(1.0, max(0.0, deadline - time.monotonic()))
                try:
                    return await get_msg(timeout=left)
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

        channel.get_msg = sliced_get_msg
        return client
