"""The new dance's first half second against the rest of it, on every phone clip, as a user runs it.

Each clip of ../shared/data/dance_videos is read once (`bopbot.extract`) and continued by the
embedded model for 10 s with seeds 0, 1 and 2 (`bopbot dance CLIP --seconds 10 --seed S`). Per
dance, on the pixel keypoints a viewer sees: the mean joint step of the first 0.5 s (10 frames, the
first from the user's last frame) and its fastest step, each over the new dance's median step
after them, beside the 95th percentile of the steps after them. A lurch into the new dance reads
several times the rest's 95th percentile. `--fixed-handover` hands the poses over in 0.5 s
whatever the distance, as before `choreograph.handover_frames` (for the side by side in
docs/sweeps.md).

Run: .venv/bin/python docs/handover_trial.py [--fixed-handover]   (needs ../shared/data)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import bopbot
from bopbot.choreography import choreograph
from bopbot.data.pose_sequence import CORPUS_FPS
from bopbot.evaluation.continuity import joint_steps

CLIPS = Path(__file__).resolve().parents[2] / "shared" / "data" / "dance_videos"
FIRST = round(0.5 * CORPUS_FPS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixed-handover", action="store_true", help="the poses' handover fixed at 0.5 s")
    args = parser.parse_args()
    if args.fixed_handover:
        choreograph.handover_frames = lambda last, moving: FIRST
    dancer = bopbot.Dancer.load()
    print("| clip | seed | first 0.5 s: mean step / median | its fastest / median | the rest's 95th percentile / median |")
    print("|---|---:|---:|---:|---:|")
    for clip in sorted(CLIPS.glob("*.mp4")):
        user = bopbot.extract(clip)
        for seed in (0, 1, 2):
            new = dancer.dance(user, seconds=10, seed=seed)
            steps = joint_steps(np.asarray(new.user.keypoints), np.asarray(new.keypoints))
            rest = np.nanmedian(steps[FIRST + 1:])
            print(f"| {clip.stem} | {seed} | {np.nanmean(steps[:FIRST]) / rest:.1f} | {np.nanmax(steps[:FIRST]) / rest:.1f} | "
                  f"{np.nanpercentile(steps[FIRST + 1:], 95) / rest:.1f} |", flush=True)


if __name__ == "__main__":
    main()
