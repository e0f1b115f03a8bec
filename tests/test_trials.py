"""Trial lists and score files: formats, statistics, clear errors."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.trials import Trials, TrialFormatError, read_scores, read_trials, write_scores, write_trials

LINES = [
    "1 id10270/x6uYqmx31kE/00001.wav id10270/8jEAjG6SegY/00008.wav",
    "0 id10270/x6uYqmx31kE/00001.wav id10300/ize_eiCFEg0/00003.wav",
    "1 id10300/ize_eiCFEg0/00003.wav id10300/2XDNeZ5ADGE/00001.wav",
]


def test_reads_voxceleb_format_with_crlf_blank_lines_and_trailing_spaces(tmp_path):
    path = tmp_path / "veri_test2.txt"
    path.write_bytes(("\r\n".join(line + "  " for line in LINES) + "\r\n\r\n").encode())
    trials = read_trials(path)
    assert trials.labels.tolist() == [1, 0, 1]
    assert trials.enroll[1] == "id10270/x6uYqmx31kE/00001.wav"
    assert trials.test[2] == "id10300/2XDNeZ5ADGE/00001.wav"
    assert trials.stats() == {"trials": 3, "targets": 2, "nontargets": 1, "utterances": 4, "speakers": 2}


def test_round_trip_trials_and_scores(tmp_path):
    trials = Trials(np.array([1, 0], dtype=np.int8), np.array(["a/x/1.wav", "a/x/1.wav"]), np.array(["a/y/2.wav", "b/z/3.wav"]))
    write_trials(tmp_path / "t.txt", trials)
    again = read_trials(tmp_path / "t.txt")
    assert again.labels.tolist() == [1, 0] and again.test.tolist() == trials.test.tolist()
    scores = np.array([0.123456789012, -0.5])
    write_scores(tmp_path / "s.txt", trials, scores)
    loaded = read_scores(tmp_path / "s.txt")
    assert np.allclose(loaded.scores, scores, rtol=1e-8)
    assert loaded.labels.tolist() == [1, 0]
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize(
    "text, reader, message",
    [
        ("1 a/b/1.wav\n", read_trials, r"t.txt:1: expected 3 fields"),
        (LINES[0] + "\n2 a/b/1.wav a/c/2.wav\n", read_trials, r"t.txt:2: label must be 0 or 1, found '2'"),
        ("\n\n", read_trials, r"t.txt: empty file"),
        (LINES[0] + " 0.5\n" + LINES[1] + "\n", read_scores, r"t.txt:2: expected 4 fields"),
        (LINES[0] + " high\n", read_scores, r"t.txt:1: score must be a number, found 'high'"),
        (LINES[0] + " nan\n", read_scores, r"t.txt:1: score must be finite"),
        (LINES[0] + "\n", read_scores, r"t.txt:1: expected 4 fields \(<1\|0> <enroll> <test> <score>\)"),
    ],
)
def test_bad_files_name_file_and_line(tmp_path, text, reader, message):
    path = tmp_path / "t.txt"
    path.write_text(text)
    with pytest.raises(TrialFormatError, match=message):
        reader(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such trial"):
        read_trials(tmp_path / "nope.txt")


def test_duplicate_trials_warn_with_line_numbers(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("\n".join([LINES[0], LINES[1], LINES[0]]) + "\n")
    with pytest.warns(UserWarning, match="1 duplicate trial.*line 3 repeats line 1"):
        trials = read_trials(path)
    assert len(trials) == 3
