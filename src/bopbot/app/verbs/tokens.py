"""`bopbot tokens`: a dance as its sentence of pose words."""

from __future__ import annotations

import argparse
from pathlib import Path

from ...errors import BopBotError

SUMMARY = "print a dance as its sentence of pose words"


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "tokens", help=SUMMARY,
        description="Extract INPUT and print it as pose words, one per frame at 20 fps.",
    )
    parser.add_argument("input", help="a dance video or motion file")
    parser.add_argument("--model", default=None, help="model folder (default: the embedded model)")
    parser.add_argument("--seconds", type=float, default=None, help="only the first SECONDS of the dance")
    parser.add_argument("--set-primer", action="store_true",
                        help="store these words as the primer of the model folder given with --model, the dance "
                             "`bopbot demo` continues")


def run(args: argparse.Namespace) -> int:
    from ...data.normalise import normalise
    from ...data.pose_sequence import CORPUS_FPS
    from ...ingest.extract import extract
    from ...models.model_folder import DEFAULT_MODEL, check_model_folder, update_pipeline_info
    from ...vocabulary.vocabulary import PoseVocabulary

    if args.set_primer and not args.model:  # the embedded model is BopBot's own, not changed by a run
        raise BopBotError(None, "--set-primer changes a model folder: name it with --model DIR")
    if args.model:  # a loop of links is named as one, not by the first file looked for in it
        check_model_folder(args.model)
    folder = Path(args.model) if args.model else DEFAULT_MODEL
    vocabulary = PoseVocabulary.load(folder)
    sequence = extract(args.input)[0]
    if args.seconds is not None:
        sequence.keypoints = sequence.keypoints[: max(2, round(args.seconds * CORPUS_FPS))]
    try:
        words = " ".join(vocabulary.words_of(vocabulary.encode(normalise(sequence.keypoints)[0])))
    except ValueError as exc:
        raise BopBotError(args.input, str(exc)) from None
    print(words)
    if args.set_primer:
        update_pipeline_info(folder, primer={"source": Path(args.input).name, "words": words})
    return 0
