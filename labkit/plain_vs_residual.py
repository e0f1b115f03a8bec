"""Why residual connections: the same deep ResNet with and without its shortcuts.

``ModelConfig(plain=True)`` builds the ResNet paper's "plain network": the same layers, the same
initialisation, only the shortcuts ``out + x`` are gone. Two measurements compare the two:

1. **Gradient norm per block at initialisation**, after one backward pass of the same batch, in
   two settings. *Without batch normalisation* (the VGG-era networks the seed speaks of), the
   plain network's gradient is orders of magnitude smaller than the residual network's: every
   layer shrinks the signal, so the early blocks hardly learn, while the shortcuts carry the
   gradient straight back. *With batch normalisation* (how labkit's networks are built and
   trained), BN rescales every layer's signal, so the plain network's gradient does not vanish;
   at initialisation it is even larger than the residual one's. The ResNet paper says so itself
   ("the backward propagated gradients exhibit healthy norms with BN").
2. **Training loss of the first steps** (with batch normalisation, on identical batches). Which
   network is ahead after a few dozen steps on a small corpus depends on the data; the paper's
   finding needs long training: the deep plain network ends *worse* (the degradation problem).
   Without shortcuts a block must learn the identity to pass its input on; with them, doing
   nothing is the default and each block learns only a correction.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from labkit.config import FrontendConfig, LossConfig, ModelConfig
from labkit.data.dataset import TrainCrops, pcm_to_float
from labkit.i18n import t
from labkit.models import SpeakerModel, build_model
from labkit.models.losses import build_loss

NETWORKS = ("residual", "plain")


@dataclass
class PlainVsResidual:
    """What ``compare`` measured, as two long tables."""

    gradients: pd.DataFrame  # block ("layer1.0", ...), position (0 = first block), network, batch_norm, norm
    losses: pd.DataFrame  # step, network, loss (with batch normalisation)
    depth: int
    width: int

    def early_block_norm(self, network: str, batch_norm: bool) -> float:
        """Gradient norm of the first residual block (``layer1.0``), the one furthest from the loss."""
        rows = self.gradients[(self.gradients["network"] == network) & (self.gradients["batch_norm"] == batch_norm)]
        return float(rows.loc[rows["position"] == 0, "norm"].iloc[0])


def without_batch_norm(model: nn.Module) -> nn.Module:
    """``model`` with every ``BatchNorm2d`` replaced by an identity (in place): a network of the VGG era."""
    for name, child in model.named_children():
        if isinstance(child, nn.BatchNorm2d):
            setattr(model, name, nn.Identity())
        else:
            without_batch_norm(child)
    return model


def blocks(model: SpeakerModel) -> list[tuple[str, nn.Module]]:
    """The residual blocks of a speaker ResNet, from the input side (``layer1.0``) to the output side."""
    return [(f"{stage}.{i}", block) for stage in ("layer1", "layer2", "layer3", "layer4")
            for i, block in enumerate(getattr(model.encoder, stage))]


def block_gradient_norms(model: SpeakerModel, criterion: nn.Module, wav: Tensor, labels: Tensor) -> list[tuple[str, float]]:
    """L2 norm of the loss gradient over each block's weights, after one forward and backward pass."""
    model.zero_grad(set_to_none=True)
    criterion.zero_grad(set_to_none=True)
    loss, _ = criterion(model(wav), labels)
    loss.backward()
    return [(name, float(torch.sqrt(sum((p.grad**2).sum() for p in block.parameters())))) for name, block in blocks(model)]


def training_losses(model: SpeakerModel, criterion: nn.Module, batches: list[tuple[Tensor, Tensor]], lr: float) -> list[float]:
    """The training loss at each step of plain SGD with momentum (the ResNet paper's optimiser) over ``batches``."""
    optimizer = torch.optim.SGD([*model.parameters(), *criterion.parameters()], lr=lr, momentum=0.9)
    losses = []
    for wav, labels in batches:
        loss, _ = criterion(model(wav), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def crop_batches(manifest: pd.DataFrame, steps: int, batch_size: int, crop_seconds: float, seed: int) -> tuple[list[tuple[Tensor, Tensor]], int]:
    """``steps`` batches of random training crops (the same for both networks), and the number of speakers."""
    crops = TrainCrops(manifest, crop_seconds=crop_seconds, seed=seed)
    order = torch.randperm(len(crops), generator=torch.Generator().manual_seed(seed))
    batches = []
    for step in range(steps):
        items = [crops[int(order[(step * batch_size + k) % len(crops)])] for k in range(batch_size)]
        batches.append((pcm_to_float(torch.stack([wav for wav, _ in items])), torch.tensor([label for _, label in items])))
    return batches, len(crops.speakers)


def compare(
    manifest: pd.DataFrame, speakers: int = 16, depth: int = 34, width: int = 8, steps: int = 40, batch_size: int = 8,
    crop_seconds: float = 0.5, n_mels: int = 40, lr: float = 0.01, seed: int = 0,
) -> PlainVsResidual:
    """Build the residual and the plain ResNet-``depth`` from the same seed and measure both (on the CPU).

    ``manifest``: training utterances (``labkit.data.voxceleb.read_train_list``), of which the first
    ``speakers`` speakers are used; the loss is a softmax over them. About 40 CPU-seconds with the
    defaults (about 20 s on an idle 2-core CPU): 84 forward and backward passes of 8 crops of 0.5 s.
    """
    chosen = sorted(manifest["speaker"].unique())[:speakers]
    batches, n_speakers = crop_batches(manifest[manifest["speaker"].isin(chosen)], steps, batch_size, crop_seconds, seed)

    def fresh(plain: bool, batch_norm: bool) -> tuple[SpeakerModel, nn.Module]:
        torch.manual_seed(seed)  # identical weights wherever the two networks have the same layers
        model = build_model(ModelConfig(depth=depth, width=width, embed_dim=64, plain=plain, frontend=FrontendConfig(n_mels=n_mels)))
        criterion = build_loss(LossConfig(kind="softmax"), model.embed_dim, n_speakers)
        return (model if batch_norm else without_batch_norm(model)), criterion

    gradients, losses = [], []
    for network in NETWORKS:
        for batch_norm in (False, True):
            model, criterion = fresh(network == "plain", batch_norm)
            norms = block_gradient_norms(model.train(), criterion, *batches[0])
            gradients += [{"block": name, "position": i, "network": network, "batch_norm": batch_norm, "norm": norm}
                          for i, (name, norm) in enumerate(norms)]
        model, criterion = fresh(network == "plain", batch_norm=True)
        losses += [{"step": step + 1, "network": network, "loss": loss}
                   for step, loss in enumerate(training_losses(model.train(), criterion, batches, lr))]
    return PlainVsResidual(pd.DataFrame(gradients), pd.DataFrame(losses), depth, width)


def figure(result: PlainVsResidual) -> Figure:
    """Left: gradient norm per block at initialisation (log scale), with and without BN. Right: the first training losses."""
    fig = Figure(figsize=(10.0, 3.8), layout="constrained")
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    colours = {"residual": "tab:blue", "plain": "tab:red"}
    for (network, batch_norm), rows in result.gradients.groupby(["network", "batch_norm"]):
        left.semilogy(rows["position"] + 1, rows["norm"], marker="o", markersize=3, color=colours[network], linestyle="-" if batch_norm else "--",
                      label=t("concepts.with_bn" if batch_norm else "concepts.without_bn", network=t(f"concepts.{network}")))
    left.set(xlabel=t("concepts.block_axis"), ylabel=t("concepts.gradient_norm"), title=t("concepts.gradient_title"))
    for network, rows in result.losses.groupby("network"):
        right.plot(rows["step"], rows["loss"], color=colours[network], label=t(f"concepts.{network}"))
    right.set(xlabel=t("concepts.training_step"), ylabel=t("concepts.training_loss"), title=t("concepts.first_steps_title"))
    for ax in (left, right):
        ax.grid(True, linestyle=":", linewidth=0.6)
    right.legend(fontsize="small")
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower left", ncols=4, fontsize="small")  # below: the curves fill the panel
    fig.suptitle(t("concepts.plain_vs_residual_title", depth=result.depth, width=result.width))
    return fig
