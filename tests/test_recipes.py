"""labkit.recipes: a system's recipe from its config (and history), two side by side."""

from __future__ import annotations

from labkit import pretrained
from labkit.config import ExperimentConfig, apply_overrides, save_config
from labkit.i18n import MISSING
from labkit.recipes import architecture, compare_recipes, recipe, run_recipe


def test_recipe_lines_from_a_config():
    cfg = apply_overrides(ExperimentConfig(), ["model.depth=34", "model.width=32", "loss.kind=aam", "optim.name=sgd", "optim.lr=0.1",
                                               "run.epochs=20", "data.batch_size=128", "data.augment=true"])
    lines = recipe(cfg)
    assert lines["network"] == "resnet34, width 32, tstp pooling, embedding 256, 80 mel bands (fbank)"
    assert lines["loss_kind"] == "aam (scale 30, margin 0.2)" and lines["optimiser"].startswith("sgd, lr 0.1 -> 1e-05 (cosine)")
    assert lines["data"].endswith("2 s crops, batches of 128, augmented") and lines["schedule"] == "up to 20 epochs, no time budget"
    assert "trained" not in lines
    assert architecture(apply_overrides(cfg, ["model.plain=true"])).startswith("resnet34, width 32 (plain: no shortcuts)")
    assert architecture(apply_overrides(cfg, ["model.arch=xvector"])).startswith("xvector, tstp pooling")


def test_run_folder_recipe_reads_its_history(tmp_path):
    save_config(apply_overrides(ExperimentConfig(), ["run.max_minutes=5"]), tmp_path / "config.yaml")
    (tmp_path / "history.csv").write_text("step,epoch,loss,acc,lr,samples_per_s,elapsed_s,val_eer\n10,0.5,5.0,0.1,1e-3,50,12,\n"
                                          "20,1.0,4.0,0.2,1e-3,50,300,\n20,1,,,,,,0.25\n", encoding="utf-8")  # the epoch's validation row last
    lines = run_recipe(tmp_path)
    assert lines["schedule"] == "up to 10 epochs, 5 min budget" and lines["trained"] == "20 steps, 1.0 epochs, 5.0 min"
    table = compare_recipes({"shipped": run_recipe(pretrained.FOLDER), "mine": lines, "not yet trained": recipe(ExperimentConfig())})
    assert table.columns.tolist() == ["shipped", "mine", "not yet trained"] and table.index[0] == "network"
    shipped_minutes = float(table.loc["trained", "shipped"].split(", ")[-1].removesuffix(" min"))  # not NaN: its history ends on a validation row
    assert abs(shipped_minutes - pretrained.metrics()["train_min"]) < 0.5
    assert table.loc["trained", "not yet trained"] == MISSING
