"""`bopbot train`: a generator (the GPT-2 by default), the travel model or a baseline, on a corpus."""

from __future__ import annotations

import argparse
import os
import warnings
from contextlib import nullcontext
from pathlib import Path

from ...errors import BopBotError
from ...files import check_apart, held_folder
from ...models.generators import NAMES as GENERATOR_NAMES
from .options import show_progress

SUMMARY = "train a generator (GPT-2 by default), the word decoder or the travel model on the corpus"


#: The LSTM's, the decoder's and the travel model's training defaults, for --help without importing
#: torch (their settings' modules do); a test holds them to `LSTMSettings`, `DecoderSettings` and
#: `TravelSettings`.
OTHER_DEFAULTS = {"steps": {"LSTM": 3000, "--decoder": 1500, "--travel": 3000},
                  "batch_size": {"LSTM": 32, "--decoder": 32, "--travel": 512},
                  "learning_rate": {"LSTM": 5e-3, "--decoder": 2e-3, "--travel": 1e-3}}


def add_parser(verbs: argparse._SubParsersAction) -> None:
    from ...models.language_model import GPT2Size
    from ...models.train import TrainSettings

    size, settings = GPT2Size(), TrainSettings()
    parser = verbs.add_parser(
        "train", help=SUMMARY,
        description=(
            "Train a generator on CORPUS into MODEL_DIR (made by `bopbot vocab`): the GPT-2 from scratch on "
            "the corpus as sentences of pose words, the LSTM on the continuous poses, or a baseline; or, "
            "with --decoder, the word decoder that turns pose words back into movement (train it before the travel "
            "model, which reads its movement); or, with --travel, the travel model that moves the new dance "
            "across the floor. Whole inputs are "
            "held out for validation. The GPT-2's and the LSTM's checkpoints are safetensors: run the same "
            "command again to resume where it stopped (the decoder and the travel model, minutes of training, "
            "start again). --n-layer/--n-head/--n-embd/--context size the GPT-2 only. Under torchrun "
            "(torchrun --nproc_per_node N -m bopbot train ...) the GPT-2 trains with DistributedDataParallel, "
            "gloo on CPUs and NCCL on GPUs, on the same batches as one process; a checkpoint resumes under any "
            "number of processes."
        ),
    )
    parser.add_argument("corpus", help="corpus folder made by `bopbot extract`")
    parser.add_argument("--model", required=True, help="model folder holding the vocabulary; the generator is written there")
    # the options without a default here (None: not given) are refused where the training does not read them
    parser.add_argument("--generator", choices=GENERATOR_NAMES, default=None,
                        help="gpt2 (default); gpt2-music (the GPT-2 that hears the music, into MODEL_DIR/music); "
                             "lstm (mixture density over poses); random, ngram, nearest (baselines)")
    parser.add_argument("--decoder", action="store_true",
                        help="train the word decoder (pose words back into movement) instead")
    parser.add_argument("--travel", action="store_true",
                        help="train the travel model (where the dancer goes, read from the poses) instead")
    gpt2 = {"steps": settings.steps, "batch_size": settings.batch_size, "learning_rate": settings.learning_rate}

    def defaults(name: str) -> str:
        return "default: " + ", ".join(f"{who} {value:g}" for who, value in
                                       (("GPT-2", gpt2[name]), *OTHER_DEFAULTS[name].items()))

    parser.add_argument("--steps", type=int, default=None, help=f"optimiser steps ({defaults('steps')})")
    parser.add_argument("--batch-size", type=int, default=None, help=f"({defaults('batch_size')})")
    parser.add_argument("--learning-rate", type=float, default=None,
                        help=f"AdamW's peak learning rate ({defaults('learning_rate')})")
    parser.add_argument("--eval-every", type=int, default=None, help=f"steps between validation and checkpoint (default: GPT-2 {settings.eval_every})")
    parser.add_argument("--n-layer", type=int, default=None, help=f"GPT-2 layers (default {size.n_layer})")
    parser.add_argument("--n-head", type=int, default=None, help=f"GPT-2 attention heads (default {size.n_head})")
    parser.add_argument("--n-embd", type=int, default=None, help=f"GPT-2 width (default {size.n_embd})")
    parser.add_argument("--context", type=int, default=None,
                        help=f"GPT-2 context window in words, 20 a second (default {size.n_positions})")
    parser.add_argument("--dropout", type=float, default=None, help=f"GPT-2 dropout (default {size.dropout:g})")
    parser.add_argument("--validation-fraction", type=float, default=None,
                        help=f"share of the inputs held out for validation (default {settings.validation_fraction:g})")
    parser.add_argument("--device", default=None,
                        help="where the GPT-2 or the LSTM trains: auto (CUDA when present; the default), cpu or cuda")
    parser.add_argument("--seed", type=int, default=None, help=f"random seed (default {settings.seed})")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ...models.model_folder import check_model_folder
    from ...reading import file_problem
    from ...vocabulary.vocabulary import FILENAME

    check_apart([args.corpus], folders=[args.model])  # a model inside the corpus would be read as part of it
    if os.path.lexists(args.model):  # a loop of links is one, not a folder without a vocabulary
        check_model_folder(args.model)
    if file_problem(Path(args.model) / FILENAME) == "missing":  # anything else wrong with it is said as it loads
        raise BopBotError(Path(args.model) / FILENAME, "missing: make the model folder with `bopbot vocab` first")
    if args.travel and args.decoder:
        raise BopBotError(None, "--decoder and --travel are two trainings: run one, then the other")
    _refuse_unused_options(args)
    _fill_defaults(args)
    if args.n_embd % args.n_head:
        raise BopBotError(None, f"--n-embd ({args.n_embd}) must be a multiple of --n-head ({args.n_head})")
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and (args.travel or args.decoder or args.generator not in ("gpt2", "gpt2-music")):
        raise BopBotError(None, "only the GPT-2 trains in many processes (torchrun); train the others in one")
    # one run at a time in a model folder (under torchrun, the main process holds it for all)
    held = held_folder(args.model, "training in it") if not int(os.environ.get("RANK", "0")) else nullcontext()
    with held:
        try:
            if args.travel:
                return _train_travel(args)
            if args.decoder:
                return _train_decoder(args)
            if args.generator == "lstm":
                return _train_lstm(args)
            if args.generator not in ("gpt2", "gpt2-music"):
                return _train_baseline(args)
            return _train_gpt2(args)
        except (MemoryError, RuntimeError) as exc:  # torch.OutOfMemoryError is a RuntimeError
            if not isinstance(exc, MemoryError) and not any(said in str(exc) for said in OUT_OF_MEMORY):
                raise
            raise BopBotError(None, f"ran out of memory training ({type(exc).__name__}): try a smaller --batch-size"
                                    f"{'' if args.travel or args.decoder else ' (a checkpoint, if one was written, resumes)'}") from None


#: What torch's errors say when memory runs out: on the CPU (DefaultCPUAllocator: can't allocate
#: memory) and on a GPU (torch.OutOfMemoryError: CUDA out of memory).
OUT_OF_MEMORY = ("can't allocate memory", "DefaultCPUAllocator", "out of memory")


#: The GPT-2's size, which only the GPT-2s read.
GPT2_SIZE = ("n_layer", "n_head", "n_embd", "context", "dropout")
#: The options each training reads (by their names in `args`); one it does not read, given, is
#: refused rather than silently ignored, as `bopbot dance` refuses a sampling option its generator
#: does not read. Not given, each is None until `_fill_defaults`.
READS = {
    "gpt2": ("generator", "steps", "batch_size", "learning_rate", "eval_every", "device", "validation_fraction",
             "seed", *GPT2_SIZE),
    "lstm": ("generator", "steps", "batch_size", "learning_rate", "eval_every", "device", "validation_fraction", "seed"),
    "decoder": ("steps", "batch_size", "learning_rate", "validation_fraction", "seed"),
    "travel": ("steps", "batch_size", "learning_rate", "validation_fraction", "seed"),
    "ngram": ("generator", "validation_fraction", "seed"), "nearest": ("generator", "validation_fraction", "seed"),
    "random": ("generator",),  # it needs no training
}
READS["gpt2-music"] = READS["gpt2"]
#: Every option some training reads, in the order --help lists them.
OPTIONS = ("generator", "steps", "batch_size", "learning_rate", "eval_every", *GPT2_SIZE, "validation_fraction",
           "device", "seed")


def _refuse_unused_options(args: argparse.Namespace) -> None:
    generator = args.generator or "gpt2"
    training = "decoder" if args.decoder else "travel" if args.travel else generator
    what = {"decoder": "the word decoder", "travel": "the travel model", "lstm": "the LSTM", "gpt2": "the GPT-2",
            "gpt2-music": "the music-aware GPT-2"}.get(training, f"the {training} baseline")
    given = [f"--{name.replace('_', '-')}" for name in OPTIONS
             if getattr(args, name) is not None and name not in READS[training]]
    if given:
        them = "it" if len(given) == 1 else "them"
        raise BopBotError(None, f"{', '.join(given)}: training {what} does not read {them}; leave {them} out")


def _fill_defaults(args: argparse.Namespace) -> None:
    """The defaults of the options not given that have one whatever is trained (the GPT-2's size, the
    split, the seed, the generator); the others' depend on the training (`OTHER_DEFAULTS`)."""
    from ...models.language_model import GPT2Size
    from ...models.train import TrainSettings

    size, settings = GPT2Size(), TrainSettings()
    defaults = {"generator": "gpt2", "n_layer": size.n_layer, "n_head": size.n_head, "n_embd": size.n_embd,
                "context": size.n_positions, "dropout": size.dropout,
                "validation_fraction": settings.validation_fraction, "seed": settings.seed}
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)


def _train_gpt2(args: argparse.Namespace) -> int:
    from ...models.language_model import GPT2Size
    from ...models.model_folder import update_pipeline_info
    from ...models.train import TrainSettings, train

    size = GPT2Size(args.n_layer, args.n_head, args.n_embd, args.context, args.dropout)
    defaults = TrainSettings()
    settings = TrainSettings(
        steps=args.steps or defaults.steps, batch_size=args.batch_size or defaults.batch_size,
        learning_rate=args.learning_rate or defaults.learning_rate, eval_every=args.eval_every or defaults.eval_every,
        validation_fraction=args.validation_fraction, seed=args.seed, device=args.device or "auto",
    )
    music = args.generator == "gpt2-music"
    report = train(args.corpus, args.model, size, settings, progress=show_progress(args), music=music)
    if int(os.environ.get("RANK", "0")):  # the main process of a torchrun says what was trained
        return 0
    update_pipeline_info(args.model, **{"music_training" if music else "training": {**vars(report), "size": size.to_json()}})
    processes = f" by {report.processes} processes" if report.processes > 1 else ""
    print(f"trained {args.generator} in {args.model}{processes}: {report.steps} steps on {report.train_tokens} words in {report.seconds / 60:.1f} min "
          f"({report.tokens_per_second:.0f} words/s); validation perplexity {report.validation_perplexity:.2f} "
          f"on {report.validation_tokens} held-out words")
    return 0


def _train_lstm(args: argparse.Namespace) -> int:
    from ...models.train_lstm import LSTMSettings, train_lstm
    from ...models.model_folder import update_pipeline_info

    defaults = LSTMSettings()
    settings = LSTMSettings(
        steps=args.steps or defaults.steps, batch_size=args.batch_size or defaults.batch_size,
        learning_rate=args.learning_rate or defaults.learning_rate, eval_every=args.eval_every or defaults.eval_every,
        validation_fraction=args.validation_fraction, seed=args.seed, device=args.device or "auto",
    )
    report = train_lstm(args.corpus, args.model, settings=settings, progress=show_progress(args))
    update_pipeline_info(args.model, lstm=vars(report))
    print(f"trained the LSTM in {args.model}: {report.steps} steps in {report.seconds / 60:.1f} min; "
          f"validation NLL {report.validation_loss:.3f} per frame")
    return 0


def _train_travel(args: argparse.Namespace) -> int:
    from ...models.model_folder import update_pipeline_info
    from ...models.train_travel import TravelSettings, train_travel

    defaults = TravelSettings()
    settings = TravelSettings(steps=args.steps or defaults.steps, batch_size=args.batch_size or defaults.batch_size,
                              learning_rate=args.learning_rate or defaults.learning_rate,
                              validation_fraction=args.validation_fraction, seed=args.seed)
    report = train_travel(args.corpus, args.model, settings, progress=show_progress(args))
    update_pipeline_info(args.model, travel=vars(report))
    explained = ", ".join(f"{name} {'n/a (the validation hips never move so)' if value is None else format(value, '.2f')}"
                          for name, value in report.validation_r2.items())
    print(f"trained the travel model in {args.model} on {report.frames} steps in {report.seconds:.0f} s; "
          f"validation R² {explained}")
    return 0


def _train_decoder(args: argparse.Namespace) -> int:
    from ...models.train_decoder import DecoderSettings, train_decoder
    from ...models.travel import WEIGHTS as TRAVEL_WEIGHTS
    from ...models.model_folder import update_pipeline_info

    defaults = DecoderSettings()
    settings = DecoderSettings(steps=args.steps or defaults.steps, batch_size=args.batch_size or defaults.batch_size,
                               learning_rate=args.learning_rate or defaults.learning_rate,
                               validation_fraction=args.validation_fraction, seed=args.seed)
    report = train_decoder(args.corpus, args.model, settings, progress=show_progress(args))
    update_pipeline_info(args.model, decoder=vars(report))
    learnt, curve = report.validation["decoder"], report.validation["word_motion"]
    print(f"trained the word decoder in {args.model} on {report.frames} frames in {report.seconds / 60:.1f} min; "
          f"on the validation dances: joint error {learnt['joint_error']:.3f} torso lengths (word_motion "
          f"{curve['joint_error']:.3f}), joint speed {learnt['speed_ratio']:.2f}x the real (word_motion "
          f"{curve['speed_ratio']:.2f}x)")
    if os.path.lexists(Path(args.model) / TRAVEL_WEIGHTS):  # it learnt from the movement before this decoder's
        warnings.warn(f"{Path(args.model) / TRAVEL_WEIGHTS}: the travel model was trained on the movement before "
                      f"this decoder, and reads the dancer's steps from it: train it again with `bopbot train "
                      f"{args.corpus} --model {args.model} --travel`")
    return 0


def _train_baseline(args: argparse.Namespace) -> int:
    if args.generator == "random":
        print(f"the random baseline needs no training: it draws words by how often {args.model}'s vocabulary "
              "met them in its corpus")
        return 0
    from ...data.corpus import Corpus
    from ...models.baselines import train_baseline
    from ...models.train import encode_corpus
    from ...vocabulary.vocabulary import PoseVocabulary

    vocabulary = PoseVocabulary.load(args.model)
    train_ids, _ = encode_corpus(Corpus(args.corpus), vocabulary, args.validation_fraction, args.seed, show_progress(args))
    train_baseline(args.generator, train_ids, args.model, vocabulary.k)
    print(f"trained the {args.generator} baseline in {args.model} on {len(train_ids)} words")
    return 0
