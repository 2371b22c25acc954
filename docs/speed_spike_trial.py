"""Fast moves: how often the new dance's joint speed spikes, against real dancing, and at which stage
the spikes come in.

Speed is `beats.mean_joint_speed` of normalised poses (centred on the hips, in torso lengths: the
travel and the framing do not count), per frame. A spike is a run of frames faster than `SPIKE`
times the dance's median speed, counted per 10 s; beside it the dance's fastest frame over its
median.

The held-out stretches, cut as docs/user_trial.py cuts them (8 s of context, then the real next
10 s): the real next 10 s; its own words decoded after the context's (`WordMover.move`: the
decoder alone, on real words); the GPT-2's next 10 s of words decoded as written (`continue_dance`:
no pace, no join, no frame); and the new dance as `choreograph` shows it (at the user's pace). For
the words: jumps between consecutive words' poses farther than `FAR` torso lengths, per 10 s, and
the Fano factor of the word changes counted in half seconds (about 1 for changes at random times,
below 1 for a steady flow of changes, above for holds broken by bursts).

Then each phone clip of ../shared/data/dance_videos as `bopbot dance CLIP --seconds 10 --seed S`
runs it (to the clip's own music where it has some: there the beat warp sets the pace), beside the
user's own clip. `--accent A` plays the beat warp with that accent (default `retime.ACCENT`).

Seeds 0 to 2; each figure the mean [95% bootstrap interval over dances].

Run: .venv/bin/python docs/speed_spike_trial.py [--accent A]   (needs ../shared/data)
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import numpy as np

from bopbot.choreography.choreograph import choreograph
from bopbot.choreography.dance import Dance
from bopbot.choreography.user_dance import UserDance, read_user_dance
from bopbot.data.normalise import normalise
from bopbot.data.pose_sequence import CORPUS_FPS, PoseSequence
from bopbot.evaluation.settings import EvalSettings
from bopbot.evaluation.stretches import cut_stretches, held_out_views
from bopbot.models.model_folder import Choreographer
from bopbot.models.sampling import Sampling
from bopbot.music import retime
from bopbot.music.beats import mean_joint_speed

HOLDOUT = Path(__file__).resolve().parents[1] / "training" / "holdout_inputs.txt"
CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "dance_videos"
SEEDS = (0, 1, 2)
#: A frame faster than this many times the dance's median speed is part of a spike.
SPIKE = 3.0
#: Consecutive words whose poses are farther apart than this (mean joint distance, torso lengths) jump.
FAR = 0.3
TEN_SECONDS = round(10 * CORPUS_FPS)
HALF_SECOND = round(0.5 * CORPUS_FPS)


def interval(values: list[float], resamples: int = 1000) -> str:
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(0)
    means = rng.choice(values, size=(resamples, len(values))).mean(axis=1)
    return f"{values.mean():.2f} [{np.percentile(means, 2.5):.2f}, {np.percentile(means, 97.5):.2f}]"


def spikes(poses: np.ndarray) -> dict[str, float]:
    """Spikes per 10 s of (T, 17, 3) normalised poses, and their fastest frame over their median."""
    speed = mean_joint_speed(poses, CORPUS_FPS)
    median = np.nanmedian(speed)
    over = speed > SPIKE * median
    starts = np.count_nonzero(over[1:] & ~over[:-1]) + int(over[0])
    return {"spikes / 10 s": starts * TEN_SECONDS / len(speed), "fastest / median": float(np.nanmax(speed) / median)}


def word_flow(ids: np.ndarray, poses: np.ndarray) -> dict[str, float]:
    """Far jumps per 10 s between consecutive words of `ids` (their poses: the vocabulary's centroids),
    and the Fano factor of the word changes counted in half seconds."""
    changes = ids[1:] != ids[:-1]
    jumps = np.linalg.norm(poses[ids[1:]] - poses[ids[:-1]], axis=2).mean(axis=1)
    halves = changes[:len(changes) // HALF_SECOND * HALF_SECOND].reshape(-1, HALF_SECOND).sum(axis=1)
    return {f"jumps over {FAR:g} / 10 s": np.count_nonzero(jumps > FAR) * TEN_SECONDS / len(ids),
            "Fano of changes": float(halves.var() / halves.mean()) if halves.mean() > 0 else np.nan}


def add(rows: dict[str, dict[str, list]], row: str, figures: dict[str, float]) -> None:
    """Each of one dance's `figures` appended to its column of `row`."""
    for name, value in figures.items():
        rows.setdefault(row, {}).setdefault(name, []).append(value)


def held_out(model: Choreographer) -> dict[str, dict[str, list]]:
    """Every figure of every held-out stretch, by row."""
    settings = EvalSettings(yaws=(0.0,), follow=True)
    centroids = np.asarray(model.vocabulary.centroids_)[:, :, :2]
    frames = round(settings.seconds * CORPUS_FPS)
    rows: dict[str, dict[str, list]] = {}
    for test in cut_stretches(held_out_views([str(HOLDOUT)], settings), settings).tests:
        group = "phone clips" if test.camera == "video" else "mocap, from the front"
        real_ids = model.vocabulary.encode(test.continuation)
        decoded = model.generator.mover.move(real_ids, before=model.vocabulary.encode(test.context))
        add(rows, f"{group}: the real next 10 s", {**spikes(test.continuation), **word_flow(real_ids, centroids)})
        add(rows, f"{group}: its words decoded", spikes(decoded))
        user = UserDance(PoseSequence(test.context_keypoints(), CORPUS_FPS, test.size, test.name), test.context,
                         test.context_placement, None, None)
        for seed in SEEDS:
            written = model.generator.continue_dance(test.context, frames, Sampling(seed=seed))
            add(rows, f"{group}: the GPT-2's words decoded", {**spikes(written.poses), **word_flow(written.ids, centroids)})
            shown = choreograph(model, user, settings.seconds, Sampling(seed=seed)).keypoints
            add(rows, f"{group}: bopbot dance", spikes(normalise(shown)[0]))
    return rows


def phone_clips(model: Choreographer) -> dict[str, dict[str, list]]:
    """The user's clip and the new dances of each phone clip, by row."""
    rows: dict[str, dict[str, list]] = {}
    for clip in sorted(CLIPS.glob("*.mp4")):
        user = read_user_dance(str(clip))
        dances = [Dance(model, user, 10.0, Sampling(seed=seed)) for seed in SEEDS]
        row = "clips with music" if dances[0].music is not None else "clips without music"
        add(rows, f"{row}: the user's clip", spikes(user.poses))
        for seed, dance in zip(SEEDS, dances):
            figures = spikes(normalise(dance.new.keypoints)[0])
            print(f"{clip.stem} seed {seed}: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()), flush=True)
            add(rows, f"{row}: bopbot dance", figures)
    return rows


def table(rows: dict[str, dict[str, list]]) -> None:
    names = list(dict.fromkeys(name for figures in rows.values() for name in figures))
    print("\n| | " + " | ".join(names) + " | dances |")
    print("|---" * (len(names) + 2) + "|")
    for row, figures in rows.items():
        cells = [interval(figures[name]) if name in figures else "" for name in names]
        print(f"| {row} | " + " | ".join(cells) + f" | {len(next(iter(figures.values())))} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accent", type=float, default=retime.ACCENT, help="the beat warp's accent")
    args = parser.parse_args()
    retime.beat_warp = partial(retime.beat_warp, accent=args.accent)
    model = Choreographer.load(None)
    table(phone_clips(model))
    table(held_out(model))


if __name__ == "__main__":
    main()
