"""The `bopbot` command line: one program, a verb per job.

Exit codes: 0 success; 1 an input or option was bad (one line on stderr says which and why);
2 the command line itself was wrong; 3 a batch finished but some inputs failed (they are listed
and the rest landed); 130 interrupted (run the same command again to resume).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from pathlib import Path

from .errors import BopBotError
from .files import check_writable, make_folder
from .generators import NAMES as GENERATOR_NAMES

EXIT_BAD_INPUT = 1
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130
#: The longest new dance `--seconds` asks for (10 minutes: 12,000 words, a few minutes' work here).
MAX_SECONDS = 600.0
#: Every numeric option, by its name in `args`: (lowest, highest, whether the lowest itself is
#: allowed). `check_numbers` holds every verb to it, so no infinite, NaN, huge or negative value
#: gets past the command line.
LIMITS = {
    "seconds": (0.0, MAX_SECONDS, False), "context_seconds": (0.0, 3600.0, False),
    "min_context_seconds": (0.0, 3600.0, False), "temperature": (0.0, 100.0, False), "top_k": (0, 10**6, True),
    "top_p": (0.0, 1.0, False), "echo": (0.0, 100.0, True), "seed": (0, 2**32 - 1, True),
    "source_fps": (0.1, 1000.0, True), "jobs": (1, 1024, True), "k": (2, 10**7, True), "niter": (1, 10**5, True),
    "max_training_frames": (1, 10**10, True), "steps": (1, 10**8, True), "batch_size": (1, 10**5, True),
    "learning_rate": (0.0, 10.0, False), "eval_every": (1, 10**8, True), "n_layer": (1, 128, True),
    "n_head": (1, 128, True), "n_embd": (1, 16384, True), "context": (2, 65536, True), "dropout": (0.0, 0.95, True),
    "validation_fraction": (0.0, 0.5, True), "seeds": (1, 1000, True), "resamples": (1, 10**6, True),
    "port": (1, 65535, True), "max_upload_mb": (0.0, 10**5, False), "max_clip_seconds": (0.0, 3600.0, False),
}


#: One line per verb, for `bopbot --help`.
SUMMARIES = {
    "extract": "dance videos and motion files -> pose sequence or corpus",
    "vocab": "k-means pose vocabulary over a corpus -> model folder",
    "train": "train a generator (GPT-2 by default) on the corpus",
    "dance": "continue a dance: video or motion file in, the bopbot dancer out",
    "demo": "a new dance by the embedded default model, as MP4 and GIF",
    "tokens": "print a dance as its sentence of pose words",
    "evaluate": "score generated dances against real held-out dances, with intervals",
    "serve": "the web page: drop a dance video, watch the bopbot dancer carry on",
}


def _yaws(text: str) -> tuple[float, ...]:
    try:
        yaws = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        yaws = (float("nan"),)
    if not all(math.isfinite(yaw) for yaw in yaws):
        raise argparse.ArgumentTypeError(f"yaws must be comma-separated degrees, e.g. 0,90,180; got {text!r}")
    return yaws


def _degrees(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 180:
        raise argparse.ArgumentTypeError(f"must be degrees in (0, 180], got {text!r}")
    return value


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def check_numbers(args: argparse.Namespace) -> None:
    """Raise a BopBotError naming the first option of `LIMITS` that `args` holds outside its range."""
    for name, (low, high, low_allowed) in LIMITS.items():
        value = getattr(args, name, None)
        if value is None:
            continue
        above_low = value >= low if low_allowed else value > low
        if not (above_low and value <= high):  # NaN fails both
            floor = f"at least {low:g}" if low_allowed else f"above {low:g}"
            raise BopBotError(None, f"--{name.replace('_', '-')} must be {floor} and at most {high:g}, got {value:g}")


def _extract_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "extract",
        help=SUMMARIES["extract"],
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
    parser.add_argument("--facing", type=_degrees, default=None,
                        help="keep only the stretches (2 s or more) in which a mocap dancer faces within DEG degrees "
                             "of the camera, as phone users film (default: every frame)")
    parser.add_argument("--source-fps", type=_positive, default=30.0, help="frame rate of untimed sources: OpenPose folders, bare arrays (default 30)")
    parser.add_argument("-j", "--jobs", type=int, default=None, help="processes for a corpus (default: one per core)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_extract(args: argparse.Namespace) -> int:
    from .extract import ExtractOptions, describe, expand_inputs, extract

    options = ExtractOptions(yaws=args.yaws or (0.0,), mirror=args.mirror, source_fps=args.source_fps,
                             facing=args.facing)
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


def _vocab_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "vocab", help=SUMMARIES["vocab"],
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
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_vocab(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .corpus import Corpus
    from .model_folder import pipeline_info, read_pipeline_info, update_pipeline_info
    from .vocabulary import PoseVocabulary, chunked

    corpus = Corpus(args.corpus)
    output = Path(args.output)
    if (output / "model.safetensors").exists() or (output / "checkpoint").exists():
        raise BopBotError(output, "already holds a trained model; give a new folder for a new vocabulary")
    parts = _parts(args.parts) if args.parts else None
    frames = corpus.summary()["frames"]
    vocabulary = PoseVocabulary(k=args.k, niter=args.niter, seed=args.seed, max_training_frames=args.max_training_frames,
                                parts=parts)
    bars = {}

    def progress(stage: str, count: int) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            label = "sampling" if stage == "sample" else "assigning"
            bars[stage] = tqdm(total=frames, desc=label, unit="frame", unit_scale=True, disable=args.quiet)
        bars[stage].update(count)

    report = vocabulary.fit(lambda: chunked(corpus.frame_chunks()), progress)
    for bar in bars.values():
        bar.close()
    make_folder(output)
    vocabulary.save(output)
    summary = {
        "k": vocabulary.k, **({"parts": args.parts} if parts else {}), "frames": report.frames,
        "training_frames": report.training_frames,
        "quantisation_error": round(report.quantisation_error, 4),
        "quantisation_error_percent_torso": round(100 * report.quantisation_error, 2),
        "empty_words": report.empty_words, "corpus": str(corpus.folder),
    }
    update_pipeline_info(output, **{**pipeline_info(), **read_pipeline_info(output), "vocabulary": summary})
    print(f"wrote {output / 'vocabulary.safetensors'}: {vocabulary.k} words over {report.frames} frames "
          f"(k-means on {report.training_frames}); quantisation error {report.quantisation_error:.3f} torso lengths "
          f"({100 * report.quantisation_error:.1f}% of the torso), {report.empty_words} empty words")
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


def _train_parser(verbs: argparse._SubParsersAction) -> None:
    from .language_model import GPT2Size
    from .train import TrainSettings

    size, settings = GPT2Size(), TrainSettings()
    parser = verbs.add_parser(
        "train", help=SUMMARIES["train"],
        description=(
            "Train a generator on CORPUS into MODEL_DIR (made by `bopbot vocab`): the GPT-2 from scratch on "
            "the corpus as sentences of pose words, the LSTM on the continuous poses, or a baseline; or, "
            "with --travel, the travel model that moves the new dance across the floor. Whole inputs are "
            "held out for validation. Checkpoints are safetensors; run the same command again to resume "
            "where it stopped. --n-layer/--n-head/--n-embd/--context size the GPT-2 only."
        ),
    )
    parser.add_argument("corpus", help="corpus folder made by `bopbot extract`")
    parser.add_argument("--model", required=True, help="model folder holding the vocabulary; the generator is written there")
    parser.add_argument("--generator", choices=GENERATOR_NAMES, default="gpt2",
                        help="gpt2 (default); gpt2-music (the GPT-2 that hears the music, into MODEL_DIR/music); "
                             "lstm (mixture density over poses); random, ngram, nearest (baselines)")
    parser.add_argument("--travel", action="store_true",
                        help="train the travel model (where the dancer goes, read from the poses) instead")
    parser.add_argument("--steps", type=int, default=None, help=f"optimiser steps (default: GPT-2 {settings.steps}, LSTM its own)")
    parser.add_argument("--batch-size", type=int, default=None, help=f"(default: GPT-2 {settings.batch_size}, LSTM its own)")
    parser.add_argument("--learning-rate", type=float, default=settings.learning_rate)
    parser.add_argument("--eval-every", type=int, default=None, help=f"steps between validation and checkpoint (default: GPT-2 {settings.eval_every})")
    parser.add_argument("--n-layer", type=int, default=size.n_layer)
    parser.add_argument("--n-head", type=int, default=size.n_head)
    parser.add_argument("--n-embd", type=int, default=size.n_embd)
    parser.add_argument("--context", type=int, default=size.n_positions, help="context window in words (20 a second)")
    parser.add_argument("--dropout", type=float, default=size.dropout)
    parser.add_argument("--validation-fraction", type=float, default=settings.validation_fraction)
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    parser.add_argument("--seed", type=int, default=settings.seed)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_train(args: argparse.Namespace) -> int:
    from .language_model import GPT2Size
    from .model_folder import update_pipeline_info
    from .train import TrainSettings, train

    for name in ("steps", "batch_size", "n_layer", "n_head", "n_embd", "context", "eval_every"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise BopBotError(None, f"--{name.replace('_', '-')} must be at least 1")
    if args.n_embd % args.n_head:
        raise BopBotError(None, f"--n-embd ({args.n_embd}) must be a multiple of --n-head ({args.n_head})")
    from .vocabulary import FILENAME

    if not (Path(args.model) / FILENAME).is_file():
        raise BopBotError(Path(args.model) / FILENAME, "missing: make the model folder with `bopbot vocab` first")
    if args.travel:
        return _train_travel(args)
    if args.generator == "lstm":
        return _train_lstm(args)
    if args.generator not in ("gpt2", "gpt2-music"):
        return _train_baseline(args)
    size = GPT2Size(args.n_layer, args.n_head, args.n_embd, args.context, args.dropout)
    defaults = TrainSettings()
    settings = TrainSettings(
        steps=args.steps or defaults.steps, batch_size=args.batch_size or defaults.batch_size,
        learning_rate=args.learning_rate, eval_every=args.eval_every or defaults.eval_every,
        validation_fraction=args.validation_fraction, seed=args.seed, device=args.device,
    )
    music = args.generator == "gpt2-music"
    report = train(args.corpus, args.model, size, settings, progress=not args.quiet, music=music)
    update_pipeline_info(args.model, **{"music_training" if music else "training": {**vars(report), "size": size.to_json()}})
    print(f"trained {args.generator} in {args.model}: {report.steps} steps on {report.train_tokens} words in {report.seconds / 60:.1f} min "
          f"({report.tokens_per_second:.0f} words/s); validation perplexity {report.validation_perplexity:.2f} "
          f"on {report.validation_tokens} held-out words")
    return 0


def _train_lstm(args: argparse.Namespace) -> int:
    from .lstm import LSTMSettings, train_lstm
    from .model_folder import update_pipeline_info

    defaults = LSTMSettings()
    settings = LSTMSettings(
        steps=args.steps or defaults.steps, batch_size=args.batch_size or defaults.batch_size,
        eval_every=args.eval_every or defaults.eval_every, validation_fraction=args.validation_fraction, seed=args.seed,
        device=args.device,
    )
    report = train_lstm(args.corpus, args.model, settings=settings, progress=not args.quiet)
    update_pipeline_info(args.model, lstm=vars(report))
    print(f"trained the LSTM in {args.model}: {report.steps} steps in {report.seconds / 60:.1f} min; "
          f"validation NLL {report.validation_loss:.3f} per frame")
    return 0


def _train_travel(args: argparse.Namespace) -> int:
    from .model_folder import update_pipeline_info
    from .travel import TravelSettings, train_travel

    defaults = TravelSettings()
    settings = TravelSettings(steps=args.steps or defaults.steps, batch_size=args.batch_size or defaults.batch_size,
                              validation_fraction=args.validation_fraction, seed=args.seed)
    report = train_travel(args.corpus, args.model, settings, progress=not args.quiet)
    update_pipeline_info(args.model, travel=vars(report))
    explained = ", ".join(f"{name} {value:.2f}" for name, value in report.validation_r2.items())
    print(f"trained the travel model in {args.model} on {report.frames} steps in {report.seconds:.0f} s; "
          f"validation R² {explained}")
    return 0


def _train_baseline(args: argparse.Namespace) -> int:
    from .baselines import train_baseline
    from .corpus import Corpus
    from .train import encode_corpus
    from .vocabulary import PoseVocabulary

    vocabulary = PoseVocabulary.load(args.model)
    train_ids, _ = encode_corpus(Corpus(args.corpus), vocabulary, args.validation_fraction, args.seed, not args.quiet)
    train_baseline(args.generator, train_ids, args.model, vocabulary.k)
    print(f"trained the {args.generator} baseline in {args.model} on {len(train_ids)} words")
    return 0


def _sampling_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=None, help="model folder (default: the model embedded in BopBot)")
    parser.add_argument("--generator", choices=GENERATOR_NAMES, default="gpt2",
                        help="gpt2 (default), gpt2-music (the GPT-2 that hears the music, where the model has one), "
                             "lstm, or a baseline: random, ngram, nearest")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    parser.add_argument("--top-k", type=int, default=0, help="sample from the K likeliest words (0: all)")
    parser.add_argument("--top-p", type=float, default=1.0,
                        help="nucleus sampling mass (default 1.0: the whole distribution; see docs/sweeps.md)")
    parser.add_argument("--seed", type=int, default=None, help="random seed, for a repeatable dance")
    parser.add_argument("--echo", type=float, default=2.0,
                        help="favour the user's own pose words by this many nats, fading over the first seconds "
                             "(default 2, chosen in docs/sweeps.md; 0: off)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="seconds of new dance (default 10; with --music, the rest of the song up to 60)")
    parser.add_argument("--gif", action="store_true", help="also write a GIF beside the MP4")
    parser.add_argument("--music", metavar="FILE", default=None,
                        help="dance to this song (any audio or video file with sound) instead of the input's own music")


def _dance_parser(verbs: argparse._SubParsersAction) -> None:
    from .render import LAYOUTS

    parser = verbs.add_parser(
        "dance", help=SUMMARIES["dance"],
        description=(
            "Extract the dance in INPUT (anything `bopbot extract` reads), encode it as pose words, let the "
            "model write what comes next, and render it as the bopbot dancer: H.264 MP4 at 20 fps, with "
            "the input's music where it has some."
        ),
    )
    parser.add_argument("input", help="a dance video or motion file")
    parser.add_argument("-o", "--output", required=True, help="output .mp4")
    _sampling_arguments(parser)
    parser.add_argument("--layout", choices=LAYOUTS, default="continue",
                        help="continue: the clip then the dancer; side-by-side; dancer-only")
    parser.add_argument("--save-poses", action="store_true", help="also write the new dance as a PoseSequence .npz")
    parser.add_argument("--music-from-start", action="store_true",
                        help="with --music and the continue layout: the song plays under the clip too, and the new "
                             "dance picks it up where the clip ends (default: the clip keeps its own sound and the "
                             "song starts with the new dance)")


def _sampling(args: argparse.Namespace):
    from .choreograph import Sampling

    sampling = Sampling(args.temperature, args.top_k, args.top_p, args.seed, args.echo)
    sampling.check()
    if args.music is not None:
        from .audio import check_music

        check_music(args.music)
    return sampling


def _seconds(args: argparse.Namespace, default: float) -> float | None:
    """The new dance's length: as asked, else the rest of the song (None) with --music, else `default`."""
    return args.seconds if args.seconds is not None else (None if args.music else default)


def run_dance(args: argparse.Namespace) -> int:
    from .dance import dance, read_user_dance
    from .extract import kind_of
    from .model_process import ModelProcess

    sampling = _sampling(args)
    if args.music_from_start and not args.music:
        raise BopBotError(None, "--music-from-start says when a song starts: give the song with --music FILE")
    if Path(args.output).suffix.lower() != ".mp4":
        raise BopBotError(args.output, "the output must be an .mp4 file")
    check_writable(args.output)
    if args.model is not None and not Path(args.model).is_dir():
        raise BopBotError(args.model, "no such model folder")
    songs = [args.music] if args.music else ([args.input] if kind_of(Path(args.input)) == "video" else [])
    with ModelProcess(args.model, args.generator, songs) as model:  # loads while the video is read
        user = read_user_dance(args.input, progress=True)
        result = dance(model, user, args.output, _seconds(args, 10.0), sampling, args.layout, args.gif,
                       args.save_poses, args.music, args.music_from_start, progress=sys.stderr.isatty())
    _print_dance(result)
    return 0


def _print_dance(result) -> None:
    print(f"wrote {result.video} ({result.frames} frames at 20 fps): {result.new_frames / 20:g} s of new dance "
          f"after {result.context_words / 20:g} s from the input")
    if result.music is None:
        print("no music: the new dance keeps its own time (give --music FILE to dance to a song)")
    elif not result.beats:
        warnings.warn(f"{result.music}: no beat found in the music; the new dance keeps its own time")
    else:
        print(f"danced to {result.music.name}: {result.beats} beats at {result.tempo:.0f} beats a minute")
    for extra in (result.gif, result.poses):
        if extra is not None:
            print(f"wrote {extra}")


def _demo_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "demo", help=SUMMARIES["demo"],
        description="Continue the few seconds of dance stored with the model and write bopbot-demo.mp4 and .gif.",
    )
    parser.add_argument("-o", "--output", default="bopbot-demo", help="output folder (default ./bopbot-demo)")
    _sampling_arguments(parser)
    parser.set_defaults(seed=0)


def run_demo(args: argparse.Namespace) -> int:
    from .dance import dance, primer_dance
    from .model_process import ModelProcess

    sampling = _sampling(args)
    folder = Path(args.output)
    user = primer_dance(args.model)
    check_writable(folder / "bopbot-demo.mp4")
    songs = [args.music] if args.music else []
    with ModelProcess(args.model, args.generator, songs) as model:  # loads while the primer is drawn
        result = dance(model, user, folder / "bopbot-demo.mp4", _seconds(args, 12.0), sampling, "continue", gif=True,
                       song=args.music, progress=sys.stderr.isatty())
    _print_dance(result)
    print(f"the bopbot dancer is in {folder.resolve()}/")
    return 0


def _tokens_parser(verbs: argparse._SubParsersAction) -> None:
    parser = verbs.add_parser(
        "tokens", help=SUMMARIES["tokens"],
        description="Extract INPUT and print it as pose words, one per frame at 20 fps.",
    )
    parser.add_argument("input", help="a dance video or motion file")
    parser.add_argument("--model", default=None, help="model folder (default: the embedded model)")
    parser.add_argument("--seconds", type=float, default=None, help="only the first SECONDS of the dance")
    parser.add_argument("--set-primer", action="store_true",
                        help="store these words as the model's primer, the dance `bopbot demo` continues")


def run_tokens(args: argparse.Namespace) -> int:
    from .extract import extract
    from .model_folder import DEFAULT_MODEL, update_pipeline_info
    from .normalise import normalise
    from .pose_sequence import CORPUS_FPS
    from .vocabulary import PoseVocabulary

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


def _evaluate_parser(verbs: argparse._SubParsersAction) -> None:
    from .evaluation import EvalSettings

    settings = EvalSettings()
    parser = verbs.add_parser(
        "evaluate", help=SUMMARIES["evaluate"],
        description=(
            "Cut every held-out dance into stretches, give each generator the first seconds of each "
            "stretch, let it continue, and score the dances (FID_k, FID_g, Div_k, Div_g, perplexity, unique "
            "words, copy length, jitter; the Beat Align Score of real dances with their music beside a "
            "shifted-music null) against the training pool. Beside them: the real continuations, real "
            "validation dances as the noise floor, and the real continuation through the pose words. "
            "Every figure has a 95%% bootstrap interval over stretches. Writes report.md with plots and "
            "results.json."
        ),
    )
    parser.add_argument("heldout", nargs="+", help="held-out dances (files, folders, .txt lists)")
    parser.add_argument("--model", default=None, help="model folder (default: the embedded model)")
    parser.add_argument("--corpus", required=True, help="the corpus the model was trained on (the training pool)")
    parser.add_argument("--generators", default=None,
                        help="comma-separated (default: all the model folder has, and gpt2+beats and "
                             "gpt2-music+beats: those GPT-2s' dances played on the beat of the take's music)")
    parser.add_argument("-o", "--output", default="evaluation", help="report folder (default ./evaluation)")
    parser.add_argument("--yaws", type=_yaws, default=settings.yaws, help="cameras for 3D dances (default 0,90,180,270)")
    parser.add_argument("--seeds", type=int, default=settings.seeds,
                        help=f"samples per stretch, camera and generator (default {settings.seeds})")
    parser.add_argument("--context-seconds", type=_positive, default=settings.context_seconds,
                        help=f"real dance each generator continues (default {settings.context_seconds:g})")
    parser.add_argument("--min-context-seconds", type=_positive, default=settings.min_context_seconds,
                        help=f"shortest context for a short take (default {settings.min_context_seconds:g})")
    parser.add_argument("--seconds", type=_positive, default=settings.seconds,
                        help=f"seconds to continue, and the stride between stretches (default {settings.seconds:g})")
    parser.add_argument("--temperature", type=_positive, default=settings.temperature)
    parser.add_argument("--top-k", type=int, default=settings.top_k, help="sample from the K likeliest words (0: all)")
    parser.add_argument("--top-p", type=float, default=settings.top_p, help=f"nucleus sampling mass (default {settings.top_p:g})")
    parser.add_argument("--echo", type=float, default=settings.echo, help="favour the context's words (nats, fading)")
    parser.add_argument("--resamples", type=int, default=settings.resamples,
                        help=f"bootstrap resamples for the intervals (default {settings.resamples})")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_evaluate(args: argparse.Namespace) -> int:
    from .evaluation import EvalSettings, evaluate
    from .evaluation_report import CONTINUITY, markdown_table, write_report
    from .model_folder import DEFAULT_MODEL

    if args.seeds < 1 or args.resamples < 10:
        raise BopBotError(None, "--seeds must be at least 1 and --resamples at least 10")
    settings = EvalSettings(context_seconds=args.context_seconds, min_context_seconds=min(args.min_context_seconds,
                            args.context_seconds), seconds=args.seconds, yaws=args.yaws,
                            seeds=args.seeds, temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                            echo=args.echo, resamples=args.resamples)
    generators = [g.strip() for g in args.generators.split(",") if g.strip()] if args.generators else None
    if generators is None:  # every generator, the music-aware GPT-2 where the folder has one
        from .generators import MUSIC_FOLDER

        music = (Path(args.model or DEFAULT_MODEL) / MUSIC_FOLDER).is_dir()
        generators = [g for g in GENERATOR_NAMES if music or g != "gpt2-music"]
        generators += ["gpt2+beats"] + (["gpt2-music+beats"] if music else [])
    result = evaluate(args.model or DEFAULT_MODEL, args.corpus, args.heldout, generators, settings, not args.quiet)
    report = write_report(result, args.output, "bopbot " + " ".join(sys.argv[1:]))
    print(markdown_table(result["table"]))
    print(markdown_table(result["table"], CONTINUITY))
    print(f"wrote {report}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake on the command line said in one line (its usage is in --help)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _serve_parser(verbs: argparse._SubParsersAction) -> None:
    from .serve import MAX_CLIP_SECONDS, MAX_UPLOAD_MB

    parser = verbs.add_parser(
        "serve", help=SUMMARIES["serve"],
        description=("Start BopBot's web page (Gradio): drop or record a dance video, pick the seconds, "
                     "generator, temperature, seed, layout and a song, and watch the bopbot dancer carry on; "
                     "the MP4, the GIF and the pose words to download. One dance at a time, the rest queued."),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this "
                                                              "machine only; 0.0.0.0 for every network)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--model", default=None, help="model folder (default: the embedded model)")
    parser.add_argument("--max-upload-mb", type=float, default=MAX_UPLOAD_MB,
                        help=f"largest upload in MB (default {MAX_UPLOAD_MB})")
    parser.add_argument("--max-clip-seconds", type=float, default=MAX_CLIP_SECONDS,
                        help=f"longest clip the page takes, in seconds (default {MAX_CLIP_SECONDS:g})")


def run_serve(args: argparse.Namespace) -> int:
    from .serve import serve

    if args.model is not None and not Path(args.model).is_dir():
        raise BopBotError(args.model, "no such model folder")
    serve(args.host, args.port, args.model, args.max_upload_mb, args.max_clip_seconds)
    return 0


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line. With `only`, just that verb's arguments are built (none for a name that is
    no verb): building a verb's arguments imports its modules for their defaults, and neither
    `bopbot --help` nor any one verb needs the others'."""
    parser = _Parser(prog="bopbot", description="BopBot, the AI dancer: watches a dance and keeps dancing.")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for name, add in PARSERS.items():
        if only is None or only == name:
            add(verbs)
        else:
            verbs.add_parser(name, help=SUMMARIES[name])
    return parser


PARSERS = {
    "extract": _extract_parser, "vocab": _vocab_parser, "train": _train_parser, "dance": _dance_parser,
    "demo": _demo_parser, "tokens": _tokens_parser, "evaluate": _evaluate_parser, "serve": _serve_parser,
}


RUNNERS = {
    "extract": run_extract, "vocab": run_vocab, "train": run_train, "dance": run_dance, "demo": run_demo,
    "tokens": run_tokens, "evaluate": run_evaluate, "serve": run_serve,
}


def main(argv: list[str] | None = None) -> int:
    """Run one verb; bad input ends in one line on stderr and a non-zero exit, never a traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(only=argv[0] if argv else "").parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        check_numbers(args)
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
