"""Pose detection: one dancer's COCO-17 keypoints in every frame of a video, with MediaPipe Pose.

MediaPipe Pose (model complexity 1) runs in video mode, which follows the person it found from
frame to frame and smooths their landmarks. Its 33 landmarks land on COCO-17 through
`skeleton.FROM_MEDIAPIPE33`; x and y are pixels of the original (upright) frame and the
confidence is the landmark's visibility. A frame without the dancer is all zeros, never dropped.

When several people are in view, `DancerTracker` keeps BopBot on one dancer (see there), and the
pose library's own C++ logging is kept off the console (see `_quiet_native_logs`).
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import absl.logging  # noqa: E402  (after the environment above, which the native libraries read)
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

from ..ahead import read_ahead  # noqa: E402
from ..data.pose_sequence import CORPUS_FPS, PoseSequence, resample_keypoints  # noqa: E402
from ..data.skeleton import FROM_MEDIAPIPE33, NUM_JOINTS  # noqa: E402
from ..errors import BopBotError  # noqa: E402
from .video import decode_frames, probe, read_image  # noqa: E402

absl.logging.set_verbosity(absl.logging.ERROR)


class _ImportedOnUse(types.ModuleType):
    """Stands in for the module `name` and imports the real one when an attribute is first read."""

    def __getattr__(self, attribute: str):
        if sys.modules.get(self.__name__) is self:  # still standing in: importing would find itself again
            raise AttributeError(f"{self.__name__}.{attribute} was read while mediapipe was being imported")
        return getattr(importlib.import_module(self.__name__), attribute)


@contextlib.contextmanager
def _matplotlib_imported_on_use() -> Iterator[None]:
    """While mediapipe imports, `matplotlib` and `matplotlib.pyplot` are stand-ins that import the
    real modules when first used, then they leave `sys.modules` to whoever imports them next.

    mediapipe's package imports its drawing helpers, and they import `matplotlib.pyplot`: 0.4 to
    0.5 s of the start of every `bopbot dance` (importing mediapipe's pose solution took 0.65 to
    0.86 s, 0.27 to 0.37 s with the stand-ins; 3 runs each), though the pose solution never draws.
    Its drawing helpers keep the stand-in and still work: their first use imports matplotlib.
    Where matplotlib is already imported (a notebook, the web page), nothing is stood in.
    """
    names = ("matplotlib", "matplotlib.pyplot")
    if any(name in sys.modules for name in names):
        yield
        return
    stand_ins = {name: _ImportedOnUse(name) for name in names}
    stand_ins["matplotlib"].pyplot = stand_ins["matplotlib.pyplot"]
    sys.modules.update(stand_ins)
    try:
        yield
    finally:
        for name, stand_in in stand_ins.items():
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]


with _matplotlib_imported_on_use():
    from mediapipe.python.solutions import pose as mp_pose

#: A person is detected when MediaPipe's detector scores them at least this.
MIN_DETECTION_CONFIDENCE = 0.5
#: Frames are scaled so their long side is at most this before detection, in the one conversion
#: to RGB (the size of the videos `bopbot dance` writes, which reuses them). Measured once on a 12 s
#: 1080x1920 phone clip: MediaPipe 26.1 ms a frame at full size against 20.4 at 960 (it crops and
#: scales the person itself, so smaller frames gain little more: 21.2 at 640), decoding and
#: converting 4.7 s against 2.4; the joints found move by a median 0.005 torso lengths (95th
#: percentile 0.036) from those found at full size.
DETECT_MAX_SIDE = 960
#: At a fresh acquisition, up to this many people are compared to pick the most prominent.
MAX_PEOPLE = 3
#: A found person is blanked out with this margin (fraction of their box size) to look for others.
BLANK_MARGIN = 0.15
#: A retry after a rejected detection looks only near the dancer's last box: the box grown by this
#: fraction of its size on every side (tight, so a neighbour beside the dancer stays out of view).
SEARCH_MARGIN = 0.25


@contextlib.contextmanager
def _quiet_native_logs() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block, where MediaPipe's C++ code writes its logs.

    Python's own output (progress bars, errors) is written between these blocks, so it still shows.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _wait_until_started(pose: mp_pose.Pose) -> None:
    """Wait for a (re)started MediaPipe graph to open, so its start-up logs fall in a quiet block."""
    pose._graph.wait_until_idle()


def _landmarks(pose: mp_pose.Pose, image: np.ndarray) -> np.ndarray | None:
    """The 33 landmarks MediaPipe finds on `image` as (33, 3) pixel x, y and visibility, or None."""
    with _quiet_native_logs():
        found = pose.process(image).pose_landmarks
    if found is None:
        return None
    height, width = image.shape[:2]
    points = np.array([(p.x * width, p.y * height, p.visibility) for p in found.landmark], dtype=np.float32)
    points[:, 2] = np.clip(points[:, 2], 0.0, 1.0)
    return points


def _coco17(points: np.ndarray | None) -> np.ndarray:
    """(17, 3) COCO-17 keypoints from 33 MediaPipe landmarks (zeros when there are none)."""
    return np.zeros((NUM_JOINTS, 3), np.float32) if points is None else points[FROM_MEDIAPIPE33]


def _box(points: np.ndarray) -> np.ndarray:
    """(x0, y0, x1, y1) around all landmarks."""
    return np.concatenate([points[:, :2].min(axis=0), points[:, :2].max(axis=0)])


def _centre(box: np.ndarray) -> np.ndarray:
    """The centre (x, y) of a box."""
    return (box[:2] + box[2:]) / 2


def _size(box: np.ndarray) -> float:
    """The longer side of a box, a measure of the person that does not depend on their pose."""
    return float(max(box[2] - box[0], box[3] - box[1], 1.0))


def _grown(box: np.ndarray, margin: float) -> np.ndarray:
    """The box with `margin` × its size added on every side."""
    pad = margin * _size(box)
    return box + np.array([-pad, -pad, pad, pad])


def _pixels(box: np.ndarray, image: np.ndarray) -> tuple[slice, slice]:
    """Row and column slices of `image` covered by `box`, clipped to the image."""
    height, width = image.shape[:2]
    x0, y0 = np.clip(np.floor(box[:2]), 0, [width, height]).astype(int)
    x1, y1 = np.clip(np.ceil(box[2:]), 0, [width, height]).astype(int)
    return slice(y0, y1), slice(x0, x1)


@dataclass
class DancerTracker:
    """Follows one dancer by their last accepted box and refuses detections that jump implausibly.

    MediaPipe's video mode follows the person it locked onto, but once it loses them it detects
    afresh and may land on someone else. A detection is plausible when its box centre lies within
    `max_jump` box sizes (a box's size is its longer side) of the dancer's last box. When the
    dancer has been missing for more than `lost_after` seconds the track is released: the next
    detection is a fresh acquisition, since the dancer may come back anywhere.
    """

    max_jump: float = 0.75
    lost_after: float = 1.0
    box: np.ndarray | None = None
    seen_at: float = -np.inf

    def locked(self, seconds: float) -> bool:
        """True while the dancer was last seen no more than `lost_after` seconds ago."""
        return self.box is not None and seconds - self.seen_at <= self.lost_after

    def plausible(self, box: np.ndarray, seconds: float) -> bool:
        """True when `box` can be the dancer at `seconds` (any box can, while no dancer is locked)."""
        if not self.locked(seconds):
            return True
        jump = np.linalg.norm(_centre(box) - _centre(self.box))
        return bool(jump <= self.max_jump * _size(self.box))

    def accept(self, box: np.ndarray, seconds: float) -> None:
        """Record `box` as where the dancer is at `seconds`."""
        self.box, self.seen_at = box, seconds


class PoseDetector:
    """MediaPipe Pose following the most prominent dancer through a video, its native logs silenced.

    Call `detect_frame` on a video's frames in order. At a fresh acquisition the largest person
    in view becomes the dancer. A detection the tracker refuses is retried with a second,
    still-image Pose on a crop around the dancer's last box; when that finds the dancer, the
    video-mode Pose is reset and shown the next frame with everything but that region blanked,
    so it locks back onto our dancer instead of following someone else.
    """

    def __init__(self):
        with _quiet_native_logs():
            self._video = mp_pose.Pose(
                static_image_mode=False,
                model_complexity=1,
                smooth_landmarks=True,
                min_detection_confidence=MIN_DETECTION_CONFIDENCE,
            )
            self._still = mp_pose.Pose(
                static_image_mode=True, model_complexity=1, min_detection_confidence=MIN_DETECTION_CONFIDENCE
            )
            _wait_until_started(self._video)
            _wait_until_started(self._still)
        self.tracker = DancerTracker()
        self._steer_to: np.ndarray | None = None

    def __enter__(self) -> "PoseDetector":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release MediaPipe's graphs."""
        with _quiet_native_logs():
            self._video.close()
            self._still.close()

    def detect_image(self, image: np.ndarray) -> np.ndarray:
        """(17, 3) keypoints, in pixels of `image`, of the person MediaPipe finds in a still image."""
        return _coco17(_landmarks(self._still, image))

    def detect_frame(self, image: np.ndarray, seconds: float) -> np.ndarray:
        """(17, 3) keypoints, in pixels of `image`, of the followed dancer in the video frame at `seconds`."""
        points = self._follow(image, seconds)
        if points is not None:
            self.tracker.accept(_box(points), seconds)
        return _coco17(points)

    def _follow(self, image: np.ndarray, seconds: float) -> np.ndarray | None:
        """The followed dancer's 33 landmarks in this frame, or None where they are not found."""
        points = self._video_landmarks(image)
        if points is None:
            return None
        if not self.tracker.locked(seconds):
            return self._most_prominent(image, points)
        if self.tracker.plausible(_box(points), seconds):
            return points
        points = self._search_near(image, self.tracker.box)
        if points is None or not self.tracker.plausible(_box(points), seconds):
            return None
        self._steer_to = _box(points)
        return points

    def _video_landmarks(self, image: np.ndarray) -> np.ndarray | None:
        """Video-mode landmarks, first steering the graph to `_steer_to` when a steer is pending."""
        if self._steer_to is None:
            return _landmarks(self._video, image)
        rows, cols = _pixels(_grown(self._steer_to, SEARCH_MARGIN), image)
        focused = np.zeros_like(image)
        focused[rows, cols] = image[rows, cols]
        self._steer_to = None
        with _quiet_native_logs():
            self._video.reset()
            _wait_until_started(self._video)
        return _landmarks(self._video, focused)

    def _most_prominent(self, image: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Of `points` and the other people in view (up to MAX_PEOPLE), the one with the largest box."""
        people = [points]
        masked = image.copy()
        while len(people) < MAX_PEOPLE:
            rows, cols = _pixels(_grown(_box(people[-1]), BLANK_MARGIN), masked)
            masked[rows, cols] = 0
            other = _landmarks(self._still, masked)
            if other is None:
                break
            people.append(other)
        largest = max(people, key=lambda person: _size(_box(person)))
        if largest is not points:
            self._steer_to = _box(largest)
        return largest

    def _search_near(self, image: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        """Still-image landmarks found in a crop around `box`, in pixels of the whole image."""
        rows, cols = _pixels(_grown(box, SEARCH_MARGIN), image)
        points = _landmarks(self._still, np.ascontiguousarray(image[rows, cols]))
        if points is not None:
            points[:, 0] += cols.start
            points[:, 1] += rows.start
        return points


def detection_size(width: int, height: int) -> tuple[int, int]:
    """The (width, height) a `width` x `height` video is given to the detector at."""
    scale = min(1.0, DETECT_MAX_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def extract_video(path: str | os.PathLike, progress: bool = False,
                  keep_frames: list[tuple[float, np.ndarray]] | None = None,
                  max_seconds: float | None = None) -> PoseSequence:
    """One dancer's COCO-17 keypoints through a video, resampled to CORPUS_FPS frames per second.

    The detector sees only the frames nearest the 20 fps grid, decoded a few frames ahead in a
    thread while it works. With `keep_frames`, those (seconds, RGB frame) pairs are appended to it,
    at the detector's size (`bopbot dance` shows them instead of decoding the video again). A
    video whose frames run past `max_seconds` is refused when decoding gets there.
    """
    info = probe(path)
    times, frames = [], []
    with PoseDetector() as detector, tqdm(
        total=math.ceil(info.duration * CORPUS_FPS) or None, desc=Path(path).name, unit="frame",
        disable=not progress, file=sys.stderr,
    ) as bar:
        for seconds, image in read_ahead(decode_frames(path, DETECT_MAX_SIDE, fps=CORPUS_FPS, max_seconds=max_seconds)):
            keypoints = detector.detect_frame(image, seconds)
            keypoints[:, 0] *= info.width / image.shape[1]
            keypoints[:, 1] *= info.height / image.shape[0]
            times.append(seconds)
            frames.append(keypoints)
            if keep_frames is not None:
                keep_frames.append((seconds, image))
            bar.update()
    keypoints = np.stack(frames)
    if not (keypoints[:, :, 2] > 0).any():
        raise BopBotError(path, f"nobody found in any of {len(frames)} frames")
    meta = {"frames_detected": len(frames), "source_fps": round(info.fps, 3)}
    resampled = resample_keypoints(keypoints, np.array(times), CORPUS_FPS)
    return PoseSequence(resampled, CORPUS_FPS, (info.width, info.height), str(path), meta)


def detect_images(paths: Iterable[str | os.PathLike]) -> np.ndarray:
    """(N, 17, 3) keypoints, in pixels of each image, of the person found in each of N image files."""
    with PoseDetector() as detector:
        found = [detector.detect_image(read_image(path)) for path in paths]
    return np.stack(found) if found else np.zeros((0, NUM_JOINTS, 3), np.float32)
