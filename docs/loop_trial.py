"""Is a phone clip's music heard, on the new dance's beat, after the clip's sound ends?

Every clip of `../shared/data/dance_videos` with sound is danced on for 10 s (`bopbot dance CLIP
--seconds 10 --seed 0`, the clip's own music: its sound ends with the clip, and from the splice on
its last whole eight-counts play again, `TrackBeats.sound_loop`). Two figures per clip:

- **heard**: of the beats the dance keeps past the end of the clip's sound (the clip's track carried
  on, as `choreograph` takes them), the share with a beat tracked in the output's sound within
  60 ms; the null is the same grid moved half a beat. The tracker reads the whole output afresh, so
  where a clip's beat is weak it may read even the clip's own, unchanged, part at another phase:
  then this figure cannot tell, and the next one can.
- **splice**: the gap between the output's tracked beats across each splice, against their median
  gap (0%: the music does not stumble where it goes back), beside the 90th percentile of all gaps.

Run: .venv/bin/python docs/loop_trial.py   (needs ../shared/data; about a minute on 2 cores)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from bopbot.music.audio import audio_rate
from bopbot.music.beats import music_beats

CLIPS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dance_videos"
NEW_SECONDS = 10.0
WITHIN = 0.06


def near(heard: np.ndarray, grid: np.ndarray) -> float:
    """The share of `grid` with a beat of `heard` within `WITHIN` seconds."""
    return float(np.mean(np.abs(heard[np.abs(heard[:, None] - grid).argmin(axis=0)] - grid) < WITHIN))


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        for clip in sorted(CLIPS.glob("*.mp4")):
            if not audio_rate(clip):
                print(f"{clip.name}: no sound")
                continue
            output = Path(folder) / clip.name
            subprocess.run([sys.executable, "-m", "bopbot", "dance", str(clip), "-o", str(output), "--seconds",
                            f"{NEW_SECONDS:g}", "--seed", "0"], check=True, capture_output=True)
            song, out = music_beats(str(clip)), music_beats(str(output))
            splice, _, length = song.sound_loop()
            period = float(np.median(np.diff(song.times)))
            grid = song.between(song.seconds, NEW_SECONDS) + song.seconds
            grid = grid[grid > song.seconds + 0.3]
            gaps = np.diff(out.times)
            middles = (out.times[1:] + out.times[:-1]) / 2
            typical = np.median(gaps)
            at_splices = [abs(gaps[np.argmin(np.abs(middles - splice - k * length))] - typical) / typical
                          for k in range(int((out.seconds - 0.5 - splice) / length) + 1)]
            spread = np.percentile(np.abs(gaps - typical) / typical, 90)
            print(f"{clip.name}: {song.seconds:.1f} s of sound at {60 / period:.0f} bpm, a loop of {length:.2f} s; "
                  f"{len(grid)} beats past the end, heard {near(out.times, grid):.0%} (half a beat off: "
                  f"{near(out.times, grid + period / 2):.0%}); gap at each splice off the median by "
                  f"{', '.join(f'{g:.0%}' for g in at_splices)} (90th percentile of all gaps: {spread:.0%})")


if __name__ == "__main__":
    main()
