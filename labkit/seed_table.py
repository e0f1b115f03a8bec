"""The seed's ResNet table (He et al. 2016, Table 1), reproduced, and what our speaker ResNets cost.

FLOPs and MACs, once: a multiply-add (MAC) ``a * b + c`` is two floating-point operations
(FLOPs), a multiplication and an addition, so FLOPs = 2 x MACs. The ResNet paper's row "FLOPs"
(1.8 x 10^9 for ResNet-18, as in the seed) counts multiply-adds, as was usual then; tools that
count operations one by one (``torch.utils.flop_counter``) report twice that. The table below
shows both, and compares our MACs with the paper's figure.

The ImageNet networks (3 x 224 x 224 images, 1000 classes) come from ``labkit.models.resnet``
itself (``imagenet_resnet``), measured by ``labkit.models.summary.imagenet_table``: the same
code as the speaker ResNets, with a 7x7 stem and width 64.
"""

from __future__ import annotations

import pandas as pd

from labkit.config import FrontendConfig, ModelConfig
from labkit.i18n import label
from labkit.models import build_model
from labkit.models.resnet import ARCHITECTURES
from labkit.models.summary import count_macs, count_parameters, example_input, imagenet_table

SPEAKER_RESNETS = {"ResNet10-w16": (10, 16), "ResNet18-w32": (18, 32), "ResNet34-w32": (34, 32), "ResNet34-w64": (34, 64)}


def seed_table() -> pd.DataFrame:
    """ImageNet ResNet-18...152: blocks per stage, parameters, MACs and FLOPs, next to the paper's figure."""
    measured = imagenet_table()
    return pd.DataFrame({
        "network": [f"ResNet-{depth}" for depth in measured["depth"]],
        "blocks": [f"{ARCHITECTURES[depth][0].__name__} x {'-'.join(map(str, ARCHITECTURES[depth][1]))}" for depth in measured["depth"]],
        "params (M)": measured["params (M)"].round(2),
        "GMACs": measured["MACs (G)"].round(2),
        "GFLOPs = 2 x GMACs": (2 * measured["MACs (G)"]).round(2),
        "seed_flops": measured["seed MACs (G)"],  # the paper's "FLOPs" row: multiply-adds
        "GMACs / seed": measured["MACs ratio"].round(3),
    })


def speaker_costs(systems: dict[str, tuple[int, int]] = SPEAKER_RESNETS, seconds: float = 2.0, n_mels: int = 80) -> pd.DataFrame:
    """Parameters, MACs and FLOPs of speaker ResNets (``name: (depth, width)``) for ``seconds`` of audio."""
    rows = []
    for name, (depth, width) in systems.items():
        model = build_model(ModelConfig(depth=depth, width=width, frontend=FrontendConfig(n_mels=n_mels))).eval()
        macs = count_macs(model, example_input(model, seconds))
        rows.append({"network": name, "params (M)": round(count_parameters(model) / 1e6, 2),
                     f"GMACs ({seconds:g} s)": round(macs / 1e9, 2), f"GFLOPs ({seconds:g} s)": round(2 * macs / 1e9, 2)})
    return pd.DataFrame(rows)
