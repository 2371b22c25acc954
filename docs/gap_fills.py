"""The linear gap fills in the mocap, before and after `tang.repair_linear_gaps`.

For every Tang take: how many frames are straight-line fills, the mean joint acceleration at
frames 3 and 22 of each 25 (the fills' ends) over its mean, and the joint-speed spectrum's peak
and its power at 1 Hz over the median power between 0.3 and 5 Hz, before and after the repair;
then the same count of fill frames in every BVH take (CMU, Bandai).

Run: .venv/bin/python docs/gap_fills.py [DATA]   (DATA: ../shared/data by default)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from bopbot.ingest.bvh import load_bvh
from bopbot.ingest.tang import linear_fill_frames, load_tang, read_skeletons, repair_linear_gaps


def spectrum(points: np.ndarray, fps: float) -> tuple[float, float]:
    """The mean joint speed's spectral peak (Hz) between 0.3 and 5 Hz, and its power within 0.02 Hz
    of 1 Hz over the band's median power."""
    speed = np.linalg.norm(np.diff(points, axis=0), axis=2).mean(axis=1)
    power = np.abs(np.fft.rfft(speed - speed.mean())) ** 2
    hertz = np.fft.rfftfreq(len(speed), 1 / fps)
    band = (hertz > 0.3) & (hertz < 5)
    return float(hertz[band][np.argmax(power[band])]), float(power[np.abs(hertz - 1) <= 0.02].sum() / np.median(power[band]))


def at_fill_ends(points: np.ndarray) -> tuple[float, float]:
    """Mean joint acceleration at frames 3 and 22 (mod 25) over its mean at every frame."""
    acceleration = np.linalg.norm(np.diff(points, n=2, axis=0), axis=2).mean(axis=1)
    phase = (np.arange(len(acceleration)) + 1) % 25
    return tuple(float(acceleration[phase == k].mean() / acceleration.mean()) for k in (3, 22))


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data"
    print("| take | frames | fill frames | acceleration at 3, 22 (x mean) | speed peak | power at 1 Hz |")
    print("|---|---:|---:|---|---|---|")
    for folder in sorted((data / "mocap" / "tang2018").glob("DANCE_*"), key=lambda p: (p.name[6], int(p.name[8:]))):
        raw = read_skeletons(folder / "skeletons.json")
        fixed, count = repair_linear_gaps(raw)
        fps = load_tang(folder).fps
        (a3, a22), (b3, b22) = at_fill_ends(raw), at_fill_ends(fixed)
        (peak, power), (peak_after, power_after) = spectrum(raw, fps), spectrum(fixed, fps)
        print(f"| {folder.name} | {len(raw)} | {count} | {a3:.2f}, {a22:.2f} -> {b3:.2f}, {b22:.2f} | "
              f"{peak:.2f} -> {peak_after:.2f} Hz | {power:.0f} -> {power_after:.0f} |")
    for path in sorted((data / "mocap").glob("**/*.bvh")):
        motion = load_bvh(path)
        print(f"{path.parent.name}/{path.name}: {linear_fill_frames(motion.joints * 100).sum()} fill frames of {len(motion)}")


if __name__ == "__main__":
    main()
