"""How fast the hips of the held-out mocap move on the picture, by camera: the table of
docs/sweeps.md's section on the following camera.

For each held-out mocap take of `training/holdout_inputs.txt` (yaw 0): the hips' mean horizontal
speed over the floor in 3D, then their mean speed on the picture (`normalise`'s placement, torso
lengths a second) and the largest sweep across the picture within half a second (a share of its
width) for a standing camera, for a following camera that turns about the middle of the floor (as
`mocap.VirtualCamera.follow` did before it turned about the dancer; rebuilt here by putting the
take's mean hip position in place of `mocap._pivots`), and for today's following camera.

Run: .venv/bin/python docs/follow_camera.py   (needs ../shared/data)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bopbot.data.normalise import normalise
from bopbot.data.skeleton import INDEX
from bopbot.ingest import mocap
from bopbot.ingest.bvh import load_bvh
from bopbot.ingest.tang import load_tang

HOLDOUT = Path(__file__).resolve().parents[1] / "training" / "holdout_inputs.txt"


def hips_of(joints: np.ndarray) -> np.ndarray:
    return (joints[:, INDEX["left_hip"]] + joints[:, INDEX["right_hip"]]) / 2


def floor_pivots(motion: mocap.Motion3D, follow: bool) -> np.ndarray:
    """The middle of the floor (the take's mean hips, at eye height) in every frame."""
    target = np.repeat(hips_of(motion.joints).mean(axis=0, keepdims=True), len(motion), axis=0)
    target[:, 1] = mocap.EYE_HEIGHT
    return target


def on_the_picture(motion: mocap.Motion3D, follow: bool) -> tuple[float, float]:
    """The hips' mean speed on the picture (torso lengths/s) and their largest half-second sweep
    across it (a share of its width)."""
    film = mocap.project(motion, mocap.VirtualCamera(0.0, follow=follow))
    placement = normalise(film.keypoints)[1]
    speed = np.linalg.norm(np.diff(placement[:, :2], axis=0), axis=1) / placement[:-1, 2]
    half = max(1, round(motion.fps / 2))
    sweep = np.abs(placement[half:, 0] - placement[:-half, 0]).max() / film.size[0]
    return float(speed.mean() * motion.fps), float(sweep)


def main() -> None:
    print("| take | hips over the floor (3D) | standing camera | following, about the floor "
          "| following, about the dancer |")
    print("|---|---:|---:|---:|---:|")
    dancer_pivots = mocap._pivots
    for line in HOLDOUT.read_text().splitlines():
        if not line.strip() or line.startswith("#") or "/mocap/" not in line:
            continue
        path = (HOLDOUT.parent / line.strip()).resolve()
        motion = load_bvh(path) if path.suffix == ".bvh" else load_tang(path)
        hips = hips_of(motion.joints)
        shoulders = motion.joints[:, [INDEX["left_shoulder"], INDEX["right_shoulder"]]].mean(axis=1)
        torso = np.median(np.linalg.norm(shoulders - hips, axis=1))
        floor = np.linalg.norm(np.diff(hips[:, [0, 2]], axis=0), axis=1).mean() * motion.fps / torso
        cells = [on_the_picture(motion, follow=False)]
        mocap._pivots = floor_pivots
        try:
            cells.append(on_the_picture(motion, follow=True))
        finally:
            mocap._pivots = dancer_pivots
        cells.append(on_the_picture(motion, follow=True))
        shown = " | ".join(f"{speed:.2f} ({sweep:.0%})" for speed, sweep in cells)
        print(f"| {path.stem} | {floor:.2f} | {shown} |")


if __name__ == "__main__":
    main()
