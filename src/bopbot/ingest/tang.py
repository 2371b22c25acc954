"""The Tang 2018 ballroom dataset ("Dance with Melody", ACM MM 2018): `DANCE_*` takes with music.

Each take is a folder with `skeletons.json` (`{"length": T, "center": (T, 3), "skeletons": (T, 23,
3)}`: joints relative to `center`, centimetres, Y up), `config.json` (`start_position` and
`end_position`: where the motion sits in the music, in 25-fps frames) and `audio.mp3`.

The 23 joints are unnamed; this layout was worked out from the 36 takes here (right and left are
the dancer's own, assuming the usual right-handed, Y-up world):

    0 right side of head   1 left side of head (ear-height markers 10-11 cm apart; on average
                           1 is on the body's left of 0, and 0 is nearer shoulder 3)
    2 spine (mid-torso, 12-17 cm above the middle of the hip markers)
    3 right shoulder   4 right elbow   5 right mid-forearm   6 right wrist   22 right hand
    12 left shoulder   13 left elbow   14 left mid-forearm   15 left wrist   21 left hand
    7 right hip   8 right knee   9 right ankle   10 right heel   11 right toe
    16 left hip   17 left knee   18 left ankle   19 left heel   20 left toe

Evidence, over all 36 takes: with facing = cross(left, up) from 12-3 and 16-7, every take has its
toes 14-18 cm ahead of its heels and its knees 3-8 cm ahead of the hip-ankle line, on both sides.
Bones keep their lengths within a take (medians over the takes, left and right alike): upper arm
3-4 and 12-13 27-33 cm, elbow to wrist 4-6 and 13-15 22-29 cm with 5 and 14 within 2 cm of that
line, thigh 7-8 and 16-17 44-55 cm, shin 8-9 and 17-18 31-38 cm, hips 7-16 20-22 cm apart; the
hand markers sit 5 cm (22) and 13-20 cm (21) from the wrists. In a take's lowest 5% of frames
the toes are 1-5 cm above the floor, the heels 1-10 cm and the ankles 8-19 cm. The hip markers
sit high (about a metre above the floor), so COCO hips land a little above the hip joints. The
waltz dancers are smaller than the cha-cha and rumba ones.

Frame rate and music: cha-cha (C) and rumba (R) takes are 25 fps, as the dataset's README says,
and start `start_position / 25` seconds into `audio.mp3`, as the README and the dataset's users
read it (their `end_position - start_position` is 0.86-1.78 times their length, so `end_position`
is not used). The waltz (W) takes are not 25 fps: played at 25 fps their dancers rise and fall
twice a second and move their hips at 1.9 m/s, while `end_position - start_position` is 4.0-4.6
times their length in every W take. Spread over that span instead (5.5-6.2 fps), the rise and
fall comes at 0.46-0.51 Hz in 23 of the 25 takes, one per bar of a slow waltz (28-30 bars a
minute; 0.48 bars a second where librosa's beat tracker finds 86 beats a minute in the music),
and the hips move at 0.45 m/s, as in the other dances. So a waltz take's frame rate is its length
over that span. The W takes also share motion: many pairs of them have 5-38% of their frames
identical, frame for frame.

Gap fills: every cha-cha and rumba take was captured with a gap once a second, filled by straight
lines. In every one of them, the 5 frames 23, 24, 0, 1 and 2 of each 25 (frame index mod 25, tied
to the file, not to the song) have every joint of all 23 exactly on the line between its
neighbours, where real motion never puts all of them at once; so joint speed is flat through the
fill, the acceleration spikes at its ends (frames 22 and 3), and every cha-cha and rumba speed
spectrum peaks at 1.00 Hz whatever the song's tempo. `repair_linear_gaps` finds such runs (every
joint's second difference under `LINEAR_CM` for `MIN_FILL` frames or more) and draws them again
along a cubic spline through the take's real frames, so the motion goes through the gap without
the kinks. What a take had repaired is in its meta (`repaired_frames`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..data.skeleton import INDEX, NUM_JOINTS
from ..errors import BopBotError
from ..reading import read_json
from .mocap import FACE_JOINTS, Motion3D, check_finite, face_points, unit

#: Frame rate of the music positions in `config.json`, and of cha-cha and rumba motion.
FPS = 25.0
#: The waltz takes' typical frame rate, used when a waltz take has no `config.json`.
WALTZ_FPS = 5.9
#: Joints per frame in `skeletons.json`.
TANG_JOINTS = 23
#: Tang joint index of each COCO-17 body joint (see the module docstring).
BODY = {
    "left_shoulder": 12, "right_shoulder": 3, "left_elbow": 13, "right_elbow": 4,
    "left_wrist": 15, "right_wrist": 6, "left_hip": 16, "right_hip": 7,
    "left_knee": 17, "right_knee": 8, "left_ankle": 18, "right_ankle": 9,
}
RIGHT_HEAD, LEFT_HEAD = 0, 1
STYLES = {"C": "cha-cha", "R": "rumba", "W": "waltz"}
#: A frame is part of a linear fill when every joint's second difference is under this (centimetres)...
LINEAR_CM = 1e-3
#: ...in a run of at least this many frames.
MIN_FILL = 3
#: The latest song position a take's config.json may give, in its 25 fps frames (a day of song).
MAX_POSITION = 24 * 3600 * 25


def _read_json(path: Path) -> dict:
    """The JSON object in `path`, or a BopBotError saying why it cannot be read."""
    try:
        data = read_json(path)
    except OSError as exc:
        raise BopBotError(path, f"cannot read the file ({exc.strerror or exc})") from None
    if not isinstance(data, dict):
        raise BopBotError(path, f"expected a JSON object, found a {type(data).__name__}")
    return data


def _array(data: dict, key: str, shape: tuple[int | None, ...], path: Path) -> np.ndarray:
    """`data[key]` as a float array of `shape` (None: any length), or a BopBotError."""
    if key not in data:
        raise BopBotError(path, f"missing key '{key}'")
    try:
        array = np.asarray(data[key], dtype=np.float64)
    except (TypeError, ValueError):
        raise BopBotError(path, f"'{key}' is not an array of numbers of one shape") from None
    expected = "(" + ", ".join("T" if n is None else str(n) for n in shape) + ")"
    if array.ndim != len(shape) or any(n is not None and n != m for n, m in zip(shape, array.shape)):
        raise BopBotError(path, f"'{key}' has shape {array.shape}, expected {expected}")
    return array


def read_skeletons(path: Path) -> np.ndarray:
    """Absolute joint positions (T, 23, 3) in centimetres from a `skeletons.json`."""
    data = _read_json(path)
    skeletons = _array(data, "skeletons", (None, TANG_JOINTS, 3), path)
    center = _array(data, "center", (None, 3), path)
    if len(center) != len(skeletons):
        raise BopBotError(path, f"'center' has {len(center)} frames but 'skeletons' has {len(skeletons)}")
    if "length" in data and (not isinstance(data["length"], int) or isinstance(data["length"], bool)):
        raise BopBotError(path, f"'length' is {data['length']!r}, not a whole number of frames")
    if "length" in data and data["length"] != len(skeletons):
        raise BopBotError(path, f"'length' says {data['length']} frames but 'skeletons' has {len(skeletons)}")
    if len(skeletons) == 0:
        raise BopBotError(path, "the take has zero frames")
    check_finite(skeletons, str(path))
    check_finite(center, str(path))
    return skeletons + center[:, None, :]


def linear_fill_frames(points: np.ndarray) -> np.ndarray:
    """(T,) True for the frames of linear gap fills: runs of `MIN_FILL` or more frames in which every
    joint lies on the straight line between its positions in the frames either side."""
    if len(points) < MIN_FILL + 2:
        return np.zeros(len(points), dtype=bool)
    straight = np.r_[False, np.abs(np.diff(points, n=2, axis=0)).max(axis=(1, 2)) < LINEAR_CM, False]
    edges = np.flatnonzero(np.diff(np.r_[0, straight.astype(np.int8), 0]))
    filled = np.zeros(len(points), dtype=bool)
    for begin, end in zip(edges[::2], edges[1::2]):
        if end - begin >= MIN_FILL:
            filled[begin:end] = True
    return filled


def repair_linear_gaps(points: np.ndarray) -> tuple[np.ndarray, int]:
    """`points` (T, J, 3) with its linear gap fills (`linear_fill_frames`) drawn again along a cubic
    spline through every other frame, and how many frames were redrawn."""
    filled = linear_fill_frames(points)
    if not filled.any() or (~filled).sum() < 4:
        return points, 0
    from scipy.interpolate import CubicSpline

    frames = np.arange(len(points))
    spline = CubicSpline(frames[~filled], points[~filled], axis=0)
    repaired = points.copy()
    repaired[filled] = spline(frames[filled])
    return repaired, int(filled.sum())


def to_coco17(points: np.ndarray) -> np.ndarray:
    """COCO-17 joints (T, 17, 3) in metres from Tang joints (T, 23, 3) in centimetres."""
    points = points / 100.0
    joints = np.zeros((len(points), NUM_JOINTS, 3))
    for coco, tang in BODY.items():
        joints[:, INDEX[coco]] = points[:, tang]
    right, left = points[:, RIGHT_HEAD], points[:, LEFT_HEAD]
    head = (right + left) / 2
    shoulders = (points[:, BODY["left_shoulder"]] + points[:, BODY["right_shoulder"]]) / 2
    up = unit(head - shoulders)
    forward = np.cross(left - right, up)
    joints[:, [INDEX[name] for name in FACE_JOINTS]] = face_points(head, forward, up)
    joints[:, INDEX["left_ear"]] = left
    joints[:, INDEX["right_ear"]] = right
    return joints


def _music(folder: Path, frames: int, style: str) -> tuple[float, dict]:
    """(frame rate, audio meta) of a take from its `config.json` and `audio.mp3`, where present."""
    config_path = folder / "config.json"
    if not config_path.exists():
        return (WALTZ_FPS if style == "waltz" else FPS), {}
    config = _read_json(config_path)
    try:
        start, end = float(config["start_position"]), float(config["end_position"])
    except (KeyError, TypeError, ValueError, OverflowError):
        raise BopBotError(config_path, "needs numeric 'start_position' and 'end_position'") from None
    if not 0 <= start <= end <= MAX_POSITION:
        raise BopBotError(config_path, f"'start_position' {start:g} and 'end_position' {end:g} must be frames of the "
                                       f"song, 0 <= start <= end <= {MAX_POSITION:,}")
    if style == "waltz" and end > start:
        fps = FPS * frames / (end - start)
    else:
        fps = FPS
    meta: dict = {"audio_offset": start / FPS}
    audio = folder / "audio.mp3"
    if audio.exists():
        meta["audio"] = str(audio.resolve())
    return fps, meta


def load_tang(path: str | os.PathLike) -> Motion3D:
    """Read a Tang 2018 take (its `DANCE_*` folder or its `skeletons.json`) as COCO-17 in metres."""
    path = Path(path)
    skeletons_path = path / "skeletons.json" if path.is_dir() else path
    folder = skeletons_path.parent
    style = STYLES.get(folder.name.split("_")[1] if folder.name.count("_") >= 2 else "", "unknown")
    points, repaired = repair_linear_gaps(read_skeletons(skeletons_path))
    joints = to_coco17(points)
    fps, meta = _music(folder, len(joints), style)
    meta = {"dataset": "tang2018", "style": style, **meta, **({"repaired_frames": repaired} if repaired else {})}
    return Motion3D(joints, fps, str(skeletons_path), meta)
