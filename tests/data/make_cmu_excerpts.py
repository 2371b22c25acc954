"""Remakes the CMU salsa excerpts in tests/data/cmu_salsa/ from ../shared/data/mocap/cmu_salsa.

Each excerpt is 12 s of one take, from 2 s in, every 4th frame (120 fps -> 30 fps), its
skeleton and numbers as CMU's BVH release has them. CMU's terms allow research and commercial
use with the acknowledgment in tests/data/cmu_salsa/README.md; nothing else from ../shared is
ever copied into the project.

Run: .venv/bin/python tests/data/make_cmu_excerpts.py
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "shared" / "data" / "mocap" / "cmu_salsa"
#: The small corpus the tests train on, and a take held out from it for `bopbot evaluate`.
TAKES = {"cmu_salsa": ("60_01", "61_01", "60_05", "60_09", "61_13"), "cmu_salsa_held_out": ("60_12",)}
START_SECONDS, SECONDS, STEP = 2.0, 12.0, 4


def excerpt(take: str) -> str:
    lines = (SOURCE / f"{take}_scaled.bvh").read_text().splitlines()
    motion = lines.index("MOTION")
    frame_time = float(lines[motion + 2].split(":")[1])
    frames = lines[motion + 3:]
    first = round(START_SECONDS / frame_time)
    kept = frames[first:first + round(SECONDS / frame_time):STEP]
    return "\n".join(lines[:motion + 1] + [f"Frames: {len(kept)}", f"Frame Time: {frame_time * STEP:.6f}"] + kept) + "\n"


def main() -> None:
    for folder, takes in TAKES.items():
        (HERE / folder).mkdir(exist_ok=True)
        for take in takes:
            (HERE / folder / f"{take}_excerpt.bvh").write_text(excerpt(take))


if __name__ == "__main__":
    main()
