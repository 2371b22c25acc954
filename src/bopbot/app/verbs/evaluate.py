"""`bopbot evaluate`: every generator scored against held-out dances, with intervals."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...errors import BopBotError
from ...models.generators import NAMES as GENERATOR_NAMES
from .options import positive, show_progress, yaws

SUMMARY = "score generated dances against real held-out dances, with intervals"


def add_parser(verbs: argparse._SubParsersAction) -> None:
    from ...evaluation.settings import EvalSettings

    settings = EvalSettings()
    parser = verbs.add_parser(
        "evaluate", help=SUMMARY,
        description=(
            "Cut every held-out dance into stretches, give each generator the first seconds of each "
            "stretch, let it continue, and score the dances (FID_k, FID_g, Div_k, Div_g, perplexity, unique "
            "words, copy length, jitter; the Beat Align Score of real dances with their music beside a "
            "shifted-music null) against the training pool. Beside them: the real continuations, real "
            "validation dances as the noise floor, and the real continuation through the pose words. "
            "Every figure has a 95% bootstrap interval over stretches. Writes report.md with plots, "
            "results.json, and features.npz (every dance's features, to resample again)."
        ),
    )
    parser.add_argument("heldout", nargs="+", help="held-out dances (files, folders, .txt lists)")
    parser.add_argument("--model", default=None, help="model folder (default: the embedded model)")
    parser.add_argument("--corpus", required=True, help="the corpus the model was trained on (the training pool)")
    parser.add_argument("--generators", default=None,
                        help=f"comma-separated, from {', '.join(GENERATOR_NAMES)}, each also with +beats (its "
                             "dances played on the beat of the take's music; default: all the model folder has, "
                             "and gpt2+beats and gpt2-music+beats)")
    parser.add_argument("-o", "--output", default="evaluation",
                        help="report folder: new, empty, or an earlier evaluation's (default ./evaluation)")
    parser.add_argument("--yaws", type=yaws, default=settings.yaws, help="cameras for 3D dances (default 0,90,180,270)")
    parser.add_argument("--follow", action="store_true",
                        help="film the 3D dances with cameras that turn with the dancer, --yaws measured from where "
                             "the dancer faces (the views phone users film); give a --corpus extracted with --follow")
    parser.add_argument("--seeds", type=int, default=settings.seeds,
                        help=f"samples per stretch, camera and generator (default {settings.seeds})")
    parser.add_argument("--context-seconds", type=positive, default=settings.context_seconds,
                        help=f"real dance each generator continues (default {settings.context_seconds:g})")
    parser.add_argument("--min-context-seconds", type=positive, default=settings.min_context_seconds,
                        help=f"shortest context for a short take (default {settings.min_context_seconds:g})")
    parser.add_argument("--seconds", type=positive, default=settings.seconds,
                        help=f"seconds to continue, and the stride between stretches (default {settings.seconds:g})")
    # the sampling settings: None where not given, so that one none of the generators reads is refused
    parser.add_argument("--temperature", type=positive, default=None,
                        help=f"sampling temperature (default {settings.temperature:g})")
    parser.add_argument("--top-k", type=int, default=None,
                        help=f"GPT-2s: sample from the K likeliest words, 0: all (default {settings.top_k})")
    parser.add_argument("--top-p", type=float, default=None,
                        help=f"GPT-2s: nucleus sampling mass (default {settings.top_p:g})")
    parser.add_argument("--echo", type=float, default=None,
                        help=f"GPT-2s: favour the context's words, in nats, fading (default {settings.echo:g})")
    parser.add_argument("--resamples", type=int, default=settings.resamples,
                        help=f"bootstrap resamples for the intervals (default {settings.resamples})")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from ...evaluation.evaluate import ON_THE_BEAT, EvalSettings, evaluate
    from ...evaluation.report import CONTINUITY, REPORT_FILES, markdown_table, write_report
    from ...files import check_apart, check_writable
    from ...ingest.extract import expand_inputs
    from ...models.generators import check_read_by_any
    from ...models.model_folder import DEFAULT_MODEL, check_model_folder

    if args.model is not None:  # a loop of links is named as one, not by the first file looked for in it
        check_model_folder(args.model)
    sampling = {name: getattr(args, name) for name in ("temperature", "top_k", "top_p", "echo")
                if getattr(args, name) is not None}
    settings = EvalSettings(context_seconds=args.context_seconds, min_context_seconds=min(args.min_context_seconds,
                            args.context_seconds), seconds=args.seconds, yaws=args.yaws, follow=args.follow,
                            seeds=args.seeds, resamples=args.resamples, **sampling)
    generators = [g.strip() for g in args.generators.split(",") if g.strip()] if args.generators else None
    if generators is None:  # every generator the folder has (the README's model has no LSTM, n-gram or nearest)
        from ...models.generators import trained_generators

        generators = trained_generators(args.model or DEFAULT_MODEL)
        generators += [f"{g}+beats" for g in ("gpt2", "gpt2-music") if g in generators]
    # a setting none of them reads is refused, as `bopbot dance` refuses one its generator does not read
    check_read_by_any([name.removesuffix(ON_THE_BEAT) for name in generators], sampling,
                      lambda name: f"--{name.replace('_', '-')}")
    walked = [item for item in args.heldout if Path(item).is_dir()]
    check_apart([*expand_inputs(args.heldout), *walked, args.corpus, args.model or DEFAULT_MODEL],
                files=[Path(args.output) / name for name in REPORT_FILES], folders=[args.output])
    check_writable(Path(args.output) / "report.md")  # said before the minutes of work, not after
    _check_report_folder(Path(args.output))
    result = evaluate(args.model or DEFAULT_MODEL, args.corpus, args.heldout, generators, settings, show_progress(args))
    report = write_report(result, args.output, "bopbot " + " ".join(sys.argv[1:]))
    print(markdown_table(result["table"]))
    print(markdown_table(result["table"], CONTINUITY))
    print(f"wrote {report}")
    return 0


def _check_report_folder(output: Path) -> None:
    """Refuse a folder that holds files but no earlier evaluation: the report's files (`report.md`,
    `results.json`, the plots, `features.npz`) would replace a user's own of those names there, and
    mix among the others. A new or empty folder, or an evaluation's (its `results.json` says so),
    is written, as `extract` writes only into a new or empty folder or a corpus, and `vocab` into
    one or a model folder."""
    from ...evaluation.report import REPORT_FILES
    from ...files import TMP_PREFIX
    from ...reading import file_problem, read_json

    if not output.is_dir():
        return
    held = sorted(item.name for item in output.iterdir() if not item.name.startswith(TMP_PREFIX))
    results = output / "results.json"
    if not held or file_problem(results) != "missing" and _is_evaluation(read_json(results, "evaluation results")):
        return
    example = next((name for name in REPORT_FILES if name in held), held[0])
    raise BopBotError(output, f"holds files but no evaluation (e.g. {example}): give a new or empty folder, or an "
                              "evaluation's folder to write it again")


def _is_evaluation(results) -> bool:
    """Whether `results` (a results.json read) is what `bopbot evaluate` writes."""
    return isinstance(results, dict) and {"settings", "table"} <= results.keys()
