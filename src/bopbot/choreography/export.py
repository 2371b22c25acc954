"""Hand a dance to the tools people animate themselves with: OpenPose JSON and OpenPose-style skeletons.

Pose-guided video models (MusePose, UniAnimate, Animate Anyone, ControlNet pipelines) take a pose
sequence as OpenPose JSON, or as a skeleton video drawn the way ControlNet's OpenPose annotator
draws it. Both are written here from COCO-17 pixel keypoints, at the source video's size.

**OpenPose JSON** (`write_openpose`): one file per frame, named as OpenPose names the frames of a
video, `NAME_000000000000_keypoints.json` counting from 0, each `{"version": 1.3, "people": [...]}`
with one person whose `pose_keypoints_2d` holds flat (x, y, confidence) triples in BODY_25 order
(or COCO-18); a frame without a dancer has no people. `bopbot extract` reads such a folder back.

**The skeleton** (`draw_skeleton`) follows `draw_bodypose` in lllyasviel/ControlNet
`annotator/openpose/util.py` (from Hzzone/pytorch-openpose), the drawing DWPose and the animation
tools' pose guides share: on black, COCO-18 joints as filled dots of radius 4 in `JOINT_COLOURS`,
then the first 17 of `LIMBS` as ellipses 8 px wide between their joints in `JOINT_COLOURS[limb]`,
each blended over the picture at 0.6 (so a limb on black shows 0.6 of its colour). Colours are RGB.

Where the frames go is checked before any work (`check_exports`, `export_folders`): a new or empty
folder for each kind, apart from the other kinds' folders.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Iterable, Iterator

import cv2
import numpy as np

from ..data.skeleton import to_openpose
from ..errors import BopBotError
from ..files import atomic_path, inside, make_folder, write_text_atomic

#: The COCO-18 joints' colours (RGB), one per joint and per limb, as in ControlNet's annotator.
JOINT_COLOURS = (
    (255, 0, 0), (255, 85, 0), (255, 170, 0), (255, 255, 0), (170, 255, 0), (85, 255, 0), (0, 255, 0),
    (0, 255, 85), (0, 255, 170), (0, 255, 255), (0, 170, 255), (0, 85, 255), (0, 0, 255), (85, 0, 255),
    (170, 0, 255), (255, 0, 255), (255, 0, 170), (255, 0, 85),
)
#: Limbs as COCO-18 joint pairs (0 nose, 1 neck, 2-4 right arm, 5-7 left arm, 8-10 right leg, 11-13 left
#: leg, 14/15 right/left eye, 16/17 right/left ear): ControlNet's `limbSeq` less one. The annotator
#: draws the first 17; the last two (shoulder to ear) it lists but never draws.
LIMBS = (
    (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
    (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
)
#: Dot radius and limb half-width in pixels, and how much of a limb shows over what lies beneath.
JOINT_RADIUS, LIMB_HALF_WIDTH, LIMB_OPACITY = 4, 4, 0.6
#: Skeletons are drawn at the source's size, scaled down where its long side passes this: a 16K
#: source would make 800 MB frames, and the animation tools work at 512 to 1,024 pixels.
MAX_SKELETON_SIDE = 2048
#: OpenPose's JSON format version, as its own files say.
OPENPOSE_VERSION = 1.3


#: What a dance can export besides the video (`Dance.export`): OpenPose JSON (BODY_25 or COCO-18) or skeleton PNGs.
EXPORTS = ("openpose", "openpose-coco18", "skeleton-png")


def check_exports(exports: dict[str, str | os.PathLike] | None, force: bool = False,
                  named: tuple[str, str] = ("--export", "--force")) -> dict[str, str | os.PathLike]:
    """`exports` (kind: folder) checked before any work: known kinds, and folders, not files, to write
    into that are new or empty (unless `force`): frames written among others' would be read back as
    one dance with them. `named`: what the refusals call the export and `force` (Python's names there)."""
    export, forced = named
    exports = dict(exports or {})
    for kind, folder in exports.items():
        if kind not in EXPORTS:
            raise BopBotError(None, f"the export kind must be one of {', '.join(EXPORTS)}, got {kind!r}")
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise BopBotError(folder, f"{export} writes into a folder, and this is a file")
        if not force and folder.is_dir() and any(folder.iterdir()):
            raise BopBotError(folder, f"{export} writes into a new or empty folder, and this one holds files: "
                                      "a tool reading the folder would take them for frames of the dance; give "
                                      f"another folder (or {forced} to write among them)")
    return exports


def export_folders(pairs: Iterable[tuple[str, str | os.PathLike]]) -> dict[str, str | os.PathLike]:
    """`--export KIND DIR` pairs as {kind: folder}, each kind once and each folder apart from the
    others': a kind given twice wrote only its last folder, and two kinds in one folder wrote over
    or among each other's frames (openpose and openpose-coco18 have the same file names)."""
    exports: dict[str, str | os.PathLike] = {}
    for kind, folder in pairs:
        if kind in exports:
            raise BopBotError(None, f"--export {kind} is given twice ({exports[kind]} and {folder}): "
                                    "give each kind once")
        for other_kind, other in exports.items():
            if inside(folder, other) or inside(other, folder):
                raise BopBotError(folder, f"is or holds or lies in the --export {other_kind} folder {other}: "
                                          "give each export a folder of its own")
        exports[kind] = folder
    return exports


def openpose_frames(keypoints: np.ndarray, layout: str = "BODY_25") -> Iterator[dict]:
    """OpenPose's per-frame JSON objects for (T, 17, 3) COCO-17 pixel keypoints."""
    for frame in to_openpose(keypoints, layout):
        people = []
        if (frame[:, 2] > 0).any():
            people.append({"person_id": [-1], "pose_keypoints_2d": [round(float(v), 3) for v in frame.ravel()],
                           "face_keypoints_2d": [], "hand_left_keypoints_2d": [], "hand_right_keypoints_2d": [],
                           "pose_keypoints_3d": [], "face_keypoints_3d": [], "hand_left_keypoints_3d": [],
                           "hand_right_keypoints_3d": []})
        yield {"version": OPENPOSE_VERSION, "people": people}


def write_openpose(keypoints: np.ndarray, folder: str | os.PathLike, name: str = "bopbot",
                   layout: str = "BODY_25") -> int:
    """One `NAME_<frame>_keypoints.json` per frame of (T, 17, 3) pixel keypoints in `folder`; the count."""
    folder = Path(folder)
    make_folder(folder)
    count = 0
    for count, frame in enumerate(openpose_frames(keypoints, layout), start=1):
        write_text_atomic(folder / f"{name}_{count - 1:012d}_keypoints.json", json.dumps(frame))
    return count


def draw_skeleton(canvas: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """Draw one frame's (17, 3) COCO-17 pixel keypoints on the RGB `canvas` as ControlNet's annotator does."""
    joints = to_openpose(keypoints[None], "COCO-18")[0]
    present = joints[:, 2] > 0
    for index in np.flatnonzero(present):
        x, y = joints[index, :2]
        cv2.circle(canvas, (int(x), int(y)), JOINT_RADIUS, JOINT_COLOURS[index], thickness=-1)
    for limb, (a, b) in enumerate(LIMBS):
        if not (present[a] and present[b]):
            continue
        (xa, ya), (xb, yb) = joints[a, :2], joints[b, :2]
        length = math.hypot(xa - xb, ya - yb)
        angle = math.degrees(math.atan2(ya - yb, xa - xb))
        polygon = cv2.ellipse2Poly((int((xa + xb) / 2), int((ya + yb) / 2)), (int(length / 2), LIMB_HALF_WIDTH),
                                   int(angle), 0, 360, 1)
        # the annotator blends the whole picture; outside the limb that changes nothing, so only the
        # limb's box is blended (a 1080x1920 frame: 37 ms a frame the whole way)
        left, top = np.maximum(polygon.min(axis=0), 0)
        right, bottom = np.minimum(polygon.max(axis=0) + 1, (canvas.shape[1], canvas.shape[0]))
        if right <= left or bottom <= top:
            continue
        box = canvas[top:bottom, left:right]
        limb_layer = box.copy()
        cv2.fillConvexPoly(limb_layer, polygon - (left, top), JOINT_COLOURS[limb])
        box[:] = cv2.addWeighted(box, 1 - LIMB_OPACITY, limb_layer, LIMB_OPACITY, 0)
    return canvas


def skeleton_canvas(size: tuple[int, int], even: bool = False) -> tuple[float, tuple[int, int]]:
    """(scale, (width, height)): the canvas the skeletons of a source of `size` are drawn on, the
    source's own size with its long side at most MAX_SKELETON_SIDE (and `even` sides, as H.264 needs)."""
    factor = min(1.0, MAX_SKELETON_SIDE / max(size))
    step = 2 if even else 1
    return factor, (max(2, int(size[0] * factor) // step * step), max(2, int(size[1] * factor) // step * step))


def skeleton_frames(keypoints: Iterable[np.ndarray], size: tuple[int, int], factor: float = 1.0) -> Iterator[np.ndarray]:
    """RGB frames of `size` (width, height): each frame's skeleton, its pixels scaled by `factor`, on black."""
    width, height = size
    for frame in keypoints:
        if factor != 1.0:
            frame = frame.copy()
            frame[:, :2] *= factor
        yield draw_skeleton(np.zeros((height, width, 3), dtype=np.uint8), frame)


def write_skeleton_pngs(keypoints: np.ndarray, folder: str | os.PathLike, size: tuple[int, int],
                        name: str = "bopbot") -> int:
    """One `NAME_<frame>.png` skeleton per frame in `folder`, numbered as the JSON files are, on the
    `skeleton_canvas` of a source of `size`; the count."""
    folder = Path(folder)
    make_folder(folder)
    count = 0
    factor, canvas = skeleton_canvas(size)
    for count, image in enumerate(skeleton_frames(keypoints, canvas, factor), start=1):
        _, png = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        with atomic_path(folder / f"{name}_{count - 1:012d}.png") as tmp:
            tmp.write_bytes(png.tobytes())
    return count
