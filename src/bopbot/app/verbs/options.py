"""What several verbs share: exit codes, option types, and the sampling options of `dance` and `demo`."""

from __future__ import annotations

import argparse
import math
import sys
import warnings

from ...models.generators import NAMES as GENERATOR_NAMES
from ...models.generators import check_reads

EXIT_BAD_INPUT = 1
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130
#: The reader of stdout went away (`bopbot tokens ... | head`): what a shell shows for a tool SIGPIPE ended.
EXIT_NO_READER = 141


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars only where someone watches: not with --quiet, and not into a file or a pipe."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def yaws(text: str) -> tuple[float, ...]:
    """`--yaws`: comma-separated finite degrees."""
    try:
        angles = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        angles = (float("nan"),)
    if not all(math.isfinite(angle) for angle in angles):
        raise argparse.ArgumentTypeError(f"yaws must be comma-separated degrees, e.g. 0,90,180; got {text!r}")
    return angles


def _number(text: str) -> float:
    """`text` as a float; NaN (which no range holds) where it is not a number."""
    try:
        return float(text)
    except ValueError:
        return float("nan")


def degrees(text: str) -> float:
    """`--facing`: an angle in (0, 180] degrees."""
    value = _number(text)
    if not 0 < value <= 180:
        raise argparse.ArgumentTypeError(f"must be degrees in (0, 180], got {text!r}")
    return value


def positive(text: str) -> float:
    """A number above 0 (its range is `limits.LIMITS`'s to check)."""
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def sampling_arguments(parser: argparse.ArgumentParser, seconds: float = 10.0, gif_option: bool = True,
                       seed: int | None = None, has_input: bool = True) -> None:
    """The options `dance` and `demo` share; `seconds` is the new dance's default length, `gif_option`
    offers --gif (the demo always writes its GIF), `seed` is the default seed (None: a new dance
    each time), and `has_input` says the verb reads an input, whose music --music replaces."""
    parser.add_argument("--model", default=None, help="model folder (default: the model embedded in BopBot)")
    parser.add_argument("--generator", choices=GENERATOR_NAMES, default="gpt2",
                        help="gpt2 (default), gpt2-music (the GPT-2 that hears the music, where the model has one), "
                             "lstm, or a baseline: random, ngram, nearest")
    # None where not given, so that an option the generator does not read is refused (`sampling_options`)
    parser.add_argument("--temperature", type=float, default=None, help="sampling temperature (default 1.0)")
    parser.add_argument("--top-k", type=int, default=None, help="GPT-2s: sample from the K likeliest words (default 0: all)")
    parser.add_argument("--top-p", type=float, default=None,
                        help="GPT-2s: nucleus sampling mass (default 1.0: the whole distribution; see docs/sweeps.md)")
    parser.add_argument("--seed", type=int, default=seed, help="random seed, for a repeatable dance (default" +
                        (": a new dance each time)" if seed is None else f" {seed}: the same dance each time)"))
    parser.add_argument("--echo", type=float, default=None,
                        help="GPT-2s: favour the user's own pose words by this many nats, fading over the first seconds "
                             "(default 2, chosen in docs/sweeps.md; 0: off)")
    parser.add_argument("--seconds", type=float, default=None,
                        help=f"seconds of new dance (default {seconds:g}; with --music, the rest of the song up to 60)")
    if gif_option:
        parser.add_argument("--gif", action="store_true",
                            help="also write a GIF beside the MP4, for sharing (continue and skeleton layouts: the "
                                 "last 4 s of your dance, then the new one)")
    parser.add_argument("--music", metavar="FILE", default=None,
                        help="dance to this song (any audio or video file with sound)"
                             + (" instead of the input's own music" if has_input else " (default: no music)"))


def sampling_options(args: argparse.Namespace):
    """The `Sampling` the options ask for (its defaults where not given); an option the generator does
    not read is refused rather than silently ignored."""
    from ...models.sampling import Sampling

    given = {name: getattr(args, name) for name in ("temperature", "top_k", "top_p", "echo")
             if getattr(args, name) is not None}
    check_reads(args.generator, given, lambda name: f"--{name.replace('_', '-')}")
    sampling = Sampling(seed=args.seed, **given)
    sampling.check()
    if args.music is not None:
        from ...music.audio import check_music

        check_music(args.music)
    return sampling


def new_dance_seconds(args: argparse.Namespace, default: float) -> float | None:
    """The new dance's length: as asked, else the rest of the song (None) with --music, else `default`."""
    return args.seconds if args.seconds is not None else (None if args.music else default)


def sampling_keywords(sampling) -> dict:
    """The sampling settings as `Dancer.dance` takes them."""
    return {"seed": sampling.seed, "temperature": sampling.temperature, "top_k": sampling.top_k,
            "top_p": sampling.top_p, "echo": sampling.echo}


def print_dance(new, video, frames: int, gif=None, poses=None, exports: dict | None = None,
                continued: str = "from the input") -> None:
    """What `bopbot dance` and `demo` wrote: `new` is the `api.NewDanceResult`, `video` its MP4;
    `continued` says where the seconds it danced on from came from."""
    from ...errors import shown

    print(f"wrote {shown(video)} ({frames} frames at 20 fps): {len(new.keypoints) / 20:g} s of new dance "
          f"after {new.written.context_words / 20:g} s {continued}")
    if new.music is None:
        print("no music: the new dance keeps its own time (give --music FILE to dance to a song)")
    elif not new.tempo:
        warnings.warn(f"{new.music}: no beat found in the music; the new dance keeps its own time")
    elif not new.beats:  # a dance shorter than a beat, between two, or away from a song's only beat
        warnings.warn(f"{new.music}: none of its beats falls in the {len(new.keypoints) / 20:g} s of new dance; "
                      "the new dance keeps its own time")
    else:
        print(f"danced to {shown(new.music.name)}: {new.beats} beat{'s' if new.beats != 1 else ''} at "
              f"{new.tempo:.0f} beats a minute, "
              f"{new.phrasing}")
    loop = new.music_loop
    if loop is not None:
        splice, start, seconds = loop
        print(f"  the music ends before the dance: from {splice:.1f} s into it, its {seconds:.1f} s from {start:.1f} s "
              "play again and again, on the beat")
    elif new.music is not None and new.unheard_seconds >= 0.5:
        seconds = len(new.keypoints) / 20
        print(f"  its sound ends {seconds - new.unheard_seconds:.1f} s into the new dance, which dances on to its beat "
              "in silence (give --music FILE for a song under all of it)")
    for extra in (gif, poses):
        if extra is not None:
            print(f"wrote {shown(extra)}")
    for folder, count in (exports or {}).items():
        print(f"wrote {shown(folder)}: {count} frames")
