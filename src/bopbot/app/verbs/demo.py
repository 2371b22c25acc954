"""`bopbot demo`: a new dance by the embedded model, continuing its primer."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...files import check_apart, check_writable
from .options import new_dance_seconds, print_dance, sampling_arguments, sampling_keywords, sampling_options

SUMMARY = "a new dance by the embedded default model, as MP4 and GIF"

#: The demo's new dance, in seconds, where --seconds is not given.
DEMO_SECONDS = 12.0


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "demo", help=SUMMARY,
        description="Continue the few seconds of dance stored with the model and write bopbot-demo.mp4 and .gif.",
    )
    parser.add_argument("-o", "--output", default="bopbot-demo", help="output folder (default ./bopbot-demo)")
    sampling_arguments(parser, seconds=DEMO_SECONDS, gif_option=False, seed=0, has_input=False)


def run(args: argparse.Namespace) -> int:
    from ...choreography.dance import output_files
    from ...choreography.model_process import ModelProcess
    from ..api import Dancer

    sampling = sampling_options(args)
    folder = Path(args.output)
    outputs = output_files(folder / "bopbot-demo.mp4", gif=True)
    check_apart([args.music], outputs)
    for output in outputs:
        check_writable(output)
    songs = [args.music] if args.music else []
    with ModelProcess(args.model, args.generator, songs) as model:  # loads while the primer is drawn
        watched = sys.stderr.isatty()
        new = Dancer(model, progress=watched).dance(None, new_dance_seconds(args, DEMO_SECONDS), args.music,
                                                    **sampling_keywords(sampling))
        frames = new.save(outputs[0], gif=True, progress=watched)
    print_dance(new, outputs[0], frames, outputs[1], continued="of the demo's primer")  # it reads no input
    print(f"the bopbot dancer is in {folder.resolve()}/")
    return 0
