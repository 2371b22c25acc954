"""A song's beats in a fresh process, as `bopbot dance --music` finds them, against librosa's tracker.

Each run is a new Python process (as a user's command is) that decodes the song and tracks its
beats; timed from its start to its exit, `--repeat` times each (the median and the range):
  * ours: `music.beats.music_beats` (librosa's onset envelope, tempo and loudness computed in
    NumPy by `music.onsets`, the beats by `music.tracker`: librosa is not imported);
  * librosa: the same envelope and tempo, the beats by `librosa.beat.beat_track`, whose import
    compiles its tracker with numba in every process (the code before `music.tracker`).
Both print their beats; the benchmark checks they are the same frames.

Run: .venv/bin/python benchmarks/beats.py [--song PATH] [--repeat N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SONG = ROOT.parent / "shared" / "data" / "mocap" / "tang2018" / "DANCE_C_2" / "audio.mp3"

OURS = """
import sys
from bopbot.music.beats import music_beats
print(" ".join(f"{t:.4f}" for t in music_beats(sys.argv[1]).times))
"""
LIBROSA = """
import sys
import librosa, librosa.beat, numpy as np
from bopbot.music.audio import read_audio
from bopbot.music.beats import AUDIO_RATE, HOP, MAX_TRACK_SECONDS
samples = read_audio(sys.argv[1], AUDIO_RATE, channels=1, duration=MAX_TRACK_SECONDS).mono()
envelope = librosa.onset.onset_strength(y=samples, sr=AUDIO_RATE, hop_length=HOP)
tempo = float(np.atleast_1d(librosa.feature.tempo(onset_envelope=envelope, sr=AUDIO_RATE, hop_length=HOP))[0])
_, beats = librosa.beat.beat_track(onset_envelope=envelope, sr=AUDIO_RATE, hop_length=HOP, start_bpm=tempo,
                                   tightness=100, units="time")
print(" ".join(f"{t:.4f}" for t in beats))
"""


def timed(script: str, song: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, str(song)], capture_output=True, text=True, check=True)
    return time.perf_counter() - started, done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--song", type=Path, default=SONG)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.song.exists():
        sys.exit(f"benchmarks/beats.py: {args.song}: no such song (give --song)")
    runs = {"ours (music.tracker)": [], "librosa.beat.beat_track": []}
    beats = {}
    for _ in range(args.repeat):  # interleaved, so a busy spell of the machine hits both
        for name, script in zip(runs, (OURS, LIBROSA)):
            seconds, beats[name] = timed(script, args.song)
            runs[name].append(seconds)
    print(f"{args.song}: {len(beats['ours (music.tracker)'].split())} beats, the same from both: "
          f"{len(set(beats.values())) == 1}")
    print("| beats in a fresh process | median (s) | range (s) |")
    print("|---|---:|---:|")
    for name, seconds in runs.items():
        print(f"| {name} | {statistics.median(seconds):.2f} | {min(seconds):.2f} to {max(seconds):.2f} |")
    saved = statistics.median(runs["librosa.beat.beat_track"]) - statistics.median(runs["ours (music.tracker)"])
    print(f"saved: {saved:.2f} s a song")


if __name__ == "__main__":
    main()
