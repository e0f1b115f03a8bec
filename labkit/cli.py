"""The ``labkit`` command line: argument parsing only; each command calls one library function.

A command is a function ``run(args) -> exit code`` registered with ``@command(name, help,
arguments=[arg(...), ...])``; ``"report build"`` registers the action ``build`` of ``labkit
report``. Library modules are imported inside ``run``, so that ``labkit --help`` loads none of
torch, numpy, pandas or soundfile.

Errors meant for the user (``LabkitError``, bad values, missing or unreadable files) end as one
line on stderr and exit code 1; ``labkit --debug COMMAND`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from labkit.errors import LabkitError

Run = Callable[[argparse.Namespace], int]


@dataclass
class Command:
    """One ``labkit`` command: its name, what ``--help`` says, its arguments and the function that runs it."""

    name: str
    help: str
    description: str | None
    arguments: list[tuple[tuple[str, ...], dict[str, Any]]]
    run: Run


COMMANDS: list[Command] = []  # in the order ``labkit --help`` lists them
GROUPS = {  # commands with actions (``labkit report build``): help and description of the group
    "report": ("build the lab report (PDF, Overleaf zip, Word) or collect answers",
               "build: answers JSON -> LaTeX/PDF, Overleaf zip and .docx. collect: many students' answers files -> one CSV for grading."),
}


def arg(*names: str, **options: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    """One argument, written as for ``parser.add_argument``."""
    return names, options


def command(name: str, help: str, description: str | None = None, arguments: list | None = None) -> Callable[[Run], Run]:
    """Register the decorated ``run(args)`` as ``labkit <name>`` with these arguments."""

    def register(run: Run) -> Run:
        COMMANDS.append(Command(name, help, description, arguments or [], run))
        return run

    return register


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text}")
        return value

    parse.__name__ = "whole number"  # what argparse calls the type in "invalid ... value"
    return parse


def seconds(text: str) -> float:
    """An argparse type: a duration of at least 0 seconds."""
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text}")
    return value


def check_choices(option: str, values: list[str], allowed: tuple[str, ...]) -> None:
    """Refuse a value of ``option`` that is not in ``allowed`` (for choices known only once the library is loaded)."""
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise LabkitError(f"{option}: unknown value(s) {unknown}; choose from {list(allowed)}")


@command("metrics", "EER, minDCF and thresholds of a score file",
         "Score file lines: '<1|0> <enroll> <test> <score>' (the trial list plus a score column).", [
    arg("score_file", help="trial list with a fourth column of scores"),
    arg("--p-target", type=float, nargs="+", default=[0.01, 0.05], help="prior(s) for minDCF"),
    arg("--c-miss", type=float, default=1.0),
    arg("--c-fa", type=float, default=1.0),
    arg("--json", action="store_true", help="print one JSON object instead of a table"),
])
def metrics(args: argparse.Namespace) -> int:
    from labkit.evaluate import score_file_report

    print(score_file_report(args.score_file, tuple(args.p_target), args.c_miss, args.c_fa, as_json=args.json))
    return 0


@command("train", "train a speaker-embedding model (resumable; DDP under torchrun)",
         "Trains from a YAML config. A run directory with checkpoints is resumed automatically. "
         "Multi-GPU / multi-process: torchrun --nproc_per_node=N -m labkit train --config ...", [
    arg("--config", default="configs/default.yaml", help="YAML config (default: %(default)s)"),
    arg("--set", dest="overrides", nargs="+", default=[], metavar="SECTION.KEY=VALUE", help="override config keys"),
    arg("--out-dir", help="run directory (run.out_dir)"),
    arg("--epochs", type=int, help="run.epochs"),
    arg("--max-minutes", type=float, help="stop after this much training time, saving first (run.max_minutes)"),
    arg("--resume", help="start from this checkpoint file instead of the run directory's newest"),
    arg("--force-resume", action="store_true",
        help="resume although the batch size, seed, loss, optimiser or number of processes changed (run.force_resume)"),
    arg("--no-progress", action="store_true", help="no progress bar"),
])
def train(args: argparse.Namespace) -> int:
    from labkit.config import apply_overrides, load_config
    from labkit.train import train

    named = {"run.out_dir": args.out_dir, "run.epochs": args.epochs, "run.max_minutes": args.max_minutes}
    overrides = args.overrides + [f"{key}={value}" for key, value in named.items() if value is not None]
    overrides += ["run.force_resume=true"] if args.force_resume else []
    run_dir = train(apply_overrides(load_config(args.config), overrides), resume=args.resume, progress=not args.no_progress)
    print(f"run directory: {run_dir}")
    return 0


EMBEDDING_ARGUMENTS = [  # how utterances become embeddings: the same options for `embed` and `evaluate`
    arg("--batch-size", type=whole_number(1), default=16, help="most utterances per batch (default: %(default)s)"),
    arg("--crops", type=whole_number(0), default=0, help="average N evenly spaced crops instead of the full utterance"),
    arg("--cache-dir", help="reuse/keep embeddings here (keyed by model checksum + the audio's content)"),
    arg("--device", default="auto"),
]


@command("embed", "embeddings of every utterance of a corpus -> .npz",
         "Writes an .npz with 'ids' (utterance names) and 'embeddings' (float32 matrix).", [
    arg("checkpoint", help="a saved model (model.pt, best.pt, WeSpeaker or voxceleb_trainer file)"),
    arg("--root", required=True, help="corpus folder (wav/idXXXXX/<video>/NNNNN.wav below it)"),
    arg("--out", required=True, help="output .npz"),
    *EMBEDDING_ARGUMENTS,
    arg("--crop-seconds", type=seconds, default=3.0),
    arg("--max-seconds", type=seconds, default=0.0, help="cap utterance length; 0 = full"),
])
def embed(args: argparse.Namespace) -> int:
    from labkit.embed import embed_corpus

    out = embed_corpus(args.checkpoint, args.root, args.out, device=args.device, batch_size=args.batch_size, crops=args.crops,
                       crop_seconds=args.crop_seconds, max_seconds=args.max_seconds, cache_dir=args.cache_dir)
    print(f"wrote {out}")
    return 0


@command("evaluate", "EER/minDCF of a model on a trial list, DET + histogram figures",
         "Prints (and with --out-dir writes) one result row: model, params, MACs, train time, EER, minDCF(0.01, 0.05).", [
    arg("checkpoint", help="a saved model, or 'pretrained' for the built-in one"),
    arg("--root", default="data/synthetic-lab", help="corpus folder (default: %(default)s)"),
    arg("--trials", help="trial list (default: <root>/meta/veri_test.txt)"),
    arg("--out-dir", help="write scores.txt, det.pdf/png, histogram.pdf/png and result.json here"),
    arg("--as-norm", type=whole_number(0), default=0, metavar="N", help="AS-norm with the top N training speakers (0 = off)"),
    *EMBEDDING_ARGUMENTS,
    arg("--json", action="store_true", help="print the row as JSON"),
])
def evaluate(args: argparse.Namespace) -> int:
    from labkit.evaluate import evaluate_checkpoint, to_json

    row = evaluate_checkpoint(args.checkpoint, args.root, trials=args.trials, out_dir=args.out_dir, as_norm=args.as_norm,
                              device=args.device, batch_size=args.batch_size, crops=args.crops, cache_dir=args.cache_dir)
    print(to_json(row) if args.json else "\n".join(f"  {key:14s} {value}" for key, value in row.items()))
    return 0


@command("demo", "the whole offline lab on the synthetic corpus (a few minutes)",
         "Generates the synthetic 'lab' corpus if missing, evaluates the built-in pretrained model, trains a small "
         "ResNet from scratch, evaluates it, saves DET plots and prints a results table.", [
    arg("--root", default="data/synthetic-lab", help="corpus folder (default: %(default)s)"),
    arg("--out-dir", default="runs/demo", help="outputs (default: %(default)s)"),
    arg("--epochs", type=int, help="training epochs (default: configs/demo.yaml's, about 5 min on 2 idle cores)"),
    arg("--no-progress", action="store_true"),
])
def demo(args: argparse.Namespace) -> int:
    from labkit.demo import run_demo

    run_demo(args.root, args.out_dir, epochs=args.epochs, progress=not args.no_progress)
    return 0


@command("summary", "parameters, multiply-adds and output shape per stage of a model",
         "MODEL: resnet10 .. resnet152, xvector, or a checkpoint (ours, WeSpeaker, voxceleb_trainer). "
         "--imagenet adds the paper's ImageNet ResNets next to the seed table.", [
    arg("model", nargs="?", help="model name or checkpoint path"),
    arg("--width", type=int, help="channels of the first ResNet stage (default: labkit/config.py)"),
    arg("--seconds", type=float, default=2.0, help="audio length for the multiply-adds (default: %(default)s)"),
    arg("--imagenet", action="store_true", help="print the ImageNet ResNets 18-152 vs the seed table"),
])
def summary(args: argparse.Namespace) -> int:
    from labkit.models.summary import summary_report

    print(summary_report(args.model, width=args.width, seconds=args.seconds, imagenet=args.imagenet))
    return 0


@command("report build", "answers file -> report.pdf, report-overleaf.zip, report.docx, latex/", arguments=[
    arg("answers", nargs="?", help="answers JSON (default: the notebooks' answers file)"),
    arg("--out-dir", default="report", help="output folder (default: %(default)s)"),
    arg("--language", choices=["es", "en"], help="report language (default: the one in the answers file)"),
    arg("--date", help="date on the title page (default: today)"),
    arg("--no-pdf", action="store_true", help="skip pdflatex (the zip and .docx are still written)"),
    arg("--no-docx", action="store_true", help="skip the Word file"),
])
def report_build(args: argparse.Namespace) -> int:
    from labkit.report.latex import build_report
    from labkit.report.questions import default_store_path

    written = build_report(args.answers or default_store_path(), args.out_dir, language=args.language,
                           pdf=False if args.no_pdf else None, word=not args.no_docx, date=args.date)
    for kind, path in written.items():
        print(f"{kind:6} {path}")
    if "pdf" not in written and not args.no_pdf:
        print("no PDF: TeX is not installed (scripts/install-tex.sh); upload the zip to Overleaf instead")
    return 0


@command("report collect", "answers files -> one CSV with answers, word counts and missing ones", arguments=[
    arg("files", nargs="+", help="answers JSON files (e.g. answers/*.json)"),
    arg("-o", "--out", default="answers.csv", help="CSV to write (default: %(default)s)"),
])
def report_collect(args: argparse.Namespace) -> int:
    from labkit.report.grading import collect_to_csv

    table, skipped = collect_to_csv(args.files, args.out)
    for problem in skipped:
        print(f"labkit report collect: skipped {problem}", file=sys.stderr)
    print(table[["file", "students", "answered", "missing"]].to_string(index=False))
    print(f"wrote {args.out} ({len(table)} files)")
    return 0


@command("download", "fetch, verify and unpack VoxCeleb assets and public checkpoints",
         "Sources in order: files already in --dest, a copy in the Drive cache, Google Drive (course copy), "
         "HTTP(S) (KAIST needs your key), Hugging Face. Without ASSET, lists the known assets.", [
    arg("assets", nargs="*", metavar="ASSET", help="asset names from labkit/data/assets.yaml"),
    arg("--dest", default="", help="download folder on the local disk (default: /content/data on Colab, ./data)"),
    arg("--source", nargs="+", help="source kinds to try: drive-mount, drive, http, kaist, hf (default: all, in the registry's order)"),
    arg("--key", default="", help="KAIST key (better: the LABKIT_KAIST_KEY environment variable)"),
    arg("--drive-cache", default="", help="folder on the mounted Drive with verified copies"),
    arg("--persist", action="store_true", default=None,
        help="copy the verified files into the Drive cache (default: when a Drive cache is chosen)"),
    arg("--no-extract", action="store_true", help="download and verify only"),
])
def download(args: argparse.Namespace) -> int:
    from labkit.data.archives import human_size
    from labkit.data.download import FetchOptions, default_data_root, download
    from labkit.data.registry import load_registry

    if not args.assets:
        for name, asset in load_registry().items():
            size = human_size(asset.total_bytes) if asset.total_bytes else "size ?"
            print(f"{name:24} {size:>8}  {', '.join(asset.revisions):34}  {asset.description}")
        return 0
    check_choices("--source", args.source or [], FetchOptions.sources)
    options = FetchOptions(sources=tuple(args.source or FetchOptions.sources), key=args.key, drive_cache=args.drive_cache)
    for path in download(args.assets, args.dest or default_data_root(), options, not args.no_extract, args.persist):
        print(path)
    return 0


@command("subset", "extract a ~100 h VoxCeleb2 subset as 16 kHz wav without downloading 77 GB",
         "Choose utterances (a published list, a list file, or a seeded choice by --hours/--speakers), read only them "
         "from the split VoxCeleb2 zip (local --parts-dir or remote over HTTP Range), convert to wav.", [
    arg("--list", dest="list_name", default="", help="published list (Vaessen & van Leeuwen 2022): tiny_few, tiny_many_low, tiny_many_high"),
    arg("--list-file", default="", help="a list file 'utterance_key;shard_dix;set_name'"),
    arg("--hours", type=float, help="seeded choice: hours of audio"),
    arg("--speakers", type=int, help="seeded choice: number of speakers"),
    arg("--seed", type=int, default=0),
    arg("--sets", nargs="+", default=["train"],
        help="sets of a list to keep: train (default, the ~100 h); add val for its held-out validation utterances"),
    arg("--parts-dir", default="", help="folder with vox2_dev_aac_parta{a..h} (default: read remotely)"),
    arg("--source", choices=["hf", "kaist"], default="hf", help="remote source of the parts"),
    arg("--key", default="", help="KAIST key (better: LABKIT_KAIST_KEY)"),
    arg("--workers", type=whole_number(1), default=2, help="parallel AAC -> wav conversions"),
    arg("--dest", default="", help="output folder (default: voxceleb2_subset in /content/data on Colab, ./data)"),
    arg("--drive-cache", default="", help="folder on the mounted Drive: restore from / keep the subset there"),
    arg("--persist", action="store_true", default=None,
        help="keep the finished subset in the Drive cache as one archive (default: when a Drive cache is chosen)"),
])
def subset(args: argparse.Namespace) -> int:
    from labkit.data.subset import prepare_subset

    summary = prepare_subset(args.dest, args.list_name, args.list_file, args.hours, args.speakers, args.seed,
                             args.sets, args.parts_dir, args.source, args.key, args.workers,
                             drive_cache=args.drive_cache, persist=args.persist)
    print(json.dumps(summary, indent=2))
    return 0


@command("pack", "(instructor) build the lab pack and print its registry entries",
         "Writes labpack_vox1_test.zip, labpack_vox2_subset.zip, labpack_model.zip and labpack.json into OUT, "
         "then prints the assets.yaml entries to paste after upload.", [
    arg("out", help="folder for the archives"),
    arg("--vox1-test", required=True, help="folder holding wav/id10270/..."),
    arg("--trials", required=True, help="veri_test2.txt"),
    arg("--subset", required=True, help="output folder of labkit subset"),
    arg("--checkpoint", required=True, help="pretrained checkpoint file or folder"),
    arg("--hf-repo", default="", help="Hugging Face dataset repo the archives will be uploaded to"),
    arg("--hf-revision", default="", help="commit hash of that upload (sources are pinned to commits)"),
])
def pack(args: argparse.Namespace) -> int:
    from labkit.data.labpack import pack

    print(pack(args.out, args.vox1_test, args.trials, args.subset, args.checkpoint, args.hf_repo, args.hf_revision))
    return 0


@command("verify", "check a prepared dataset folder against its MANIFEST.tsv", arguments=[
    arg("folder", help="e.g. data/voxceleb1, or the output of labkit subset"),
    arg("--quick", action="store_true", help="compare sizes only (no sha256)"),
])
def verify(args: argparse.Namespace) -> int:
    from labkit.data.labpack import verify_dir

    problems = verify_dir(args.folder, args.quick)
    for problem in problems:
        print(problem)
    print(f"{args.folder}: {'OK' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


@command("make-corpus", "write the synthetic multi-speaker corpus (VoxCeleb layout)",
         "Deterministic synthetic speakers and sessions: wav/idNNNNN/<video>/NNNNN.wav, meta/veri_test.txt, "
         "meta/train_list.txt, meta/speakers.csv and README.txt.", [
    arg("--out", required=True, help="corpus folder to create"),
    arg("--preset", default="lab", choices=["tiny", "lab"], help="size (default: %(default)s)"),
    arg("--seed", type=int, default=0, help="same seed, same bytes (default: %(default)s)"),
    arg("--speakers", type=int, help="number of training speakers (default: the preset's)"),
    arg("--workers", type=whole_number(1), help="processes (default: 2 for big corpora); the output does not depend on it"),
    arg("--force", action="store_true", help="replace a different corpus already at --out"),
])
def make_corpus(args: argparse.Namespace) -> int:
    from labkit.data.synthetic import make_corpus

    print(make_corpus(args.out, args.preset, args.seed, args.speakers, args.workers, args.force))
    return 0


@command("pack-audio", "pack a corpus's wav files into one int16 file for fast training crops",
         "Writes OUT.int16 (all samples) and OUT.csv (utt, speaker, offset, frames); use it with data.packed=OUT.", [
    arg("root", help="VoxCeleb-layout folder (root/wav/idXXXXX/<video>/NNNNN.wav)"),
    arg("--out", required=True, help="output name, e.g. data/train (gives data/train.int16 + data/train.csv)"),
    arg("--train-list", help="pack only the utterances of this voxceleb_trainer list"),
])
def pack_audio(args: argparse.Namespace) -> int:
    from labkit.data.packed import pack_audio

    print(pack_audio(args.root, args.out, args.train_list))
    return 0


@command("doctor", "what works here for the real-data lab (GPU, disk, Drive, PyAV, TeX, sources)", arguments=[
    arg("--dest", default="", help="data folder to check the free space of (default: /content/data on Colab, ./data)"),
    arg("--timeout", type=float, default=5.0, help="seconds to wait for each download host"),
])
def doctor(args: argparse.Namespace) -> int:
    from labkit.data.download import default_data_root
    from labkit.doctor import doctor, format_table

    checks = doctor(args.dest or default_data_root(), args.timeout)
    print(format_table(checks))
    return int(any(c.level == "fail" for c in checks))


@command("drive-ids", "(instructor) a copy of the asset table with Google Drive ids filled in",
         "After uploading files (or the lab pack) to Google Drive and sharing them, writes OUT: the asset table in use, "
         "plus --pack entries, with each FILE=ID filled in. Students set LABKIT_ASSETS=OUT; Drive is then tried first.", [
    arg("out", help="the course's asset table to write, e.g. course_assets.yaml"),
    arg("ids", nargs="+", metavar="FILE=ID", help="file name and its Drive id (from the sharing link)"),
    arg("--pack", default="", help="the entries printed by labkit pack, saved to a file"),
])
def drive_ids(args: argparse.Namespace) -> int:
    from labkit.data.labpack import write_course_table

    ids = dict(item.split("=", 1) for item in args.ids if "=" in item)
    if len(ids) != len(args.ids):
        raise ValueError(f"expected FILE=ID pairs, got {[i for i in args.ids if '=' not in i]}")
    print(write_course_table(args.out, ids, args.pack or None))
    return 0


@command("realism", "how real the synthetic voices sound: Resemblyzer's EER beside the baseline",
         "Scores a corpus's trial list with Resemblyzer's encoder (trained on real speech; weights fetched from its "
         "PyPI wheel once) and with the training-free mean log-mel baseline.", [
    arg("root", help="corpus folder (wav/ and meta/veri_test.txt below it)"),
    arg("--trials", help="trial list (default: ROOT/meta/veri_test.txt)"),
    arg("--max-trials", type=whole_number(0), default=0, help="score a random subset of this many trials (quicker)"),
    arg("--cache-dir", help="reuse/keep embeddings here"),
    arg("--device", default="auto"),
])
def realism(args: argparse.Namespace) -> int:
    from labkit.realism import realism

    print(realism(args.root, args.trials, args.max_trials, args.device, args.cache_dir).to_string(index=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``labkit`` parser with every registered command."""
    parser = argparse.ArgumentParser(prog="labkit", description="Speaker-verification lab toolkit (VoxCeleb, Práctica 2).")
    parser.add_argument("--debug", action="store_true", help="on an error, show the full traceback instead of one line")
    top = parser.add_subparsers(dest="command", metavar="COMMAND")
    actions: dict[str, argparse._SubParsersAction] = {}  # group name -> its ACTION subparsers
    for spec in COMMANDS:
        group, _, name = spec.name.rpartition(" ")
        if group and group not in actions:
            group_help, group_description = GROUPS[group]
            group_parser = top.add_parser(group, help=group_help, description=group_description)
            actions[group] = group_parser.add_subparsers(dest="action", metavar="ACTION", required=True)
        parser_of_command = (actions[group] if group else top).add_parser(name, help=spec.help, description=spec.description)
        for names, options in spec.arguments:
            parser_of_command.add_argument(*names, **options)
        parser_of_command.set_defaults(func=spec.run)
    return parser


def user_message(error: BaseException) -> str | None:
    """The one line to print for an error the user can fix, or None for a bug (which keeps its traceback)."""
    if isinstance(error, OSError) and error.filename is not None:  # e.g. a symlink loop, an unreadable folder
        return f"{error.filename}: {error.strerror or error}"
    if isinstance(error, (LabkitError, ValueError, OSError)):
        return str(error)
    return None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``labkit`` console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"labkit {args.command}: interrupted (files already written are complete; run it again to go on)", file=sys.stderr)
        return 130
    except Exception as error:
        message = user_message(error)
        if message is None or args.debug:
            raise
        print(f"labkit {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
