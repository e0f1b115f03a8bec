"""benchmarks/common.py: targets are checked (not only printed) and `make bench` ends with their table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
import common  # noqa: E402


def test_checks_are_recorded_and_a_miss_fails_the_table(tmp_path, monkeypatch, capsys):
    results = tmp_path / "results.jsonl"
    monkeypatch.setenv(common.RESULTS_ENV, str(results))
    monkeypatch.setattr(common, "CHECKS", [])
    assert common.check("speed-up", 1.25, 1.0, unit="x") is True
    assert common.finish() == 0
    assert common.check("time", 612.0, 500, at_least=False, unit=" ms", digits=0) is False
    assert common.finish() == 1
    printed = capsys.readouterr().out
    assert "[pass] speed-up: 1.25x (target >= 1.00x)" in printed and "[MISSED] time: 612 ms (target <= 500 ms)" in printed
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [row["verdict"] for row in rows] == ["pass", "MISSED"] and rows[1]["target"] == "<= 500 ms"
    table = subprocess.run([sys.executable, str(BENCHMARKS / "common.py"), str(results)], capture_output=True, text=True)
    assert table.returncode == 1
    assert "| time | <= 500 ms | 612 ms | MISSED |" in table.stdout and "1 of 2 targets met; 1 MISSED" in table.stdout
