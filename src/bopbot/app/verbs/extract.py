"""`bopbot extract`: dance videos and motion files into a pose sequence or a corpus."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ...errors import BopBotError
from ...files import check_apart
from .options import EXIT_PARTIAL, degrees, positive, show_progress, yaws

SUMMARY = "dance videos and motion files -> pose sequence or corpus"


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "extract",
        help=SUMMARY,
        description=(
            "Find the dancer's COCO-17 keypoints in videos (MediaPipe Pose), OpenPose JSON folders, BVH "
            "or Tang 2018 motion capture and .npz/.npy keypoint files, resampled to 20 fps. With one "
            "input and -o FILE.npz, writes one pose sequence. Otherwise -o names a corpus folder: "
            "normalised, sharded, built a process (or with --ray a Ray task) per input, resumable (run again to "
            "continue)."
        ),
    )
    parser.add_argument("inputs", nargs="+", help="files, folders (searched recursively), globs, or .txt lists of paths")
    parser.add_argument("-o", "--output", required=True, help="FILE.npz for one sequence, or a corpus folder")
    parser.add_argument("--yaws", type=yaws, default=(0.0,), help="virtual camera yaws in degrees for 3D mocap (default 0)")
    parser.add_argument("--mirror", action="store_true", help="also project every mocap view mirrored")
    parser.add_argument("--facing", type=degrees, default=None,
                        help="keep only the stretches (2 s or more) in which a mocap dancer faces within DEG degrees "
                             "of the camera, as phone users film (default: every frame)")
    parser.add_argument("--follow", action="store_true",
                        help="film mocap with cameras that turn with the dancer and about them, each yaw measured from "
                             "where the dancer faces (yaw 0: the front all along, as a phone user films themself)")
    parser.add_argument("--source-fps", type=positive, default=30.0, help="frame rate of untimed sources: OpenPose folders, bare arrays (default 30)")
    parser.add_argument("-j", "--jobs", type=int, default=None,
                        help="processes (or local Ray workers) for a corpus (default: one per core; at most twice the cores)")
    parser.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                        help="run a Ray task per input: on a Ray cluster started here with --jobs workers, or on the "
                             "running cluster at ADDRESS ('auto', 'ray://HOST:10001'), whose workers see the inputs "
                             "and OUTPUT at the same paths")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ...ingest.extract import ExtractOptions, describe, expand_inputs, extract, kind_of, said_where_listed

    options = ExtractOptions(yaws=args.yaws or (0.0,), mirror=args.mirror, source_fps=args.source_fps,
                             facing=args.facing, follow=args.follow)
    listed: dict[Path, str] = {}  # the list and line of each input read from a list
    inputs = expand_inputs(args.inputs, listed)
    output = Path(args.output)
    if output.suffix.lower() == ".npz":
        check_apart(inputs, files=[output])
        if args.ray:
            raise BopBotError(output, "--ray builds a corpus: give a folder, not a .npz")
        if len(inputs) != 1:
            raise BopBotError(output, f"a .npz output takes one input, got {len(inputs)}; give a folder for a corpus")
        _warn_of_cameras_for_2d(kind_of(inputs[0], listed.get(inputs[0])), inputs[0], args)
        sequences = extract(inputs[0], options, progress=show_progress(args))
        sequences[0].save(output)
        views = f" (first of {len(sequences)} camera views; give a folder to keep them all)" if len(sequences) > 1 else ""
        print(f"wrote {output}: {describe(sequences[0])}{views}")
        return 0
    if not inputs:
        raise BopBotError(None, "no inputs found")
    missing = [path for path in inputs if not os.path.lexists(path)]
    if len(missing) == len(inputs) > 1:  # nothing to extract: a wrong folder in a list, say
        raise said_where_listed(BopBotError(missing[0], f"no such file or folder, nor any of the other "
                                                        f"{len(missing) - 1:,} inputs"), listed.get(missing[0]))
    walked = [item for item in args.inputs if Path(item).is_dir()]  # a corpus inside one is read back next time
    check_apart([*inputs, *walked], folders=[output])
    inside = next((path for path in inputs if os.path.realpath(output) in map(str, Path(os.path.realpath(path)).parents)),
                  None)
    if inside is not None:
        raise BopBotError(inside, f"lies inside the output corpus {output}: a corpus is not extracted from itself")
    from ...ingest.build_corpus import build_corpus

    report = build_corpus(inputs, output, options, jobs=args.jobs, progress=show_progress(args), ray=args.ray,
                          listed=listed)
    _print_summary(output, report)
    return EXIT_PARTIAL if report.failed else 0


def _warn_of_cameras_for_2d(kind: str, path: Path, args: argparse.Namespace) -> None:
    """The camera options film 3D motion capture: given for one 2D input (`path`, of the `kind`
    `kind_of` says), they are said to do nothing. (In a corpus of mixed inputs they apply to the 3D
    ones, as they should.)"""
    import warnings

    given = [name for name, value in (("--yaws", args.yaws != (0.0,)), ("--mirror", args.mirror),
                                      ("--follow", args.follow), ("--facing", args.facing is not None)) if value]
    if given and kind in ("video", "openpose", "openpose-frame"):
        warnings.warn(f"{path}: a 2D dance, read as filmed: {', '.join(given)} film 3D motion capture only")


def _print_summary(output: Path, report) -> None:
    summary = report.summary
    print(
        f"corpus {output}: {report.done} input(s) extracted now, {report.skipped} already done, "
        f"{len(report.failed)} failed" + (f", {report.replaced} changed since and extracted anew" if report.replaced else "")
        + "\n"
        f"  {summary['inputs']} inputs, {summary['sequences']} sequences, {summary['frames']} frames, "
        f"{summary['seconds']:.1f} s ({summary['seconds'] / 60:.1f} min) of dance at {summary['fps']:g} fps, "
        f"{summary['frames_without_dancer']} frames without a dancer"
    )
    for failure in summary["failures"]:
        print(f"  failed: {failure['reason']}")
