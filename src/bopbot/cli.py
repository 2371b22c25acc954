"""The `bopbot` command line: one program, a verb per job.

Exit codes: 0 success; 1 an input or option was bad (one line on stderr says which and why);
2 the command line itself was wrong; 3 a batch finished but some inputs failed (they are listed
and the rest landed); 130 interrupted (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

from .errors import BopBotError

EXIT_BAD_INPUT = 1
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130


def _yaws(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"yaws must be comma-separated degrees, e.g. 0,90,180; got {text!r}") from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _extract_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "extract",
        help="dance videos and motion files -> pose sequence or corpus",
        description=(
            "Find the dancer's COCO-17 keypoints in videos (MediaPipe Pose), OpenPose JSON folders, BVH "
            "or Tang 2018 motion capture and .npz/.npy keypoint files, resampled to 20 fps. With one "
            "input and -o FILE.npz, writes one pose sequence. Otherwise -o names a corpus folder: "
            "normalised, sharded, built a process per input, resumable (run again to continue)."
        ),
    )
    parser.add_argument("inputs", nargs="+", help="files, folders (searched recursively), globs, or .txt lists of paths")
    parser.add_argument("-o", "--output", required=True, help="FILE.npz for one sequence, or a corpus folder")
    parser.add_argument("--yaws", type=_yaws, default=(0.0,), help="virtual camera yaws in degrees for 3D mocap (default 0)")
    parser.add_argument("--mirror", action="store_true", help="also project every mocap view mirrored")
    parser.add_argument("--source-fps", type=_positive, default=30.0, help="frame rate of untimed sources: OpenPose folders, bare arrays (default 30)")
    parser.add_argument("-j", "--jobs", type=int, default=None, help="processes for a corpus (default: one per core)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_extract(args: argparse.Namespace) -> int:
    from .extract import ExtractOptions, describe, expand_inputs, extract

    options = ExtractOptions(yaws=args.yaws or (0.0,), mirror=args.mirror, source_fps=args.source_fps)
    inputs = expand_inputs(args.inputs)
    output = Path(args.output)
    if output.suffix == ".npz":
        if len(inputs) != 1:
            raise BopBotError(output, f"a .npz output takes one input, got {len(inputs)}; give a folder for a corpus")
        sequences = extract(inputs[0], options, progress=not args.quiet)
        sequences[0].save(output)
        views = f" (first of {len(sequences)} camera views; give a folder to keep them all)" if len(sequences) > 1 else ""
        print(f"wrote {output}: {describe(sequences[0])}{views}")
        return 0
    if not inputs:
        raise BopBotError(None, "no inputs found")
    from .corpus import build_corpus

    report = build_corpus(inputs, output, options, jobs=args.jobs, progress=not args.quiet)
    _print_summary(output, report)
    return EXIT_PARTIAL if report.failed else 0


def _print_summary(output: Path, report) -> None:
    summary = report.summary
    print(
        f"corpus {output}: {report.done} input(s) extracted now, {report.skipped} already done, "
        f"{len(report.failed)} failed\n"
        f"  {summary['inputs']} inputs, {summary['sequences']} sequences, {summary['frames']} frames, "
        f"{summary['seconds']:.1f} s ({summary['seconds'] / 60:.1f} min) of dance at {summary['fps']:g} fps, "
        f"{summary['frames_without_dancer']} frames without a dancer"
    )
    for failure in summary["failures"]:
        print(f"  failed: {failure['reason']}")


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one line of BopBot's own, without the source location."""
    print(f"bopbot: warning: {message}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bopbot", description="BopBot, the AI dancer: watches a dance and keeps dancing.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    _extract_parser(verbs)
    return parser


RUNNERS = {"extract": run_extract}


def main(argv: list[str] | None = None) -> int:
    """Run one verb; bad input ends in one line on stderr and a non-zero exit, never a traceback."""
    args = build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        return RUNNERS[args.verb](args)
    except BopBotError as exc:
        print(f"bopbot: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("bopbot: interrupted; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if os.environ.get("BOPBOT_DEBUG"):
            raise
        print(f"bopbot: error: unexpected {type(exc).__name__}: {exc} (set BOPBOT_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
