"""The ``labkit`` command line: argument parsing only; each command calls one library function.

Add a command by writing ``_add_<name>(commands)`` (arguments + ``func``) and listing it in
``COMMANDS`` below. Heavy modules are imported inside the command so that ``labkit --help``
stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Callable

from labkit.errors import LabkitError


def _add_metrics(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "metrics",
        help="EER, minDCF and thresholds of a score file",
        description="Score file lines: '<1|0> <enroll> <test> <score>' (the trial list plus a score column).",
    )
    parser.add_argument("score_file", help="trial list with a fourth column of scores")
    parser.add_argument("--p-target", type=float, nargs="+", default=[0.01, 0.05], help="prior(s) for minDCF")
    parser.add_argument("--c-miss", type=float, default=1.0)
    parser.add_argument("--c-fa", type=float, default=1.0)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")

    def run(args: argparse.Namespace) -> int:
        from labkit.evaluate import score_file_report

        print(score_file_report(args.score_file, tuple(args.p_target), args.c_miss, args.c_fa, as_json=args.json))
        return 0

    parser.set_defaults(func=run)


def _add_train(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train a speaker-embedding model (resumable; DDP under torchrun)",
        description="Trains from a YAML config. A run directory with checkpoints is resumed automatically. "
        "Multi-GPU / multi-process: torchrun --nproc_per_node=N -m labkit train --config ...",
    )
    parser.add_argument("--config", default="configs/default.yaml", help="YAML config (default: %(default)s)")
    parser.add_argument("--set", dest="overrides", nargs="+", default=[], metavar="SECTION.KEY=VALUE", help="override config keys")
    parser.add_argument("--out-dir", help="run directory (run.out_dir)")
    parser.add_argument("--epochs", type=int, help="run.epochs")
    parser.add_argument("--max-minutes", type=float, help="stop after this much training time, saving first (run.max_minutes)")
    parser.add_argument("--resume", help="start from this checkpoint file instead of the run directory's newest")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def run(args: argparse.Namespace) -> int:
        from labkit.config import apply_overrides, load_config
        from labkit.train import train

        named = {"run.out_dir": args.out_dir, "run.epochs": args.epochs, "run.max_minutes": args.max_minutes}
        overrides = args.overrides + [f"{key}={value}" for key, value in named.items() if value is not None]
        run_dir = train(apply_overrides(load_config(args.config), overrides), resume=args.resume, progress=not args.no_progress)
        print(f"run directory: {run_dir}")
        return 0

    parser.set_defaults(func=run)


def _add_embed(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("embed", help="embeddings of every utterance of a corpus -> .npz",
                                 description="Writes an .npz with 'ids' (utterance names) and 'embeddings' (float32 matrix).")
    parser.add_argument("checkpoint", help="a saved model (model.pt, best.pt, WeSpeaker or voxceleb_trainer file)")
    parser.add_argument("--root", required=True, help="corpus folder (wav/idXXXXX/<video>/NNNNN.wav below it)")
    parser.add_argument("--out", required=True, help="output .npz")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--crops", type=int, default=0, help="average N evenly spaced crops instead of the full utterance")
    parser.add_argument("--crop-seconds", type=float, default=3.0)
    parser.add_argument("--max-seconds", type=float, default=0.0, help="cap utterance length; 0 = full")
    parser.add_argument("--cache-dir", help="reuse/keep embeddings here (keyed by model checksum + utterance)")
    parser.add_argument("--device", default="auto")

    def run(args: argparse.Namespace) -> int:
        from labkit.embed import embed_corpus

        out = embed_corpus(args.checkpoint, args.root, args.out, device=args.device, batch_size=args.batch_size, crops=args.crops,
                           crop_seconds=args.crop_seconds, max_seconds=args.max_seconds, cache_dir=args.cache_dir)
        print(f"wrote {out}")
        return 0

    parser.set_defaults(func=run)


def _add_evaluate(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("evaluate", help="EER/minDCF of a model on a trial list, DET + histogram figures",
                                 description="Prints (and with --out-dir writes) one result row: model, params, MACs, "
                                 "train time, EER, minDCF(0.01, 0.05).")
    parser.add_argument("checkpoint", help="a saved model, or 'pretrained' for the built-in one")
    parser.add_argument("--root", default="data/synthetic-lab", help="corpus folder (default: %(default)s)")
    parser.add_argument("--trials", help="trial list (default: <root>/meta/veri_test.txt)")
    parser.add_argument("--out-dir", help="write scores.txt, det.pdf/png, histogram.pdf/png and result.json here")
    parser.add_argument("--as-norm", type=int, default=0, metavar="N", help="AS-norm with the top N training speakers (0 = off)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--crops", type=int, default=0, help="average N crops instead of full utterances")
    parser.add_argument("--cache-dir", help="embedding cache folder")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--json", action="store_true", help="print the row as JSON")

    def run(args: argparse.Namespace) -> int:
        from labkit.evaluate import evaluate_checkpoint

        row = evaluate_checkpoint(args.checkpoint, args.root, trials=args.trials, out_dir=args.out_dir, as_norm=args.as_norm,
                                  device=args.device, batch_size=args.batch_size, crops=args.crops, cache_dir=args.cache_dir)
        print(json.dumps(row, indent=2) if args.json else "\n".join(f"  {key:14s} {value}" for key, value in row.items()))
        return 0

    parser.set_defaults(func=run)


def _add_demo(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("demo", help="the whole offline lab on the synthetic corpus (a few minutes)",
                                 description="Generates the synthetic 'lab' corpus if missing, evaluates the built-in "
                                 "pretrained model, trains a small ResNet from scratch, evaluates it, saves DET plots "
                                 "and prints a results table.")
    parser.add_argument("--root", default="data/synthetic-lab", help="corpus folder (default: %(default)s)")
    parser.add_argument("--out-dir", default="runs/demo", help="outputs (default: %(default)s)")
    parser.add_argument("--minutes", type=float, help="training time budget (default: configs/demo.yaml)")
    parser.add_argument("--no-progress", action="store_true")

    def run(args: argparse.Namespace) -> int:
        from labkit.demo import run_demo

        run_demo(args.root, args.out_dir, minutes=args.minutes, progress=not args.no_progress)
        return 0

    parser.set_defaults(func=run)


def _add_summary(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "summary",
        help="parameters, multiply-adds and output shape per stage of a model",
        description="MODEL: resnet10 .. resnet152, xvector, or a checkpoint (ours, WeSpeaker, voxceleb_trainer). "
        "--imagenet adds the paper's ImageNet ResNets next to the seed table.",
    )
    parser.add_argument("model", nargs="?", help="model name or checkpoint path")
    parser.add_argument("--width", type=int, help="channels of the first ResNet stage (default: labkit/config.py)")
    parser.add_argument("--seconds", type=float, default=2.0, help="audio length for the multiply-adds (default: %(default)s)")
    parser.add_argument("--imagenet", action="store_true", help="print the ImageNet ResNets 18-152 vs the seed table")

    def run(args: argparse.Namespace) -> int:
        from labkit.models.summary import summary_report

        print(summary_report(args.model, width=args.width, seconds=args.seconds, imagenet=args.imagenet))
        return 0

    parser.set_defaults(func=run)


def _add_report(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("report", help="build the lab report (PDF, Overleaf zip, Word) or collect answers",
                                 description="build: answers JSON -> LaTeX/PDF, Overleaf zip and .docx. "
                                 "collect: many students' answers files -> one CSV for grading.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    build = actions.add_parser("build", help="answers file -> report.pdf, report-overleaf.zip, report.docx, latex/")
    build.add_argument("answers", nargs="?", help="answers JSON (default: the notebooks' answers file)")
    build.add_argument("--out-dir", default="report", help="output folder (default: %(default)s)")
    build.add_argument("--language", choices=["es", "en"], help="report language (default: the one in the answers file)")
    build.add_argument("--date", help="date on the title page (default: today)")
    build.add_argument("--no-pdf", action="store_true", help="skip pdflatex (the zip and .docx are still written)")
    build.add_argument("--no-docx", action="store_true", help="skip the Word file")
    collect = actions.add_parser("collect", help="answers files -> one CSV with answers, word counts and missing ones")
    collect.add_argument("files", nargs="+", help="answers JSON files (e.g. answers/*.json)")
    collect.add_argument("-o", "--out", default="answers.csv", help="CSV to write (default: %(default)s)")

    def run_build(args: argparse.Namespace) -> int:
        from labkit.report.latex import build_report
        from labkit.report.questions import default_store_path

        written = build_report(args.answers or default_store_path(), args.out_dir, language=args.language,
                               pdf=False if args.no_pdf else None, word=not args.no_docx, date=args.date)
        for kind, path in written.items():
            print(f"{kind:6} {path}")
        if "pdf" not in written and not args.no_pdf:
            print("no PDF: TeX is not installed (scripts/install-tex.sh); upload the zip to Overleaf instead")
        return 0

    def run_collect(args: argparse.Namespace) -> int:
        from labkit.report.grading import collect_to_csv

        table, skipped = collect_to_csv(args.files, args.out)
        for problem in skipped:
            print(f"labkit report collect: skipped {problem}", file=sys.stderr)
        print(table[["file", "students", "answered", "missing"]].to_string(index=False))
        print(f"wrote {args.out} ({len(table)} files)")
        return 0

    build.set_defaults(func=run_build)
    collect.set_defaults(func=run_collect)


def _add_download(commands: argparse._SubParsersAction) -> None:
    from labkit.data.download import FetchOptions

    parser = commands.add_parser(
        "download", help="fetch, verify and unpack VoxCeleb assets and public checkpoints",
        description="Sources in order: files already in --dest, a copy in the Drive cache, Google Drive (course copy), "
        "HTTP(S) (KAIST needs your key), Hugging Face. Without ASSET, lists the known assets.")
    parser.add_argument("assets", nargs="*", metavar="ASSET", help="asset names from labkit/data/assets.yaml")
    parser.add_argument("--dest", default="", help="download folder on the local disk (default: /content/data on Colab, ./data)")
    parser.add_argument("--source", nargs="+", choices=FetchOptions.sources, default=list(FetchOptions.sources),
                        help="source kinds to try (default: all, in the registry's order)")
    parser.add_argument("--key", default="", help="KAIST key (better: the LABKIT_KAIST_KEY environment variable)")
    parser.add_argument("--drive-cache", default="", help="folder on the mounted Drive with verified copies")
    parser.add_argument("--persist", action="store_true", help="copy the verified files into the Drive cache")
    parser.add_argument("--no-extract", action="store_true", help="download and verify only")

    def run(args: argparse.Namespace) -> int:
        from labkit.data.archives import NotEnoughSpace, human_size
        from labkit.data.download import DownloadError, default_data_root, download
        from labkit.data.registry import load_registry

        if not args.assets:
            for name, asset in load_registry().items():
                print(f"{name:24} {human_size(asset.total_bytes) if asset.total_bytes else 'size ?':>8}  {asset.description}")
            return 0
        options = FetchOptions(sources=tuple(args.source), key=args.key, drive_cache=args.drive_cache)
        try:
            for path in download(args.assets, args.dest or default_data_root(), options, not args.no_extract, args.persist):
                print(path)
        except (DownloadError, NotEnoughSpace) as error:
            print(f"labkit download: {error}", file=sys.stderr)
            return 1
        return 0

    parser.set_defaults(func=run)


def _add_subset(commands: argparse._SubParsersAction) -> None:
    from labkit.data.subset import PUBLISHED_LISTS

    parser = commands.add_parser(
        "subset", help="extract a ~100 h VoxCeleb2 subset as 16 kHz wav without downloading 77 GB",
        description="Choose utterances (a published list, a list file, or a seeded choice by --hours/--speakers), "
        "read only them from the split VoxCeleb2 zip (local --parts-dir or remote over HTTP Range), convert to wav.")
    parser.add_argument("--list", dest="list_name", choices=list(PUBLISHED_LISTS), default="",
                        help="published list (Vaessen & van Leeuwen 2022)")
    parser.add_argument("--list-file", default="", help="a list file 'utterance_key;shard_dix;set_name'")
    parser.add_argument("--hours", type=float, help="seeded choice: hours of audio")
    parser.add_argument("--speakers", type=int, help="seeded choice: number of speakers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sets", nargs="+", default=["train", "val"], help="sets of a list to keep")
    parser.add_argument("--parts-dir", default="", help="folder with vox2_dev_aac_parta{a..h} (default: read remotely)")
    parser.add_argument("--source", choices=["hf", "kaist"], default="hf", help="remote source of the parts")
    parser.add_argument("--key", default="", help="KAIST key (better: LABKIT_KAIST_KEY)")
    parser.add_argument("--workers", type=int, default=2, help="parallel AAC -> wav conversions")
    parser.add_argument("--dest", default="", help="output folder (default: voxceleb2_subset in /content/data on Colab, ./data)")

    def run(args: argparse.Namespace) -> int:
        from labkit.data.archives import NotEnoughSpace
        from labkit.data.download import DownloadError
        from labkit.data.subset import prepare_subset

        try:
            summary = prepare_subset(args.dest, args.list_name, args.list_file, args.hours, args.speakers, args.seed,
                                     args.sets, args.parts_dir, args.source, args.key, args.workers)
        except (DownloadError, NotEnoughSpace, ValueError) as error:
            print(f"labkit subset: {error}", file=sys.stderr)
            return 1
        print(json.dumps(summary, indent=2))
        return 0

    parser.set_defaults(func=run)


def _add_pack(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("pack", help="(instructor) build the lab pack and print its registry entries",
                                 description="Writes labpack_vox1_test.zip, labpack_vox2_subset.zip, labpack_model.zip "
                                 "and labpack.json into OUT, then prints the assets.yaml entries to paste after upload.")
    parser.add_argument("out", help="folder for the archives")
    parser.add_argument("--vox1-test", required=True, help="folder holding wav/id10270/...")
    parser.add_argument("--trials", required=True, help="veri_test2.txt")
    parser.add_argument("--subset", required=True, help="output folder of labkit subset")
    parser.add_argument("--checkpoint", required=True, help="pretrained checkpoint file or folder")
    parser.add_argument("--hf-repo", default="", help="Hugging Face dataset repo the archives will be uploaded to")

    def run(args: argparse.Namespace) -> int:
        from labkit.data.labpack import pack

        print(pack(args.out, args.vox1_test, args.trials, args.subset, args.checkpoint, args.hf_repo))
        return 0

    parser.set_defaults(func=run)


def _add_verify(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("verify", help="check a prepared dataset folder against its MANIFEST.tsv")
    parser.add_argument("folder", help="e.g. data/voxceleb1, or the output of labkit subset")
    parser.add_argument("--quick", action="store_true", help="compare sizes only (no sha256)")

    def run(args: argparse.Namespace) -> int:
        from labkit.data.labpack import verify_dir

        problems = verify_dir(args.folder, args.quick)
        for problem in problems:
            print(problem)
        print(f"{args.folder}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
        return 1 if problems else 0

    parser.set_defaults(func=run)


def _add_make_corpus(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("make-corpus", help="write the synthetic multi-speaker corpus (VoxCeleb layout)",
                                 description="Deterministic synthetic speakers and sessions: wav/idNNNNN/<video>/NNNNN.wav, "
                                 "meta/veri_test.txt, meta/train_list.txt, meta/speakers.csv and README.txt.")
    parser.add_argument("--out", required=True, help="corpus folder to create")
    parser.add_argument("--preset", default="lab", choices=["tiny", "lab"], help="size (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same bytes (default: %(default)s)")
    parser.add_argument("--speakers", type=int, help="number of training speakers (default: the preset's)")
    parser.add_argument("--workers", type=int, help="processes (default: 2 for big corpora); the output does not depend on it")
    parser.add_argument("--force", action="store_true", help="replace a different corpus already at --out")

    def run(args: argparse.Namespace) -> int:
        from labkit.data.synthetic import make_corpus

        print(make_corpus(args.out, args.preset, args.seed, args.speakers, args.workers, args.force))
        return 0

    parser.set_defaults(func=run)


def _add_pack_audio(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("pack-audio", help="pack a corpus's wav files into one int16 file for fast training crops",
                                 description="Writes OUT.int16 (all samples) and OUT.csv (utt, speaker, offset, frames); "
                                 "use it with data.packed=OUT.")
    parser.add_argument("root", help="VoxCeleb-layout folder (root/wav/idXXXXX/<video>/NNNNN.wav)")
    parser.add_argument("--out", required=True, help="output name, e.g. data/train (gives data/train.int16 + data/train.csv)")
    parser.add_argument("--train-list", help="pack only the utterances of this voxceleb_trainer list")

    def run(args: argparse.Namespace) -> int:
        from labkit.data.packed import pack_audio

        print(pack_audio(args.root, args.out, args.train_list))
        return 0

    parser.set_defaults(func=run)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_metrics,
    _add_train,
    _add_embed,
    _add_evaluate,
    _add_demo,
    _add_summary,
    _add_report,
    _add_download,
    _add_subset,
    _add_pack,
    _add_verify,
    _add_make_corpus,
    _add_pack_audio,
]


def build_parser() -> argparse.ArgumentParser:
    """The ``labkit`` parser with every command of ``COMMANDS``."""
    parser = argparse.ArgumentParser(prog="labkit", description="Speaker-verification lab toolkit (VoxCeleb, Práctica 2).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``labkit`` console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError, LabkitError) as error:  # bad input: one clear line, no traceback
        print(f"labkit {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
