"""`bopbot vocab`: the k-means pose vocabulary over a corpus, into a model folder."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ...errors import BopBotError
from ...files import TMP_PREFIX, check_apart, held_folder
from .options import show_progress

SUMMARY = "k-means pose vocabulary over a corpus -> model folder"


def add_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "vocab", help=SUMMARY,
        description=(
            "Cluster every normalised frame of CORPUS into K pose words with faiss k-means: centroids "
            "trained on a sample (at most 64 frames a word), then every frame assigned in a stream and "
            "each word set to the mean of its frames. Writes MODEL_DIR/vocabulary.safetensors and reports "
            "the quantisation error."
        ),
    )
    parser.add_argument("corpus", help="corpus folder made by `bopbot extract`")
    parser.add_argument("-k", type=int, default=1024, help="number of pose words (default 1024; up to 52,000 and more)")
    parser.add_argument("-o", "--output", required=True, help="model folder to create")
    parser.add_argument("--parts", metavar="UxL", default=None,
                        help="a part-wise vocabulary instead: U upper-body poses by L lower-body poses, every pair a "
                             "word (U x L words; -k is then ignored), e.g. 32x32")
    parser.add_argument("--niter", type=int, default=20, help="k-means iterations (default 20)")
    parser.add_argument("--max-training-frames", type=int, default=None, help="k-means sample size (default 64 x K)")
    parser.add_argument("--seed", type=int, default=0, help="k-means' random seed (default 0)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ...data.corpus import Corpus
    from ...models.model_folder import TRAINED

    check_apart([args.corpus], folders=[args.output])  # a model inside the corpus would be read as part of it
    corpus = Corpus(args.corpus)
    output = Path(args.output)
    parts = _parts(args.parts) if args.parts else None
    words = parts[0] * parts[1] if parts else args.k
    if args.max_training_frames is not None and args.max_training_frames < words:
        raise BopBotError(None, f"--max-training-frames {args.max_training_frames} is fewer than the {words} words "
                                "asked for: k-means needs a frame for every word")
    with held_folder(output, "making a vocabulary in it"):  # not while a training run writes there
        _check_model_folder(output)
        trained = [name for name in TRAINED if os.path.lexists(output / name)]
        if trained:
            raise BopBotError(output, f"already holds {trained[0]}, trained for its vocabulary; give a new folder for "
                                      "a new vocabulary")
        return _fit(args, corpus, output, parts)


def _check_model_folder(output: Path) -> None:
    """Refuse a folder that holds files but no BopBot model (a project of the user's, a corpus):
    training writes its files (config.json, tokenizer.json, training.json, ...) over any of that name."""
    from ...models.model_folder import PIPELINE_FILE
    from ...vocabulary.vocabulary import FILENAME

    others = [item.name for item in output.iterdir() if not item.name.startswith(TMP_PREFIX)]
    if others and not any((output / name).is_file() for name in (FILENAME, PIPELINE_FILE)):
        raise BopBotError(output, f"holds files but no BopBot model (e.g. {sorted(others)[0]}): give a new or empty "
                                  "folder, or a model folder to fit its vocabulary again")


def _fit(args: argparse.Namespace, corpus, output: Path, parts: tuple[int, int] | None) -> int:
    """Fit the vocabulary on the corpus and write it into the model folder `output`."""
    from tqdm import tqdm

    from ...models.model_folder import pipeline_info, read_pipeline_info, update_pipeline_info
    from ...vocabulary.vocabulary import PoseVocabulary, chunked, gpu_count

    frames = corpus.summary()["frames"]
    vocabulary = PoseVocabulary(k=args.k, niter=args.niter, seed=args.seed, max_training_frames=args.max_training_frames,
                                parts=parts)
    bars = {}

    def progress(stage: str, count: int) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            label = "sampling" if stage == "sample" else "assigning"
            bars[stage] = tqdm(total=frames, desc=label, unit="frame", unit_scale=True, disable=not show_progress(args))
        bars[stage].update(count)

    try:
        report = vocabulary.fit(lambda: chunked(corpus.frame_chunks()), progress)
    except BopBotError as exc:  # the corpus that is too small is the one named
        raise BopBotError(exc.path or args.corpus, exc.problem) from None
    for bar in bars.values():
        bar.close()
    vocabulary.save(output)
    summary = {
        "k": vocabulary.k, **({"parts": args.parts} if parts else {}), "frames": report.frames,
        "training_frames": report.training_frames,
        "quantisation_error": round(report.quantisation_error, 4),
        "quantisation_error_percent_torso": round(100 * report.quantisation_error, 2),
        "empty_words": report.empty_words, "corpus": str(corpus.folder),
        "kmeans_seconds": round(report.kmeans_seconds, 1), "assign_seconds": round(report.assign_seconds, 1),
        "device": f"{gpu_count()} GPU(s)" if gpu_count() else "CPU",
    }
    update_pipeline_info(output, **{**pipeline_info(), **read_pipeline_info(output), "vocabulary": summary})
    print(f"wrote {output / 'vocabulary.safetensors'}: {vocabulary.k} words over {report.frames} frames "
          f"(k-means on {report.training_frames}); quantisation error {report.quantisation_error:.3f} torso lengths "
          f"({100 * report.quantisation_error:.1f}% of the torso), {report.empty_words} empty words; k-means "
          f"{report.kmeans_seconds:.1f} s and assignment {report.assign_seconds:.1f} s on the {summary['device']}")
    return 0


def _parts(text: str) -> tuple[int, int]:
    """'32x32' -> (32, 32): the upper-body and lower-body pose counts of a part-wise vocabulary."""
    try:
        upper, lower = (int(n) for n in text.lower().split("x"))
    except ValueError:
        raise BopBotError(None, f"--parts takes UPPERxLOWER pose counts such as 32x32, not {text!r}") from None
    if min(upper, lower) < 2:
        raise BopBotError(None, f"--parts needs at least 2 poses a part, got {text!r}")
    return upper, lower
