"""`bopbot serve`: the web page."""

from __future__ import annotations

import argparse

SUMMARY = "the web page: drop a dance video, watch the bopbot dancer carry on"


def add_parser(verbs: argparse._SubParsersAction) -> None:
    from ..serve import MAX_CLIP_SECONDS, MAX_UPLOAD_MB

    parser = verbs.add_parser(
        "serve", help=SUMMARY,
        description=("Start BopBot's web page (Gradio): drop or record a dance video, pick the seconds, "
                     "generator, seed, layout, a song, exports and (under More settings) bopbot dance's sampling "
                     "settings, and watch the bopbot dancer carry on; the MP4, the GIF, the pose words, the new "
                     "dance's poses (.npz) and the exports (a zip) to download. One dance at a time, the rest "
                     "queued."),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this "
                                                              "machine only; 0.0.0.0 for every network)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--model", default=None, help="model folder (default: the embedded model)")
    parser.add_argument("--max-upload-mb", type=float, default=MAX_UPLOAD_MB,
                        help=f"largest upload in MB (default {MAX_UPLOAD_MB})")
    parser.add_argument("--max-clip-seconds", type=float, default=MAX_CLIP_SECONDS,
                        help=f"longest clip the page takes, in seconds (default {MAX_CLIP_SECONDS:g})")
    parser.add_argument("--results", default=None, metavar="DIR",
                        help="a private folder (mode 700) in which the page makes the folder it keeps the dances in, "
                             "removed when the page stops; nothing else in DIR is touched (default: the system's "
                             "temporary folder)")


def run(args: argparse.Namespace) -> int:
    from ..serve import serve

    if args.model is not None:
        from ...models.model_folder import check_model_folder

        check_model_folder(args.model)
    serve(args.host, args.port, args.model, args.max_upload_mb, args.max_clip_seconds, results=args.results)
    return 0
