"""`bopbot dance`: continue the dance in a video or motion file as the bopbot dancer."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...errors import BopBotError
from ...files import check_apart, check_writable
from .options import new_dance_seconds, print_dance, sampling_arguments, sampling_keywords, sampling_options

SUMMARY = "continue a dance: video or motion file in, the bopbot dancer out"


def add_parser(verbs: argparse._SubParsersAction) -> None:
    from ...choreography.render import LAYOUTS

    parser = verbs.add_parser(
        "dance", help=SUMMARY,
        description=(
            "Extract the dance in INPUT (anything `bopbot extract` reads), encode it as pose words, let the "
            "model write what comes next, and render it as the bopbot dancer: H.264 MP4 at 20 fps, with "
            "the input's music where it has some."
        ),
    )
    parser.add_argument("input", help="a dance video or motion file")
    parser.add_argument("-o", "--output", required=True, help="output .mp4")
    sampling_arguments(parser)
    parser.add_argument("--layout", choices=LAYOUTS, default="continue",
                        help="continue: the clip then the dancer; side-by-side: both from the start, the shorter holding its "
                             "last frame; dancer-only; skeleton: both dances as "
                             "OpenPose-style skeletons on black at the source's size, for pose-guided animation")
    parser.add_argument("--export", nargs=2, action="append", default=[], metavar=("KIND", "DIR"),
                        help="also write the user's dance and the new one, frame by frame at the source's size, into "
                             "DIR: openpose (OpenPose JSON, BODY_25), openpose-coco18, or skeleton-png; may be given "
                             "once per kind, each into a folder of its own; DIR must be new or empty")
    parser.add_argument("--force", action="store_true",
                        help="--export into a folder that already holds files (files of the same names are replaced)")
    parser.add_argument("--save-poses", action="store_true", help="also write the new dance as a PoseSequence .npz")
    parser.add_argument("--music-from-start", action="store_true",
                        help="with --music, in the continue and skeleton layouts: the song plays under the clip too, and the new "
                             "dance picks it up where the clip ends (default: the clip keeps its own sound and the "
                             "song starts with the new dance)")


def run(args: argparse.Namespace) -> int:
    from ...choreography.dance import output_files
    from ...choreography.export import check_exports, export_folders
    from ...choreography.model_process import ModelProcess
    from ...ingest.extract import kind_of
    from ..api import Dancer

    sampling = sampling_options(args)
    if args.music_from_start and not args.music:
        raise BopBotError(None, "--music-from-start says when a song starts: give the song with --music FILE")
    if args.force and not args.export:
        raise BopBotError(None, "--force lets --export write into a folder that holds files: give --export KIND DIR")
    if Path(args.output).suffix.lower() != ".mp4":
        raise BopBotError(args.output, "the output must be an .mp4 file")
    is_video = kind_of(Path(args.input)) == "video"
    exports = check_exports(export_folders(args.export), args.force)
    outputs = output_files(args.output, args.gif, args.save_poses)
    check_apart([args.input, args.music], outputs, exports.values())
    for output in outputs:
        check_writable(output)
    if args.model is not None:
        from ...models.model_folder import check_model_folder

        check_model_folder(args.model)
    songs = [args.music] if args.music else ([args.input] if is_video else [])
    watched = sys.stderr.isatty()  # a bar where someone watches
    with ModelProcess(args.model, args.generator, songs) as model:  # loads while the video is read
        new = Dancer(model, progress=watched).dance(
            args.input, new_dance_seconds(args, 10.0), args.music, layout=args.layout,
            music_from_start=args.music_from_start, save_to=args.output, gif=args.gif, **sampling_keywords(sampling))
        frames = new.frames_saved
        poses = new.save_poses(outputs[-1]) if args.save_poses else None
        written = {folder: new.export(kind, folder, force=True) for kind, folder in exports.items()}  # checked above
    print_dance(new, args.output, frames, outputs[1] if args.gif else None, poses, written)
    return 0
