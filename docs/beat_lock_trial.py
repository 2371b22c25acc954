"""Does the new dance lock to the song's beat, and to its loudness? `bopbot dance --music` on the
held-out phone clips, measured by every reading of the dancer's beats in `evaluation.rhythm`.

The held-out phone clips of `training/holdout_inputs.txt` are cut as `bopbot evaluate` cuts them
(8 s of context, then the next 10 s), and each clip's first stretch (a full 8 s of context) is the
user's dance. Each is continued for 12 s by `choreograph`, the function `bopbot dance` calls, with
the model's default sampling and seeds 0, 1, 2, to click tracks of 90, 120 and 140 beats a minute
(a 30 ms 1 kHz tick on each beat from 0.25 s, 20 s long), the song starting with the new dance as
`--music` does without `--music-from-start`: 18 dances. Per reading of the dancer's beats: the
vector strength R at the period of the tracked beats (`beat_grid`; median over the 18 dances, and
their range), its chance level 1/sqrt(n) (median), and R and the Rayleigh p of the 18 dances'
events pooled by their phase from the tracked beats. The same dances written without music (the
same seeds, R at each track's period) are the control: what the warp adds.

Then the loudness: a 12 s song of clicks at 120 beats a minute over noise, its first 6 s 12 dB
louder than its last 6 s; per dance (2 clips x 6 seeds) the correlation of the music's RMS with
the dancer's mean joint speed over 1 s windows against the shifted-music null, and the dancer's
mean joint speed (normalised poses, torso lengths/s) in each half.

Run: .venv/bin/python docs/beat_lock_trial.py [--model FOLDER] [--generator NAME]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from bopbot.choreography.choreograph import choreograph
from bopbot.choreography.user_dance import Music, UserDance
from bopbot.data.normalise import normalise
from bopbot.data.pose_sequence import CORPUS_FPS, PoseSequence
from bopbot.evaluation.settings import EvalSettings
from bopbot.evaluation.stretches import cut_stretches, held_out_views
from bopbot.evaluation.rhythm import (
    READINGS,
    energy_correlation,
    music_envelope,
    pooled_vector_strength,
    vector_strength,
)
from bopbot.ingest.extract import expand_inputs, kind_of
from bopbot.models.model_folder import Choreographer
from bopbot.models.sampling import Sampling
from bopbot.music.beats import mean_joint_speed, music_beats

HOLDOUT = Path(__file__).resolve().parents[1] / "training" / "holdout_inputs.txt"
TEMPOS = (90, 120, 140)
SEEDS = (0, 1, 2)
#: The loudness song is danced with more seeds: its figure is one number a dance.
LOUDNESS_SEEDS = tuple(range(6))
DANCE_SECONDS = 12.0
SONG_SECONDS = 20.0
FIRST_BEAT = 0.25
RATE = 22050
#: The loudness song: its halves' amplitudes (12 dB apart) and length.
LOUD, QUIET, LOUDNESS_SECONDS = 0.8, 0.2, 12.0


def write_wav(path: Path, samples: np.ndarray) -> Path:
    """Mono 16-bit WAV of float samples (full scale 1) at `RATE`."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


def clicks(bpm: float, seconds: float) -> np.ndarray:
    """A 30 ms 1 kHz tick, decaying, on each beat from `FIRST_BEAT` s, at full scale."""
    samples = np.zeros(int(seconds * RATE))
    blip = np.arange(int(0.03 * RATE)) / RATE
    tick = np.sin(2 * np.pi * 1000 * blip) * np.exp(-blip * 80)
    for beat in np.arange(FIRST_BEAT, seconds, 60.0 / bpm):
        start = int(beat * RATE)
        samples[start:start + len(tick)] += tick[:len(samples) - start]
    return samples


def loudness_song(seconds: float) -> np.ndarray:
    """Clicks at 120 bpm over white noise, the first half at `LOUD`, the second at `QUIET`."""
    noise = np.random.default_rng(0).normal(0.0, 0.15, int(seconds * RATE))
    gain = np.where(np.arange(len(noise)) < len(noise) // 2, LOUD, QUIET)
    return gain * (clicks(120, seconds) + noise) * 0.8


def beat_grid(song: Path, seconds: float) -> tuple[float, float, float]:
    """(period, first beat, tempo) of the tracked beats of the song's first `seconds`: the period and
    first beat of the straight line through the beats by least squares, not their median gap, which
    the tracker's 23 ms frames round (0.511 s at 120 bpm: half a beat adrift after 12 s)."""
    track = music_beats(str(song))
    beats = track.between(0.0, seconds)
    period, first = np.polyfit(np.arange(len(beats)), beats, 1)
    return float(period), float(first), track.tempo


def span(values: list[float]) -> str:
    values = np.asarray(values, dtype=np.float64)
    return f"{np.nanmedian(values):.2f} ({np.nanmin(values):.2f} to {np.nanmax(values):.2f})"


def held_out_users() -> dict[str, UserDance]:
    """Each held-out phone clip's first stretch with a full 8 s of context, cut as `bopbot evaluate`
    cuts them, as the user's dance the trial continues: by clip name."""
    settings = EvalSettings(yaws=(0.0,), follow=True)
    clips = [str(path) for path in expand_inputs([str(HOLDOUT)]) if kind_of(path) == "video"]
    tests = [t for t in cut_stretches(held_out_views(clips, settings), settings).tests if t.camera == "video"]
    firsts = {}
    for test in tests:
        if len(test.context) == round(settings.context_seconds * CORPUS_FPS):
            firsts.setdefault(test.name.split(" ")[0], test)
    return {name: UserDance(PoseSequence(t.context_keypoints(), CORPUS_FPS, t.size, t.name), t.context,
                            t.context_placement, None, None) for name, t in firsts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model folder (default: the embedded model)")
    parser.add_argument("--generator", default="gpt2")
    args = parser.parse_args()
    model = Choreographer.load(args.model, args.generator)
    users = held_out_users()
    print(f"{len(users)} clips: {', '.join(u.sequence.source for u in users.values())}; generator {args.generator}",
          flush=True)

    with tempfile.TemporaryDirectory() as folder:
        songs = {bpm: write_wav(Path(folder) / f"clicks_{bpm}.wav", clicks(bpm, SONG_SECONDS) * 0.8) for bpm in TEMPOS}
        grids = {bpm: beat_grid(song, DANCE_SECONDS) for bpm, song in songs.items()}
        for bpm, (period, first, tempo) in grids.items():
            print(f"{bpm} bpm click track: tracked tempo {tempo:.1f}, beat period {period:.3f} s, first beat {first:.2f} s")
        events = {reading: {"music": [], "none": []} for reading in READINGS}
        periods, origins, tempos, seconds_taken = [], [], [], []
        for name, user in users.items():
            for seed in SEEDS:
                silent = choreograph(model, user, DANCE_SECONDS, Sampling(seed=seed)).keypoints
                for bpm in TEMPOS:
                    started = time.perf_counter()
                    new = choreograph(model, user, DANCE_SECONDS, Sampling(seed=seed), music=Music(songs[bpm], 0.0))
                    seconds_taken.append(time.perf_counter() - started)
                    periods.append(grids[bpm][0])
                    origins.append(grids[bpm][1])
                    tempos.append(bpm)
                    for reading, read in READINGS.items():
                        events[reading]["music"].append(read(new.keypoints, CORPUS_FPS))
                        events[reading]["none"].append(read(silent, CORPUS_FPS))
                    locked = vector_strength(events["normalised"]["music"][-1], periods[-1])
                    print(f"{name} seed {seed} {bpm} bpm: {new.beats} beats, normalised R {locked.strength:.2f} "
                          f"({locked.events} dips), {seconds_taken[-1]:.1f} s", flush=True)
        print(f"\nchoreograph with music: {np.median(seconds_taken):.1f} s a dance (median), "
              f"{max(seconds_taken):.1f} s at most\n")

        print("| reading | with music: R, median (range) | R at 90 / 120 / 140 bpm (median) | chance 1/sqrt(n) "
              "| events a dance | pooled R | pooled Rayleigh p | without music: R, median (range) | pooled p |")
        print("|---" * 9 + "|")
        for reading in READINGS:
            row = [reading]
            for kind in ("music", "none"):
                found = events[reading][kind]
                locking = [vector_strength(times, period) for times, period in zip(found, periods)]
                pooled = pooled_vector_strength(found, periods, origins)
                strengths = [lock.strength for lock in locking]
                if kind == "music":
                    by_tempo = [np.nanmedian([r for r, t in zip(strengths, tempos) if t == bpm]) for bpm in TEMPOS]
                    row += [span(strengths), " / ".join(f"{value:.2f}" for value in by_tempo),
                            f"{np.nanmedian([lock.chance for lock in locking]):.2f}",
                            f"{np.median([lock.events for lock in locking]):.0f}",
                            f"{pooled.strength:.2f}", f"{pooled.p:.2g}"]
                else:
                    row += [span(strengths), f"{pooled.p:.2g}"]
            print("| " + " | ".join(row) + " |")

        song = write_wav(Path(folder) / "loud_then_quiet.wav", loudness_song(LOUDNESS_SECONDS))
        envelope = music_envelope(song, CORPUS_FPS)
        half = round(LOUDNESS_SECONDS / 2 * CORPUS_FPS)
        print(f"\nloudness song: RMS {envelope[:half].mean():.3f} then {envelope[half:].mean():.3f} "
              f"({20 * np.log10(envelope[:half].mean() / envelope[half:].mean()):.1f} dB apart)\n")
        print("| dance | energy r | null mean (sd) | speed, loud half | speed, quiet half | loud / quiet |")
        print("|---" * 6 + "|")
        ratios, correlations, nulls = [], [], []
        for name, user in users.items():
            for seed in LOUDNESS_SEEDS:
                new = choreograph(model, user, LOUDNESS_SECONDS, Sampling(seed=seed), music=Music(song, 0.0))
                following = energy_correlation(new.keypoints, CORPUS_FPS, envelope, CORPUS_FPS)
                speed = mean_joint_speed(normalise(new.keypoints)[0], CORPUS_FPS)
                loud, quiet = np.nanmean(speed[:half]), np.nanmean(speed[half:])
                ratios.append(loud / quiet)
                correlations.append(following.correlation)
                nulls.append(following.null_mean)
                print(f"| {name} seed {seed} | {following.correlation:.2f} | {following.null_mean:.2f} "
                      f"({following.null_spread:.2f}) | {loud:.2f} | {quiet:.2f} | {loud / quiet:.2f} |", flush=True)
        print(f"| median of {len(ratios)} | {np.median(correlations):.2f} | {np.median(nulls):.2f} | | | "
              f"{np.median(ratios):.2f} |")
        print(f"\nmean [95% bootstrap interval over the {len(ratios)} dances]: energy r {interval(correlations)}, "
              f"its null {interval(nulls)}, loud / quiet {interval(ratios)}")


def interval(values: list[float], resamples: int = 2000) -> str:
    values = np.asarray(values, dtype=np.float64)
    means = np.random.default_rng(0).choice(values, size=(resamples, len(values))).mean(axis=1)
    return f"{values.mean():+.2f} [{np.percentile(means, 2.5):+.2f}, {np.percentile(means, 97.5):+.2f}]"


if __name__ == "__main__":
    main()
