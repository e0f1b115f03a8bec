"""Where the x-vector is taken: the TDNN's layers, how many frames each one sees, and its embedding layer.

``labkit.models.xvector`` is the network of Snyder et al. (2018); ``labkit.models.summary`` counts
its parameters and multiply-adds. This table adds what the paper's Table 1 says about each
layer: its temporal context (how many input frames one output depends on) and its role. The
x-vector is segment6's output, *before* its ReLU: the last layer that the whole utterance
shapes but the training speakers do not (segment7 and the softmax serve the classification).
"""

from __future__ import annotations

import pandas as pd

from labkit.config import FrontendConfig, ModelConfig
from labkit.i18n import strings, t
from labkit.models import build_model
from labkit.models.summary import summarize
from labkit.models.xvector import TDNNLayer

EMBEDDING_LAYER = "segment6"


def xvector_layers(n_mels: int = 30, embed_dim: int = 512, seconds: float = 2.0) -> pd.DataFrame:
    """The x-vector's summary (``labkit.models.summary.summarize``) with each layer's context and role."""
    model = build_model(ModelConfig(arch="xvector", embed_dim=embed_dim, frontend=FrontendConfig(n_mels=n_mels)))
    table = summarize(model, seconds)
    context, frames = [], 1
    for stage in table["stage"]:
        layer = getattr(model.encoder, stage, None)
        if isinstance(layer, TDNNLayer):
            frames += layer.context  # each layer widens the window by (kernel - 1) x dilation frames
            context.append(str(frames))
        else:
            context.append({"frontend": "1", "total": ""}.get(stage, "all"))
    role = [t(f"concepts.roles.{stage}") if f"concepts.roles.{stage}" in strings() else "" for stage in table["stage"]]  # in the language in use
    return table.assign(context=context, role=role)
