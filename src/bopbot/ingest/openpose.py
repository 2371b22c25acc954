"""OpenPose JSON import: a folder of per-frame `*_keypoints.json` files, as OpenPose writes them.

Each file holds `people[]`, each with `pose_keypoints_2d` as flat (x, y, c) triples in BODY_25
(75 values) or COCO-18 (54 values) layout. One dancer is followed through the folder: the most
prominent person (largest box) in the first frame with anyone in it, then in each later frame
the person nearest to where the dancer was last seen. OpenPose files carry no timing and no
image size: the frame rate is the caller's `fps`, and the size comes from an `images/` folder
beside `json/` when there is one, else from the extent of the keypoints.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..data.pose_sequence import MAX_SIDE, PoseSequence, check_coordinates, check_frame_count
from ..data.skeleton import FROM_BODY25, FROM_COCO18, NUM_JOINTS
from ..errors import BopBotError
from ..reading import open_media, read_json

_LAYOUTS = {75: FROM_BODY25, 54: FROM_COCO18}
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


def frame_files(folder: Path) -> list[Path]:
    """The per-frame JSON files of an OpenPose output folder, in frame order."""
    files = [p for p in folder.iterdir() if p.suffix == ".json"]

    def frame_number(path: Path) -> tuple[int, str]:
        numbers = re.findall(r"\d+", path.stem)
        return (int(numbers[-1]) if numbers else -1, path.name)

    return sorted(files, key=frame_number)


def is_openpose_folder(folder: Path) -> bool:
    """True if `folder` (or its `json/` subfolder) holds OpenPose per-frame JSON files."""
    folder = folder / "json" if (folder / "json").is_dir() else folder
    files = frame_files(folder) if folder.is_dir() else []
    if not files:
        return False
    try:
        first = read_json(files[0])
    except (OSError, BopBotError):
        return True  # looks like OpenPose output; load_openpose reports the broken file
    return not isinstance(first, dict) or "people" in first  # not an object: the same


def _people(path: Path) -> list[np.ndarray]:
    """Every person in one frame file, as (17, 3) COCO-17 keypoints."""
    frame = read_json(path)
    if not isinstance(frame, dict) or not isinstance(frame.get("people"), list):
        raise BopBotError(path, "not an OpenPose frame (no 'people' list)")
    people = []
    for number, person in enumerate(frame["people"]):
        if not isinstance(person, dict):
            raise BopBotError(path, f"people[{number}] is a {type(person).__name__}, not an OpenPose person object")
        try:
            flat = np.asarray(person.get("pose_keypoints_2d", []), dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise BopBotError(path, f"people[{number}].pose_keypoints_2d is not a list of numbers") from None
        if flat.size not in _LAYOUTS:
            raise BopBotError(path, f"pose_keypoints_2d has {flat.size} values; expected 75 (BODY_25) or 54 (COCO-18)")
        keypoints = flat.reshape(-1, 3)[_LAYOUTS[flat.size]]
        keypoints[~np.isfinite(keypoints).all(axis=1)] = 0.0
        check_coordinates(path, keypoints[None])
        keypoints[keypoints[:, 2] <= 0] = 0.0
        keypoints[:, 2] = np.minimum(keypoints[:, 2], 1.0)  # a confidence is at most 1 (1e300 overflowed float32)
        people.append(keypoints)
    return people


def _box(keypoints: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Centre and diagonal size of the confident joints' box, or None if too few joints."""
    ok = keypoints[:, 2] > 0
    if ok.sum() < 2:
        return None
    low, high = keypoints[ok, :2].min(axis=0), keypoints[ok, :2].max(axis=0)
    return (low + high) / 2, float(np.linalg.norm(high - low))


def choose_dancer(people: list[np.ndarray], last_centre: np.ndarray | None) -> np.ndarray | None:
    """The dancer among `people`: the largest at first sight, then the one nearest the last centre."""
    boxes = [(person, _box(person)) for person in people]
    boxes = [(person, box) for person, box in boxes if box is not None]
    if not boxes:
        return None
    if last_centre is None:
        return max(boxes, key=lambda item: item[1][1])[0]
    return min(boxes, key=lambda item: float(np.linalg.norm(item[1][0] - last_centre)))[0]


def _image_size(folder: Path, keypoints: np.ndarray) -> tuple[int, int]:
    """Frame size from the first image in an `images/` folder beside the JSON that FFmpeg reads as
    an image of a plausible size (the keypoints must fit in it, and no side pass `MAX_SIDE`), else
    from the keypoints' extent. A name with '%' is skipped: FFmpeg reads it as a numbered sequence of
    other files."""
    present = keypoints[keypoints[:, :, 2] > 0]
    extent = np.ceil(present[:, :2].max(axis=0)) if len(present) else np.ones(2)
    images = folder.parent / "images"
    if folder.name == "json" and images.is_dir():
        import av

        for image in sorted(images.iterdir()):
            if image.suffix.lower() not in _IMAGE_SUFFIXES or "%" in image.name:
                continue
            try:
                with open_media(image) as container:
                    if not container.streams.video:
                        continue
                    codec = container.streams.video[0].codec_context
                    size = (codec.width, codec.height)
            except (av.FFmpegError, BopBotError):
                continue
            if all(1 <= side <= MAX_SIDE for side in size) and size[0] >= extent[0] / 2 and size[1] >= extent[1] / 2:
                return size
            break  # the first image read is the frames' size; one that does not fit them says nothing
    return int(max(1, extent[0])), int(max(1, extent[1]))


def load_openpose(folder: str | Path, fps: float) -> PoseSequence:
    """Read an OpenPose output folder (or its parent holding `json/`) as a PoseSequence."""
    folder = Path(folder)
    if (folder / "json").is_dir():
        folder = folder / "json"
    files = frame_files(folder)
    if not files:
        raise BopBotError(folder, "no OpenPose JSON frames in this folder")
    check_frame_count(folder, len(files), fps)
    keypoints = np.zeros((len(files), NUM_JOINTS, 3))
    last_centre = None
    for index, path in enumerate(files):
        dancer = choose_dancer(_people(path), last_centre)
        if dancer is not None:
            keypoints[index] = dancer
            last_centre = _box(dancer)[0]
    if not (keypoints[:, :, 2] > 0).any():
        raise BopBotError(folder, f"nobody found in any of {len(files)} OpenPose frames")
    size = _image_size(folder, keypoints)
    return PoseSequence(keypoints, fps, size, str(folder), {"frames_decoded": len(files)})
