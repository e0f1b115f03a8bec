"""How big is a model? Parameters, multiply-adds and output shape of each stage.

Multiply-adds (MACs) are counted by ``torch.utils.flop_counter.FlopCounterMode`` on one forward
pass: it counts the FLOPs of every convolution and matrix product (2 per multiply-add), so
MACs = FLOPs / 2. Recurrent layers (Resemblyzer's LSTM) run as one fused kernel that it does not
see; ``MacCounter`` adds them from their sizes. Normalisation, activations and FFTs are not counted, as in the ResNet paper,
whose "FLOPs" are multiply-adds too. ``imagenet_table`` compares the paper's ImageNet ResNets,
built by our own ``labkit.models.resnet``, with the seed table.
"""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from labkit.models.checkpoints import load_or_build
from labkit.models.resnet import imagenet_resnet

# The seed's Table 1 (He et al., "Deep residual learning for image recognition", CVPR 2016): multiply-adds for one
# 224x224 image; parameter counts of the same networks as torchvision lists them.
SEED_TABLE: dict[int, dict[str, float]] = {
    18: {"params": 11.69e6, "macs": 1.8e9},
    34: {"params": 21.80e6, "macs": 3.6e9},
    50: {"params": 25.56e6, "macs": 3.8e9},
    101: {"params": 44.55e6, "macs": 7.6e9},
    152: {"params": 60.19e6, "macs": 11.3e9},
}


def count_parameters(model: nn.Module) -> int:
    """Number of learned values (BatchNorm running statistics and front-end buffers are not parameters)."""
    return sum(p.numel() for p in model.parameters())


def lstm_macs(lstm: nn.LSTM, inputs: tuple) -> int:
    """Multiply-adds of one ``nn.LSTM`` call: per time step and layer, 4 gates of (input + hidden) x hidden."""
    x = inputs[0].data if isinstance(inputs[0], nn.utils.rnn.PackedSequence) else inputs[0]  # packed: (all steps, features)
    steps = x.shape[0] * x.shape[1] if x.dim() == 3 else x.shape[0]  # batch x time, whichever comes first; or unbatched
    hidden = lstm.proj_size or lstm.hidden_size  # what each step feeds back
    directions = 2 if lstm.bidirectional else 1
    total = 0
    for layer in range(lstm.num_layers):
        size_in = lstm.input_size if layer == 0 else hidden * directions
        total += 4 * lstm.hidden_size * (size_in + hidden) + (lstm.hidden_size * lstm.proj_size if lstm.proj_size else 0)
    return steps * total * directions


class MacCounter:
    """Multiply-adds while active: ``FlopCounterMode``'s convolutions and matrix products, plus every LSTM of ``model``."""

    def __init__(self, model: nn.Module) -> None:
        self.flops, self.recurrent, self.handles = FlopCounterMode(display=False), 0, []
        self.before_lstm = 0
        for module in model.modules():
            if isinstance(module, nn.LSTM):
                self.handles += [module.register_forward_pre_hook(self._enter_lstm), module.register_forward_hook(self._add_lstm)]

    def _enter_lstm(self, module: nn.LSTM, inputs: tuple) -> None:
        self.before_lstm = self.flops.get_total_flops()

    def _add_lstm(self, module: nn.LSTM, inputs: tuple, output: tuple) -> None:
        if self.flops.get_total_flops() == self.before_lstm:  # a fused kernel: FlopCounterMode saw none of it
            self.recurrent += lstm_macs(module, inputs)

    def macs(self) -> int:
        return self.flops.get_total_flops() // 2 + self.recurrent

    def __enter__(self) -> "MacCounter":
        self.flops.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.flops.__exit__(*exc)
        for handle in self.handles:
            handle.remove()


def count_macs(model: nn.Module, *inputs: Tensor) -> int:
    """Multiply-adds of one forward pass of ``model(*inputs)``."""
    with torch.no_grad(), MacCounter(model) as counter:
        model(*inputs)
    return counter.macs()


def stages(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """The model's direct children, with a speaker model's ``encoder`` opened up into its own children."""
    for name, child in model.named_children():
        if name == "encoder":
            yield from child.named_children()
        else:
            yield name, child


def example_input(model: nn.Module, seconds: float = 2.0) -> Tensor:
    """One waveform of ``seconds`` of noise at the model's sample rate, on the model's device."""
    sample_rate = model.config.frontend.sample_rate
    device = next(model.parameters()).device
    return 0.1 * torch.randn(1, int(seconds * sample_rate), device=device)


class _StageProbe:
    """Forward hooks on one stage and all its submodules, recording the stage's multiply-adds and output shape.

    A stage may be run whole or piece by piece (ResNet stages are run block by block to pass the
    frame mask along): each outermost call, from the first pre-hook to the matching hook, is one span.
    """

    def __init__(self, stage: nn.Module, counter: MacCounter) -> None:
        self.counter, self.depth, self.start, self.macs, self.output = counter, 0, 0, 0, "-"
        self.handles = []
        for module in stage.modules():
            self.handles += [module.register_forward_pre_hook(self.before), module.register_forward_hook(self.after)]

    def before(self, module: nn.Module, inputs: tuple) -> None:
        if self.depth == 0:
            self.start = self.counter.macs()
        self.depth += 1

    def after(self, module: nn.Module, inputs: tuple, output: Tensor | tuple) -> None:
        self.depth -= 1
        if self.depth == 0:
            self.macs += self.counter.macs() - self.start
            first = output[0] if isinstance(output, tuple) else output  # the front-end also returns lengths
            self.output = " x ".join(str(size) for size in first.shape)

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def summarize(model: nn.Module, seconds: float = 2.0, example: Tensor | None = None) -> pd.DataFrame:
    """One row per stage (name, output shape, parameters, MACs) and a ``total`` row, for one forward pass of
    ``example`` (default: ``seconds`` of audio for a speaker model) in eval mode. Stages not run in eval mode
    (the x-vector's segment7) have no output shape and no MACs."""
    example = example_input(model, seconds) if example is None else example
    was_training = model.training
    with torch.no_grad(), MacCounter(model) as counter:
        probes = {name: _StageProbe(stage, counter) for name, stage in stages(model)}
        try:
            model.eval()(example)
        finally:
            model.train(was_training)
            for probe in probes.values():
                probe.remove()
    rows = [
        {"stage": name, "output": probe.output, "parameters": count_parameters(stage), "macs": probe.macs}
        for (name, stage), probe in zip(stages(model), probes.values())
    ]
    rows.append({"stage": "total", "output": "", "parameters": count_parameters(model), "macs": counter.macs()})
    return pd.DataFrame(rows, columns=["stage", "output", "parameters", "macs"])


def format_summary(table: pd.DataFrame) -> str:
    """The ``summarize`` table as text: parameters with thousands separators, MACs in millions, and a
    text column such as ``role`` (``labkit.xvector_layers``) aligned to the left, to be read as prose."""
    shown = table.assign(
        parameters=table["parameters"].map("{:,}".format),
        macs=(table["macs"] / 1e6).map("{:,.1f}".format),
    ).rename(columns={"macs": "MACs (M)"})
    if "role" in shown:
        roles = shown["role"].fillna("").astype(str)
        width = max([len("role"), *roles.str.len()])
        shown = shown.assign(role=roles.str.ljust(width)).rename(columns={"role": "role".ljust(width)})
    return "\n".join(line.rstrip() for line in shown.to_string(index=False).splitlines())


def imagenet_table(depths: tuple[int, ...] = tuple(SEED_TABLE)) -> pd.DataFrame:
    """Our ImageNet ResNets (3 x 224 x 224 -> 1000 classes) next to the seed table, with ratios ours / seed.
    The networks are built on the "meta" device: shapes only, no memory and no arithmetic."""
    rows = []
    for depth in depths:
        with torch.device("meta"):
            model = imagenet_resnet(depth)
        params = count_parameters(model)
        macs = count_macs(model.eval(), torch.empty(1, 3, 224, 224, device="meta"))
        seed = SEED_TABLE[depth]
        rows.append({
            "depth": depth,
            "params (M)": params / 1e6, "seed params (M)": seed["params"] / 1e6, "params ratio": params / seed["params"],
            "MACs (G)": macs / 1e9, "seed MACs (G)": seed["macs"] / 1e9, "MACs ratio": macs / seed["macs"],
        })
    return pd.DataFrame(rows)


def summary_report(model: str | None = None, width: int | None = None, seconds: float = 2.0, imagenet: bool = False) -> str:
    """The text ``labkit summary`` prints: the stage table of ``model`` and/or the ImageNet table."""
    parts = []
    if model is not None:
        network = load_or_build(model, width)
        parts.append(f"{model}: {seconds:g} s of audio, one utterance\n{format_summary(summarize(network, seconds))}")
    if imagenet:
        table = imagenet_table()
        parts.append("ImageNet ResNets (224 x 224) vs the seed table\n" + table.to_string(index=False, float_format="{:.3f}".format))
    if not parts:
        raise ValueError("name a MODEL, or pass --imagenet")
    return "\n\n".join(parts)
