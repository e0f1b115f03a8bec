"""``labkit demo``: the whole offline lab in a few minutes, on the embedded synthetic corpus.

1. generate the synthetic ``lab`` corpus if it is not there yet;
2. evaluate the built-in pretrained model on its test trials;
3. train a small ResNet from scratch for a fixed number of epochs (configs/demo.yaml: about 5
   minutes on an idle 2-core CPU), print how long that took, and evaluate it;
4. save both DET curves in one figure and print the results table.

The training is a fixed amount of work, not a time budget: a busy machine makes the demo slower,
never its model worse. Rerunning it reuses the corpus, the embedding cache and the finished run.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from labkit import models, pretrained
from labkit.config import apply_overrides, load_config, validate
from labkit.data.synthetic import make_corpus
from labkit.evaluate import evaluate, results_table
from labkit.files import REPOSITORY
from labkit.plots import det_plot, save_figure
from labkit.train import train
from labkit.trials import read_scores, read_trials

CONFIGS = REPOSITORY / "configs"


def run_demo(
    root: str | Path = "data/synthetic-lab",
    out_dir: str | Path = "runs/demo",
    epochs: int | None = None,
    config: str | Path = CONFIGS / "demo.yaml",
    progress: bool = True,
) -> pd.DataFrame:
    """Run the demo and return its results table (also written to ``out_dir/results.csv``)."""
    root, out = Path(root), Path(out_dir)
    cfg = load_config(config)
    overrides = [f"data.root={root}", f"run.out_dir={out / 'scratch'}"] + ([f"run.epochs={epochs}"] if epochs is not None else [])
    cfg = validate(apply_overrides(cfg, overrides))  # a bad --epochs fails here, before any work
    if not (root / "meta" / "veri_test.txt").exists():
        print(f"[1/4] generating the synthetic 'lab' corpus in {root} ...")
        make_corpus(root, preset="lab")
    trials = read_trials(root / "meta" / "veri_test.txt")
    embed_options = {"cache_dir": out / "cache", "progress": progress}

    print(f"[2/4] evaluating the built-in pretrained model on {len(trials)} trials ...")
    rows = [evaluate(pretrained.load(), trials, root, name="pretrained", out_dir=out / "pretrained",
                     train_seconds=pretrained.metrics().get("train_min", 0) * 60, **embed_options)]

    print(f"[3/4] training {cfg.model.arch}{cfg.model.depth} width {cfg.model.width} from scratch for {cfg.run.epochs} epochs ...")
    run_dir = train(cfg, progress=progress)
    scratch, trained = models.load(run_dir / "model.pt"), models.load_extra(run_dir / "model.pt")
    print(f"  trained {trained['steps']} steps in {trained['train_seconds'] / 60:.1f} min")
    rows.append(evaluate(scratch, trials, root, name="from scratch", out_dir=out / "scratch",
                         train_seconds=trained["train_seconds"], **embed_options))

    print("[4/4] DET curves and results")
    systems = {row["model"]: read_scores(out / folder / "scores.txt") for row, folder in zip(rows, ("pretrained", "scratch"))}
    figure = det_plot({name: (s.scores, s.labels) for name, s in systems.items()}, title="Synthetic lab corpus")
    for path in save_figure(figure, out / "det"):
        print(f"  wrote {path}")
    table = results_table(rows)
    table.to_csv(out / "results.csv", index=False)
    print(table.to_string(index=False))
    return table
