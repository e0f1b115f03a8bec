"""labkit.xvector_layers: the TDNN's summary with each layer's context and where the embedding is taken."""

from __future__ import annotations

from labkit.models.summary import format_summary
from labkit.xvector_layers import EMBEDDING_LAYER, xvector_layers


def test_context_grows_as_in_the_paper_and_the_embedding_is_segment6():
    table = xvector_layers(seconds=1.0).set_index("stage")
    assert table.loc[["frame1", "frame2", "frame3", "frame4", "frame5"], "context"].tolist() == ["5", "9", "15", "15", "15"]
    assert table.loc["pooling", "output"] == "1 x 3000"  # mean and standard deviation of 1500 channels
    assert table.loc[EMBEDDING_LAYER, "output"] == "1 x 512" and "x-vector" in table.loc[EMBEDDING_LAYER, "role"]
    assert table.loc["segment7", "macs"] == 0  # not run in eval mode: training only
    assert table.loc["frame1", "parameters"] == 5 * 30 * 512 + 512 + 2 * 512  # 5 frames x 30 mels in, bias, BN
    assert table.loc["total", "parameters"] == 4_491_668
    assert table.loc["frame5", "output"] == "1 x 1500 x 84"  # 1 s = 98 frames, minus 14 at the edges


def test_the_printed_summary_reads_each_role_from_the_left():
    lines = format_summary(xvector_layers(seconds=1.0)).splitlines()
    start = lines[0].index("role")  # the header and every role begin in the same column, as prose does
    assert lines[1][start:].startswith("log-mel features") and lines[7][start:].startswith("statistics pooling")
    assert all(line == line.rstrip() for line in lines)  # no trailing blanks after the shorter roles
