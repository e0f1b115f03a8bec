"""labkit.models.summary and `labkit summary`: counts checked against hand-computed layer sizes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from labkit.cli import main
from labkit.config import ModelConfig
from labkit.models import build_model
from labkit.models.summary import SEED_TABLE, count_macs, count_parameters, imagenet_table, summarize


def test_counts_of_single_layers():
    conv = nn.Conv2d(3, 8, kernel_size=3, padding=1)
    assert count_parameters(conv) == 8 * 3 * 3 * 3 + 8
    assert count_macs(conv, torch.zeros(1, 3, 10, 12)) == 8 * 3 * 3 * 3 * 10 * 12  # one MAC per weight per output pixel
    assert count_macs(nn.Linear(5, 7), torch.zeros(2, 5)) == 2 * 5 * 7
    assert count_parameters(nn.BatchNorm1d(4)) == 8  # running statistics are buffers, not parameters


def test_resnet_summary_rows():
    model = build_model(ModelConfig(arch="resnet", depth=10, width=8, embed_dim=64))
    model.train()
    table = summarize(model, seconds=2.0).set_index("stage")
    frames = 1 + (32000 - 400) // 160  # Kaldi fbank, snip edges: 198
    assert table.loc["frontend", "output"] == f"1 x 80 x {frames}"
    assert table.loc["layer1", "output"] == f"1 x 8 x 80 x {frames}"
    assert table.loc["layer4", "output"] == f"1 x 64 x 10 x {(frames + 7) // 8}"  # three stride-2 stages
    assert table.loc["embedding", "output"] == "1 x 64"
    assert table.loc["conv1", "macs"] == 8 * 1 * 9 * 80 * frames  # 3x3 stem, one input channel
    assert table.loc["embedding", "macs"] == table.loc["embedding", "parameters"] - 64  # one MAC per weight
    stage_rows = table.drop(index="total")
    assert stage_rows["parameters"].sum() == table.loc["total", "parameters"] == count_parameters(model)
    assert stage_rows["macs"].sum() == table.loc["total", "macs"]  # every counted product sits in a stage
    assert model.training  # summarize restores the mode


def test_xvector_summary_rows():
    model = build_model(ModelConfig(arch="xvector", embed_dim=512))
    table = summarize(model, seconds=2.0).set_index("stage")
    assert table.loc["frame1", "output"] == "1 x 512 x 194"  # 198 frames minus the context of [t-2, t+2]
    assert table.loc["frame5", "output"] == "1 x 1500 x 184"  # 198 - 14
    assert table.loc["frame1", "macs"] == 512 * 80 * 5 * 194
    assert table.loc["segment6", "output"] == "1 x 512"
    assert table.loc["segment7", "output"] == "-" and table.loc["segment7", "macs"] == 0  # training only


# The seed's table (He et al. 2016, Table 1 + torchvision's parameter counts), typed in independently of the code
PAPER = {18: (11.69e6, 1.8e9), 34: (21.80e6, 3.6e9), 50: (25.56e6, 3.8e9), 101: (44.55e6, 7.6e9), 152: (60.19e6, 11.3e9)}


def test_imagenet_resnets_match_the_seed_table():
    table = imagenet_table().set_index("depth")
    assert list(table.index) == [18, 34, 50, 101, 152]
    for depth, (params, macs) in PAPER.items():
        assert table.loc[depth, "params (M)"] * 1e6 == pytest.approx(params, rel=0.03), depth
        assert table.loc[depth, "MACs (G)"] * 1e9 == pytest.approx(macs, rel=0.03), depth
        assert SEED_TABLE[depth] == {"params": params, "macs": macs}  # the printed table shows the paper's numbers


def test_cli_prints_a_model_table(capsys):
    assert main(["summary", "resnet34", "--width", "32"]) == 0
    out = capsys.readouterr().out
    expected = count_parameters(build_model(ModelConfig(arch="resnet", depth=34, width=32)))
    assert f"{expected:,}" in out
    assert "layer4" in out and "total" in out


def test_cli_prints_the_imagenet_table(capsys):
    assert main(["summary", "--imagenet"]) == 0
    out = capsys.readouterr().out
    assert "seed MACs (G)" in out and "11.300" in out and "60.190" in out


def test_cli_names_an_unknown_model(capsys):
    assert main(["summary", "vgg19"]) == 1
    assert "unknown model 'vgg19'" in capsys.readouterr().err


def test_lstm_multiply_adds_are_counted_from_their_sizes():
    """FlopCounterMode does not see the fused LSTM kernel; MacCounter adds 4 gates x (input + hidden) x hidden per step and layer."""
    lstm = nn.LSTM(40, 256, num_layers=3, batch_first=True)
    assert count_macs(lstm, torch.zeros(2, 100, 40)) == 2 * 100 * (4 * 256 * (40 + 256) + 2 * 4 * 256 * (256 + 256))
    both_ways = nn.LSTM(10, 8, num_layers=2, bidirectional=True)
    assert count_macs(both_ways, torch.zeros(7, 1, 10)) == 7 * 2 * (4 * 8 * (10 + 8) + 4 * 8 * (16 + 8))


def test_unbatched_lstm_input_counts_its_time_steps():
    lstm = nn.LSTM(10, 8)
    assert count_macs(lstm, torch.zeros(5, 10)) == 5 * 4 * 8 * (10 + 8)
