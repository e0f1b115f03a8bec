"""Model speed: our ResNets against a plain hand-written ResNet with the same weights, in the same run, on the CPU.

Forward + backward (training mode) on a batch of 2-s crops, for ResNet34 (width 32, WeSpeaker's
network) and ResNet10 (width 16). The reference below is the network written out directly, as
WeSpeaker's resnet.py does it (no frame masks, no options, TSTP with torch.mean/var); it gets our
weights, and its embeddings are checked against ours before timing. Both use the same front-end
(labkit.features), so the ratio measures the encoder code. The two are timed alternately, 12
rounds, best time each, on one thread, to be fair under load. Target: ratio ours / reference >= 0.95,
in CPU time (process time: on a shared machine the wall-clock ratio measures the other jobs too and
scattered 0.91-1.31 between runs); the wall-clock ratio is printed beside it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).parent))
from common import best_time, check, finish  # noqa: E402

from labkit import models  # noqa: E402
from labkit.config import ModelConfig  # noqa: E402

SAMPLE_RATE = 16000
CROP_SECONDS = 2.0
BATCH = 4
ROUNDS = 12


class ReferenceBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class ReferenceResNet(nn.Module):
    def __init__(self, blocks: list[int], width: int, n_mels: int, embed_dim: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        cin = width
        for stage, (count, stride) in enumerate(zip(blocks, (1, 2, 2, 2)), start=1):
            cout = width * 2 ** (stage - 1)
            layers = [ReferenceBlock(cin, cout, stride)] + [ReferenceBlock(cout, cout, 1) for _ in range(count - 1)]
            setattr(self, f"layer{stage}", nn.Sequential(*layers))
            cin = cout
        self.embedding = nn.Linear(2 * cin * (n_mels // 8), embed_dim)

    def forward(self, feats: Tensor) -> Tensor:
        x = F.relu(self.bn1(self.conv1(feats.unsqueeze(1))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x)))).flatten(1, 2)
        stats = torch.cat([x.mean(dim=-1), torch.sqrt(x.var(dim=-1) + 1e-8)], dim=1)
        return self.embedding(stats)


def train_step(frontend: nn.Module, encoder: nn.Module, wav: Tensor) -> None:
    encoder.zero_grad(set_to_none=True)
    feats, _ = frontend(wav)
    encoder(feats).pow(2).mean().backward()


def compare(depth: int, blocks: list[int], width: int) -> float:
    torch.manual_seed(0)
    ours = models.build_model(ModelConfig(depth=depth, width=width, embed_dim=256))
    reference = ReferenceResNet(blocks, width, ours.config.frontend.n_mels, 256)
    reference.load_state_dict(ours.encoder.state_dict())  # same weights, same names
    wav = 0.1 * torch.randn(BATCH, int(CROP_SECONDS * SAMPLE_RATE))
    with torch.no_grad():
        feats, _ = ours.frontend(wav)
        difference = (ours.encoder.eval()(feats) - reference.eval()(feats)).abs().max().item()
    ours.train()
    reference.train()
    steps = {"ours": lambda: train_step(ours.frontend, ours.encoder, wav), "reference": lambda: train_step(ours.frontend, reference, wav)}
    wall: dict[str, list[float]] = {name: [] for name in steps}
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    for round_ in range(ROUNDS + 1):
        for name in list(steps) if round_ % 2 else list(steps)[::-1]:  # alternate who goes first
            start = time.process_time()
            wall[name].append(best_time(steps[name], repeats=1))
            cpu[name].append(time.process_time() - start)
    rate = {name: BATCH / min(seconds[1:]) for name, seconds in wall.items()}  # round 0 only warms up
    ratio = rate["ours"] / rate["reference"]
    cpu_ratio = min(cpu["reference"][1:]) / min(cpu["ours"][1:])
    print(f"  ResNet{depth} width {width}: ours {rate['ours']:6.2f} crops/s, reference {rate['reference']:6.2f} crops/s, "
          f"ratio {ratio:.3f} (CPU-time ratio {cpu_ratio:.3f}; max |embedding difference| {difference:.1e})")
    check(f"ResNet{depth}-w{width} forward+backward vs a plain hand-written ResNet (CPU time)", cpu_ratio, 0.95, unit="x")
    return cpu_ratio


def main() -> None:
    torch.set_num_threads(1)  # on a loaded machine two threads wait for each other and the figures scatter
    print(f"forward+backward, batch {BATCH} x {CROP_SECONDS:g} s, CPU, {torch.get_num_threads()} thread(s) (shared machine: figures under load)")
    compare(34, [3, 4, 6, 3], 32)
    compare(10, [1, 1, 1, 1], 16)


if __name__ == "__main__":
    main()
    raise SystemExit(finish())
