"""The beat warp's accent weighed: the new dance's lock to the beat against its joint speed's spikes.

`retime.accent_beats` slows the dancer to `1 - accent` of its speed on each beat and plays the
stretch between beats faster (the default, `retime.ACCENT`, is 0.8). Each dance is written
once by `choreograph` (the function `bopbot dance` calls) and played again along the warp with each
accent: the accent is the last step (`retime.beat_warp`, then `retime.play`), so the written dance,
the join and the beats are the same at every accent. The first dance is also written with the first
accent passed to `beat_warp` itself, and must come out the same.

(a) The beat's lock, as docs/beat_lock_trial.py measures it: the first 8 s of the two held-out
phone clips continued for 12 s, seeds 0 to 2, to click tracks at 90, 120 and 140 beats a minute
(18 dances); per reading of the dancer's beats (`evaluation.rhythm.READINGS`) the vector strength R
at the tracked beat period, median over the dances (and range), and the Rayleigh p of their events
pooled by phase. The project's goals: median R >= 0.5 with pooled p < 0.001 for every dip reading,
and pooled p < 0.01 for the acceleration's peaks.

(b) The spikes, as docs/speed_spike_trial.py counts them: the phone clips of ../shared/data/
dance_videos that have music (animatex), each as `bopbot dance CLIP --seconds 10 --seed S` runs it
to its own music, seeds 0 to 9 (30 dances); runs of frames over 3x the dance's median speed per
10 s, mean [95% bootstrap interval over dances].

Run: .venv/bin/python docs/accent_sweep.py [--accents 0.5 0.65 0.8]   (needs ../shared/data)
"""

from __future__ import annotations

import argparse
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
from beat_lock_trial import DANCE_SECONDS, SONG_SECONDS, TEMPOS, beat_grid, clicks, held_out_users, span, write_wav
from speed_spike_trial import CLIPS, interval, spikes

from bopbot.choreography.choreograph import choreograph
from bopbot.choreography.dance import Dance
from bopbot.choreography.user_dance import Music, read_user_dance
from bopbot.data.normalise import normalise
from bopbot.data.pose_sequence import CORPUS_FPS
from bopbot.evaluation.rhythm import READINGS, pooled_vector_strength, vector_strength
from bopbot.models.model_folder import Choreographer
from bopbot.models.sampling import Sampling
from bopbot.music import retime

LOCK_SEEDS = (0, 1, 2)
SPIKE_SEEDS = tuple(range(10))
BEAT_WARP, PLAY = retime.beat_warp, retime.play
#: The goals: every dip reading's median R at least this, its pooled p below this; the acceleration's below this.
GOAL_R, GOAL_P, GOAL_P_ACCELERATION = 0.5, 0.001, 0.01


class Replay:
    """Stands in for `retime.beat_warp` and `retime.play` while `choreograph` runs, keeping what they
    were given, so the dance can be played again along the warp with another accent (`at`)."""

    def __init__(self):
        self.warp, self.keypoints = None, None
        retime.beat_warp, retime.play = self.beat_warp, self.play

    def beat_warp(self, *args, **kwargs):
        self.warp = (args, kwargs)
        return BEAT_WARP(*args, **kwargs)

    def play(self, keypoints, shown):
        self.keypoints = keypoints
        return PLAY(keypoints, shown)

    def at(self, accent: float) -> np.ndarray:
        args, kwargs = self.warp
        return PLAY(self.keypoints, BEAT_WARP(*args, **{**kwargs, "accent": accent}))


def checked(accents: tuple[float, ...], write, replay: Replay) -> None:
    """`write()` with the first accent passed to the warp itself gives what the replay of it gives."""
    retime.beat_warp = partial(BEAT_WARP, accent=accents[0])
    direct = write()
    retime.beat_warp = replay.beat_warp
    write()
    assert np.array_equal(direct, replay.at(accents[0])), "the replayed accent differs from the written one"
    print(f"checked: the dance written at accent {accents[0]:g} is the one replayed at it", flush=True)


def beat_lock(model: Choreographer, accents: tuple[float, ...], replay: Replay) -> dict[str, dict]:
    """Per reading and accent: each dance's R, and the pooled Rayleigh p."""
    users = held_out_users()
    events = {accent: {reading: [] for reading in READINGS} for accent in accents}
    periods, origins = [], []
    with tempfile.TemporaryDirectory() as folder:
        songs = {bpm: write_wav(Path(folder) / f"clicks_{bpm}.wav", clicks(bpm, SONG_SECONDS) * 0.8) for bpm in TEMPOS}
        grids = {bpm: beat_grid(song, DANCE_SECONDS) for bpm, song in songs.items()}
        user = next(iter(users.values()))
        checked(accents, lambda: choreograph(model, user, DANCE_SECONDS, Sampling(seed=0),
                                             music=Music(songs[TEMPOS[0]], 0.0)).keypoints, replay)
        for name, user in users.items():
            for seed in LOCK_SEEDS:
                for bpm in TEMPOS:
                    choreograph(model, user, DANCE_SECONDS, Sampling(seed=seed), music=Music(songs[bpm], 0.0))
                    periods.append(grids[bpm][0])
                    origins.append(grids[bpm][1])
                    for accent in accents:
                        keypoints = replay.at(accent)
                        for reading, read in READINGS.items():
                            events[accent][reading].append(read(keypoints, CORPUS_FPS))
                    print(f"{name} seed {seed} {bpm} bpm: normalised R " + ", ".join(
                        f"{vector_strength(events[a]['normalised'][-1], periods[-1]).strength:.2f} at {a:g}"
                        for a in accents), flush=True)
    rows = {}
    for reading in READINGS:
        for accent in accents:
            found = events[accent][reading]
            strengths = [vector_strength(times, period).strength for times, period in zip(found, periods)]
            rows.setdefault(reading, {})[accent] = (strengths, pooled_vector_strength(found, periods, origins).p)
    return rows


def spike_rate(model: Choreographer, accents: tuple[float, ...], replay: Replay) -> dict[float, list[float]]:
    """Per accent: each dance's spikes per 10 s."""
    rates = {accent: [] for accent in accents}
    for clip in sorted(CLIPS.glob("*.mp4")):
        user = read_user_dance(str(clip))
        music = Dance(model, user, 10.0).music  # as `bopbot dance CLIP` plays it: the clip's own sound
        if music is None:
            continue
        for seed in SPIKE_SEEDS:
            choreograph(model, user, 10.0, Sampling(seed=seed), music)
            for accent in accents:
                rates[accent].append(spikes(normalise(replay.at(accent))[0])["spikes / 10 s"])
            print(f"{clip.stem} seed {seed}: spikes / 10 s " + ", ".join(
                f"{rates[a][-1]:.2f} at {a:g}" for a in accents), flush=True)
    return rates


def meets_goals(rows: dict[str, dict], accent: float) -> bool:
    """Every dip reading's median R at least `GOAL_R` with its pooled p below `GOAL_P`, and the
    acceleration's peaks' pooled p below `GOAL_P_ACCELERATION`."""
    dips = all(np.nanmedian(rows[reading][accent][0]) >= GOAL_R and rows[reading][accent][1] < GOAL_P
               for reading in READINGS if reading != "acceleration")
    return dips and rows["acceleration"][accent][1] < GOAL_P_ACCELERATION


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accents", type=float, nargs="+", default=[0.5, 0.65, 0.8])
    accents = tuple(parser.parse_args().accents)
    model = Choreographer.load(None)
    replay = Replay()
    rows = beat_lock(model, accents, replay)
    rates = spike_rate(model, accents, replay)
    print(f"\nR: median over the {len(rows['normalised'][accents[0]][0])} dances on click tracks (range); "
          f"p: pooled Rayleigh. Spikes: mean [95% bootstrap interval] over the {len(rates[accents[0]])} dances "
          "to the clips' own music.\n")
    print("| reading | " + " | ".join(f"accent {accent:g}" for accent in accents) + " |")
    print("|---" + "|---:" * len(accents) + "|")
    for reading, by_accent in rows.items():
        print(f"| {reading} | " + " | ".join(f"{span(strengths)}; p {p:.1g}"
                                           for strengths, p in by_accent.values()) + " |")
    print("| spikes / 10 s | " + " | ".join(interval(rates[accent]) for accent in accents) + " |")
    print("| every goal met | " + " | ".join("yes" if meets_goals(rows, a) else "no" for a in accents) + " |")


if __name__ == "__main__":
    main()
