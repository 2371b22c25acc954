"""Does the new dance count in eight-counts? `bopbot dance --music` on the held-out phone clips, to
click tracks whose bars and phrases are accented, measured by the dance's self-similarity.

The held-out phone clips of `training/holdout_inputs.txt` are cut as `bopbot evaluate` cuts them,
and each clip's first stretch with a full 8 s of context is the user's dance (as in
`beat_lock_trial.py`). Each is continued for 20 s by `choreograph`, the function `bopbot dance`
calls, with the model's default sampling and seeds 0, 1, 2, to click tracks of 90, 120 and 140
beats a minute whose clicks are accented as a count of eight is (the phrase's first beat loudest,
the second bar's first beat next, the rest quiet), the song starting with the new dance: 18 dances,
each danced twice, with the phrase repeat as `bopbot dance` has it (`Sampling.repeat` nats) and
without it (0 nats, the control; the same seeds, the same beat warp).

First, the meter estimate: where the tracked eight-counts start against the accented clicks.
Then per dance: the self-similarity eight beats on against that at 3, 5, 6, 7, 9 and 10 beats
(`rhythm.phrase_similarity`, what `bopbot evaluate` reports), the similarity of each eight-count
that dances the one before again with that one (the same pooled Pearson r over the phrase's frames,
in the dance as shown), R at the beat for every reading of the dancer's beats (`rhythm.READINGS`:
the repeat must not cost the beat), and the distinct pose words in the 20 s. Mean and 95% bootstrap interval over the 18 dances, and the
paired difference from the control.

Run: .venv/bin/python docs/phrase_trial.py [--model FOLDER] [--repeat NATS]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from beat_lock_trial import FIRST_BEAT, HOLDOUT, RATE, write_wav

from bopbot.choreography.choreograph import choreograph
from bopbot.choreography.user_dance import Music, UserDance
from bopbot.data.normalise import normalise
from bopbot.data.pose_sequence import CORPUS_FPS, PoseSequence
from bopbot.evaluation.settings import EvalSettings
from bopbot.evaluation.stretches import cut_stretches, held_out_views
from bopbot.evaluation.rhythm import READINGS, phrase_similarity, vector_strength
from bopbot.ingest.extract import expand_inputs, kind_of
from bopbot.models.model_folder import Choreographer
from bopbot.models.sampling import Sampling
from bopbot.music.beats import PHRASE_BEATS, music_beats

TEMPOS = (90, 120, 140)
SEEDS = (0, 1, 2)
DANCE_SECONDS = 20.0
SONG_SECONDS = 24.0
#: The clicks' loudness through a count of eight: the phrase's first beat, then the second bar's.
ACCENTS = (1.0, 0.4, 0.4, 0.4, 0.7, 0.4, 0.4, 0.4)


def counted_clicks(bpm: float, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """(samples, click times): a 30 ms 1 kHz tick on each beat from `FIRST_BEAT` s, accented by `ACCENTS`."""
    samples = np.zeros(int(seconds * RATE))
    blip = np.arange(int(0.03 * RATE)) / RATE
    tick = np.sin(2 * np.pi * 1000 * blip) * np.exp(-blip * 80)
    times = np.arange(FIRST_BEAT, seconds, 60.0 / bpm)
    for n, beat in enumerate(times):
        start = int(beat * RATE)
        samples[start:start + len(tick)] += tick[:len(samples) - start] * ACCENTS[n % len(ACCENTS)]
    return samples * 0.8, times


def repeat_similarity(keypoints: np.ndarray, starts: np.ndarray) -> float:
    """Pearson r, pooled over frames and coordinates, of each second eight-count of a pair with the
    first (phrases from `starts`, seconds), on normalised poses centred on the dance's mean."""
    poses = normalise(keypoints)[0].astype(np.float64)
    present = np.repeat(poses[:, :, 2:] > 0, 2, axis=2).reshape(len(poses), -1)
    features = poses[:, :, :2].reshape(len(poses), -1)
    features = np.where(present, features - features[present.all(axis=1)].mean(axis=0), 0.0)
    frames = [round(t * CORPUS_FPS) for t in starts] + [len(poses)]
    first, second = [], []
    for k in range(1, len(frames) - 1, 2):
        length = min(frames[k + 1] - frames[k], frames[k] - frames[k - 1])
        both = present[frames[k - 1]:frames[k - 1] + length] & present[frames[k]:frames[k] + length]
        first.append(features[frames[k - 1]:frames[k - 1] + length][both])
        second.append(features[frames[k]:frames[k] + length][both])
    if not first:
        return float("nan")
    return float(np.corrcoef(np.concatenate(first), np.concatenate(second))[0, 1])


def interval(values, resamples: int = 2000) -> str:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    means = np.random.default_rng(0).choice(values, size=(resamples, len(values))).mean(axis=1)
    return f"{values.mean():+.2f} [{np.percentile(means, 2.5):+.2f}, {np.percentile(means, 97.5):+.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: the embedded model)")
    parser.add_argument("--repeat", type=float, default=Sampling.repeat, help="the phrase repeat, in nats")
    args = parser.parse_args()
    settings = EvalSettings(yaws=(0.0,), follow=True)
    clips = [str(path) for path in expand_inputs([str(HOLDOUT)]) if kind_of(path) == "video"]
    tests = [t for t in cut_stretches(held_out_views(clips, settings), settings).tests if t.camera == "video"]
    firsts = {}
    for test in tests:
        if len(test.context) == round(settings.context_seconds * CORPUS_FPS):
            firsts.setdefault(test.name.split(" ")[0], test)
    model = Choreographer.load(args.model)
    users = {name: UserDance(PoseSequence(t.context_keypoints(), CORPUS_FPS, t.size, t.name), t.context,
                             t.context_placement, None, None) for name, t in firsts.items()}
    print(f"{len(users)} clips: {', '.join(users)}; phrase repeat {args.repeat:g} nats against 0", flush=True)
    rows = {"repeat": [], "control": []}
    with tempfile.TemporaryDirectory() as folder:
        songs = {}
        for bpm in TEMPOS:
            samples, clicks = counted_clicks(bpm, SONG_SECONDS)
            songs[bpm] = write_wav(Path(folder) / f"counted_{bpm}.wav", samples)
            track = music_beats(str(songs[bpm]))
            starts = track.phrase_starts(0.0, DANCE_SECONDS)
            wanted = clicks[::PHRASE_BEATS]  # from the song's start: the beats carry back before the first tracked
            wanted = wanted[wanted < DANCE_SECONDS]
            miss = np.abs(starts[:, None] - wanted[None, :]).min(axis=1) if len(starts) == len(wanted) else [np.inf]
            print(f"{bpm} bpm: eight-counts tracked at {np.round(starts, 2).tolist()} s; the phrase's accented "
                  f"clicks (the first tracked beat at {track.times[0]:.2f} s) at {np.round(wanted, 2).tolist()} s "
                  f"(furthest {np.max(miss) * 1000:.0f} ms)")
        for name, user in users.items():
            for seed in SEEDS:
                for bpm in TEMPOS:
                    period = 60.0 / bpm
                    starts = music_beats(str(songs[bpm])).phrase_starts(0.0, DANCE_SECONDS)
                    for kind, nats in (("repeat", args.repeat), ("control", 0.0)):
                        new = choreograph(model, user, DANCE_SECONDS, Sampling(seed=seed, repeat=nats),
                                          Music(songs[bpm], 0.0))
                        phrase = phrase_similarity(new.keypoints, CORPUS_FPS, period)
                        locked = [vector_strength(read(new.keypoints, CORPUS_FPS), period).strength
                                  for read in READINGS.values()]
                        rows[kind].append((phrase.at_phrase, phrase.elsewhere, repeat_similarity(new.keypoints, starts),
                                           len(set(new.words)), *locked))
                    print(f"{name} seed {seed} {bpm} bpm: " + "; ".join(
                        f"{kind} phrase {r[-1][0]:+.2f} elsewhere {r[-1][1]:+.2f} again {r[-1][2]:+.2f} words {r[-1][3]} "
                        f"R {r[-1][4]:.2f}" for kind, r in rows.items()), flush=True)
    repeat, control = np.array(rows["repeat"]), np.array(rows["control"])
    print(f"\n| {len(repeat)} dances | repeat {args.repeat:g} nats | control (0 nats) | paired difference |")
    print("|---|---:|---:|---:|")
    figures = {"self-similarity at 8 beats": lambda r: r[:, 0], "at 3, 5, 6, 7, 9, 10 beats": lambda r: r[:, 1],
               "8 beats minus elsewhere": lambda r: r[:, 0] - r[:, 1],
               "each second eight-count against the first": lambda r: r[:, 2], "distinct words in 20 s": lambda r: r[:, 3]}
    figures.update({f"R at the beat, {reading}": (lambda r, column=4 + n: r[:, column]) for n, reading in enumerate(READINGS)})
    for label, figure in figures.items():
        print(f"| {label} | {interval(figure(repeat))} | {interval(figure(control))} | "
              f"{interval(figure(repeat) - figure(control))} |")


if __name__ == "__main__":
    main()
