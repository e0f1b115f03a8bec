"""The command line meets bad input as a careless or hostile user would type it: one line naming the file, never a traceback.

Each test runs ``python -m labkit`` in a subprocess (as a student would); the property test calls
``labkit.cli.main`` in-process so that Hypothesis can try many files quickly.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit import models
from labkit.cli import main
from labkit.config import ModelConfig

REPO = Path(__file__).resolve().parents[1]
PEERS = "peers"


def labkit(*args: str, without_root_powers: bool = False) -> subprocess.CompletedProcess:
    """``python -m labkit ARGS`` from this checkout; ``without_root_powers``: as root, unable to read what mode 000 forbids."""
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if without_root_powers and os.geteuid() == 0 else []
    return subprocess.run([*prefix, sys.executable, "-m", "labkit", *args], capture_output=True, text=True, env=environment)


def assert_one_line_error(result: subprocess.CompletedProcess, command: str, *expected: str) -> str:
    """The command failed with exit code 1 and one stderr line ``labkit COMMAND: error: ...`` holding ``expected``."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip() and "%|" not in line]  # tqdm bars may precede it
    assert len(lines) == 1 and lines[0].startswith(f"labkit {command}: error: "), result.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    return models.save(models.build_model(ModelConfig(depth=10, width=8, embed_dim=32)), tmp_path_factory.mktemp("model") / "model.pt")


@pytest.fixture
def corpus(tiny_corpus, tmp_path) -> Path:
    """Two speakers of the tiny corpus (six utterances), copied so that a test may break them."""
    root = tmp_path / "corpus"
    for speaker in sorted((tiny_corpus / "wav").iterdir())[:2]:
        shutil.copytree(speaker, root / "wav" / speaker.name)
    return root


def first_session(root: Path) -> Path:
    return sorted(sorted((root / "wav").iterdir())[0].iterdir())[0]


def test_a_symlink_loop_in_the_corpus_is_one_line_naming_it(corpus, checkpoint, tmp_path):
    loop = first_session(corpus) / "loop.wav"
    loop.symlink_to(loop.name)  # points at itself: [Errno 40] Too many levels of symbolic links
    result = labkit("embed", str(checkpoint), "--root", str(corpus), "--out", str(tmp_path / "e.npz"))
    assert_one_line_error(result, "embed", str(loop), "Too many levels of symbolic links")
    assert not (tmp_path / "e.npz").exists()


def test_debug_shows_the_traceback(corpus, checkpoint, tmp_path):
    (first_session(corpus) / "loop.wav").symlink_to("loop.wav")
    result = labkit("--debug", "embed", str(checkpoint), "--root", str(corpus), "--out", str(tmp_path / "e.npz"))
    assert result.returncode == 1 and "Traceback (most recent call last)" in result.stderr and "OSError" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0 and not shutil.which("setpriv"), reason="root reads any folder; setpriv drops that power")
def test_an_unreadable_session_folder_is_one_line_naming_it(corpus, checkpoint, tmp_path):
    session = first_session(corpus)
    session.chmod(0o000)
    try:
        result = labkit("embed", str(checkpoint), "--root", str(corpus), "--out", str(tmp_path / "e.npz"), without_root_powers=True)
    finally:
        session.chmod(0o755)
    assert_one_line_error(result, "embed", str(session), "Permission denied")


def test_a_negative_batch_size_is_refused_before_anything_runs(corpus, checkpoint, tmp_path):
    result = labkit("embed", str(checkpoint), "--root", str(corpus), "--out", str(tmp_path / "e.npz"), "--batch-size", "-1")
    assert result.returncode == 2 and "argument --batch-size: expected a whole number >= 1, got -1" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("device, expected", [("tpu", "device 'tpu': expected auto, cpu, cuda or cuda:N"), ("cuda:7", "CUDA GPU(s); use auto or cpu")])
def test_an_unknown_or_absent_device_is_one_line(corpus, checkpoint, tmp_path, device, expected):
    result = labkit("embed", str(checkpoint), "--root", str(corpus), "--out", str(tmp_path / "e.npz"), "--device", device)
    assert_one_line_error(result, "embed", expected)


def test_a_one_sample_wav_is_named(corpus, checkpoint, tmp_path):
    tiny = first_session(corpus) / "99999.wav"
    sf.write(tiny, np.zeros(1, dtype=np.float32), 16000)
    result = labkit("embed", str(checkpoint), "--root", str(corpus), "--out", str(tmp_path / "e.npz"))
    assert_one_line_error(result, "embed", f"{tiny} (1 samples)", "shorter than the 400 samples the model needs")


def test_a_float_wav_holding_nan_is_named(corpus, checkpoint, tmp_path):
    wav = sorted(first_session(corpus).glob("*.wav"))[0]
    audio = sf.read(wav, dtype="float32")[0]
    audio[[5, 50, 500]] = np.nan
    sf.write(wav, audio, 16000, subtype="FLOAT")
    utterances = sorted(str(p.relative_to(corpus / "wav")) for p in (corpus / "wav").rglob("*.wav"))
    trials = tmp_path / "trials.txt"
    trials.write_text(f"1 {utterances[0]} {utterances[1]}\n0 {utterances[0]} {utterances[-1]}\n")
    result = labkit("evaluate", str(checkpoint), "--root", str(corpus), "--trials", str(trials))
    assert_one_line_error(result, "evaluate", f"{wav}: 3 samples are NaN or infinite")


def test_metrics_json_is_valid_json_when_a_threshold_is_infinite(tmp_path):
    scores = tmp_path / "scores.txt"
    scores.write_text("1 a b 0.1\n0 a c 0.9\n1 d e 0.2\n0 d f 0.8\n")  # the best minDCF accepts nothing: threshold +inf
    result = labkit("metrics", str(scores), "--json")
    assert result.returncode == 0, result.stderr

    def refuse(constant: str):
        raise ValueError(f"not JSON: {constant}")

    printed = json.loads(result.stdout, parse_constant=refuse)
    assert printed["min_dcf_0.01_threshold"] == "inf" and printed["min_dcf_0.01"] == 1.0


def test_a_trial_with_both_labels_names_both_lines(tmp_path):
    scores = tmp_path / "scores.txt"
    scores.write_text("1 a b 0.9\n0 a c 0.1\n\n0 a b 0.9\n1 d e 0.8\n")
    result = labkit("metrics", str(scores))
    assert_one_line_error(result, "metrics", f"{scores}:4: trial 'a b' is labelled 0 here and 1 on line 1")


def test_a_trial_file_that_is_not_utf8_names_the_line(tmp_path):
    scores = tmp_path / "scores.txt"
    scores.write_bytes("1 a b 0.9\n0 a c 0.1\n1 d e 0.8\n0 d f\xa0 0.2\n".encode("latin-1"))
    result = labkit("metrics", str(scores))
    assert_one_line_error(result, "metrics", f"{scores}:4: not UTF-8 text (byte 0xa0 at column 6)")


@pytest.mark.parametrize("config, expected", [
    ("model: ResNet34\nmodel_args: 5\n", "unexpected contents"),
    ("model: ResNet34\ndataset_args: [1, 2]\n", "unexpected contents"),
    ("model: ResNet34\nmodel_args:\n  embed_dim: many\n", "unexpected contents"),
    ("- just\n- a list\n", "model '' is not supported"),
])
def test_wespeaker_folders_with_unexpected_config_contents(fixtures_dir, tmp_path, config, expected):
    folder = tmp_path / "wespeaker"
    folder.mkdir()
    (folder / "avg_model.pt").symlink_to(fixtures_dir / PEERS / "wespeaker_resnet34" / "avg_model.pt")
    (folder / "config.yaml").write_text(config)
    result = labkit("summary", str(folder))
    assert_one_line_error(result, "summary", str(folder / "config.yaml"), expected)


LABELS = st.sampled_from(["0", "1", "1", "0", "2", "-1", "yes", ""])
NAMES = st.text(st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=12)
SCORES = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str), NAMES,
                   st.sampled_from(["1e400", "nan", "-inf", "0x10", "1_000", "٣"]))
LINES = st.one_of(
    st.tuples(LABELS, NAMES, NAMES, SCORES).map(lambda fields: " ".join(fields).encode("utf-8", "surrogatepass")),
    st.tuples(st.sampled_from(["0", "1"]), st.sampled_from(["a", "b", "c"]), st.sampled_from(["d", "e"]),
              st.floats(-5, 5).map(repr)).map(lambda fields: " ".join(fields).encode()),
    st.binary(max_size=30),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINES, max_size=25), line_end=st.sampled_from([b"\n", b"\r\n"]), as_json=st.booleans())
def test_random_score_files_give_a_result_or_one_line(tmp_path, capsys, lines, line_end, as_json):
    path = tmp_path / "scores.txt"
    path.write_bytes(line_end.join(lines))
    code = main(["metrics", str(path)] + (["--json"] if as_json else []))  # a traceback here fails the test
    out, err = capsys.readouterr()
    if code == 0:
        assert "EER" in out or "eer" in json.loads(out, parse_constant=lambda constant: pytest.fail(f"{constant} in JSON"))
    else:
        assert code == 1 and len(err.strip().splitlines()) == 1 and err.startswith("labkit metrics: error: "), err
