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
        from labkit.metrics import summarize
        from labkit.trials import read_scores

        scores = read_scores(args.score_file)
        summary = summarize(scores.scores, scores.labels, p_targets=args.p_target, c_miss=args.c_miss, c_fa=args.c_fa)
        if args.json:
            print(json.dumps({"score_file": args.score_file, **summary}, indent=2))
        else:
            print(f"{args.score_file}: {len(scores.labels)} trials ({int(scores.labels.sum())} target)")
            print(f"  EER        {100 * summary['eer']:.3f} %   (threshold {summary['eer_threshold']:.6g})")
            for p in args.p_target:
                print(f"  minDCF({p:g}) {summary[f'min_dcf_{p:g}']:.4f}   (threshold {summary[f'min_dcf_{p:g}_threshold']:.6g})")
        return 0

    parser.set_defaults(func=run)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_metrics,
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
    except (ValueError, FileNotFoundError) as error:  # bad input: one clear line, no traceback
        print(f"labkit {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
