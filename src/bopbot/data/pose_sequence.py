"""PoseSequence: the one type every stage passes on, and its `.npz` file format.

A sequence holds T frames of COCO-17 keypoints, each joint as (x, y, confidence): x and y in
pixels of the source (y down), confidence in 0..1 where 0 means the joint is missing. A frame with
every confidence 0 is a frame without a dancer; it stays in the sequence so time is never lost.
"""

from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

from ..errors import BopBotError
from ..files import write_npz
from ..reading import array_header, array_names
from .skeleton import JOINTS, NUM_JOINTS

#: Frames per second every sequence is resampled to before it enters the corpus.
CORPUS_FPS = 20.0
#: The most frames one dance may hold, at its source's rate or at CORPUS_FPS (an hour at 20 fps).
#: Files declaring more are refused before anything is allocated, and a video when decoding gets
#: there: a dance costs about 1.5 KB a frame in memory through `bopbot dance`, and drawing an hour
#: of it in the `continue` layout takes minutes.
MAX_FRAMES = 72_000
#: The largest source a sequence may come from, in pixels a side (a 16K video), and the farthest a
#: keypoint may lie from its origin, in pixels: past these a file holds no dancer of any video.
MAX_SIDE = 16384
MAX_COORDINATE = 100_000.0


@dataclass
class PoseSequence:
    """T frames of COCO-17 keypoints (T, 17, 3) with their frame rate, source size and origin."""

    keypoints: np.ndarray
    fps: float
    size: tuple[int, int]
    source: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        if self.keypoints.ndim != 3 or self.keypoints.shape[1:] != (NUM_JOINTS, 3):
            raise ValueError(f"keypoints must be (T, {NUM_JOINTS}, 3), got {self.keypoints.shape}")
        if not np.isfinite(self.keypoints).all():
            raise ValueError("keypoints hold NaN or infinite values")
        number = (int, float, np.integer, np.floating)
        if isinstance(self.fps, bool) or not isinstance(self.fps, number) or not 0 < self.fps < np.inf:
            raise ValueError(f"fps must be a positive number, got {self.fps!r}")
        self.fps = float(self.fps)
        size = tuple(self.size) if isinstance(self.size, (tuple, list, np.ndarray)) else ()
        if len(size) != 2 or not all(isinstance(side, number) and not isinstance(side, bool) and 0 < side < np.inf
                                     for side in size):
            raise ValueError(f"size must be the source's (width, height) in pixels, got {self.size!r}")
        self.size = (int(size[0]), int(size[1]))

    joints = JOINTS

    def __repr__(self) -> str:
        """One line (the dataclass's printed every keypoint: `print(bopbot.extract("me.mp4"))` ran to 50 lines)."""
        return (f"PoseSequence({len(self)} frames at {self.fps:g} fps, {self.duration:g} s, "
                f"{self.size[0]}x{self.size[1]}, {self.frames_without_dancer} without a dancer, source={self.source!r})")

    def __len__(self) -> int:
        return len(self.keypoints)

    @property
    def duration(self) -> float:
        """Seconds of dance the sequence covers."""
        return len(self) / self.fps

    @property
    def present(self) -> np.ndarray:
        """(T,) True where the frame has a dancer (any joint with confidence above 0)."""
        return (self.keypoints[:, :, 2] > 0).any(axis=1)

    @property
    def frames_without_dancer(self) -> int:
        return int((~self.present).sum())

    def resample(self, fps: float = CORPUS_FPS) -> "PoseSequence":
        """The same dance at `fps` frames per second (joints interpolated linearly in time)."""
        times = np.arange(len(self)) / self.fps
        keypoints = resample_keypoints(self.keypoints, times, fps)
        return PoseSequence(keypoints, fps, self.size, self.source, dict(self.meta))

    def save(self, path: str | os.PathLike) -> None:
        """Write the sequence as `.npz`, atomically."""
        write_npz(
            path,
            compressed=True,
            keypoints=self.keypoints,
            fps=np.float32(self.fps),
            size=np.array(self.size, dtype=np.int32),
            joints=np.array(JOINTS),
            source=np.array(self.source),
            meta=np.array(json.dumps(self.meta)),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> "PoseSequence":
        """Read a sequence written by `save` (no pickle is ever loaded; its keypoints' shape is
        checked before they are read)."""
        shape = array_header(path, "keypoints")[0] if "keypoints" in array_names(path) else ()
        if len(shape) != 3 or shape[1:] != (NUM_JOINTS, 3):
            raise BopBotError(path, f"not a BopBot pose sequence: keypoints must be (T, {NUM_JOINTS}, 3), got {shape}")
        check_frame_count(path, shape[0])
        try:
            with np.load(path, allow_pickle=False) as data:
                if "keypoints" not in data or "fps" not in data:
                    raise BopBotError(path, "not a BopBot pose sequence (needs 'keypoints' and 'fps' arrays)")
                joints = tuple(str(j) for j in data["joints"]) if "joints" in data else JOINTS
                if joints != JOINTS:
                    raise BopBotError(path, f"joints are {joints[:3]}..., not COCO-17")
                fps, size = data["fps"], data["size"] if "size" in data else None
                if fps.size != 1 or not (fps.dtype.kind in "iuf" and 0.1 <= float(fps) <= 1000):
                    raise BopBotError(path, f"'fps' must be one number of 0.1 to 1000, got {fps.tolist()!r:.60}")
                check_size(path, size)
                source = str(data["source"]) if "source" in data else str(path)
                meta = json.loads(str(data["meta"])) if "meta" in data else {}
                check_meta(path, meta)
                keypoints = data["keypoints"]
                if keypoints.dtype.kind not in "iuf":
                    raise BopBotError(path, f"keypoints must be numbers, got {keypoints.dtype}")
                check_coordinates(path, keypoints)
                return cls(keypoints, float(fps), tuple(int(side) for side in size), source, meta)
        except (OSError, ValueError, zipfile.BadZipFile, KeyError, RecursionError) as exc:
            raise BopBotError(path, f"unreadable pose sequence ({' '.join(str(exc).split())[:200]})") from None


#: The furthest into its music a dance may start, in seconds (a day).
MAX_AUDIO_OFFSET = 86400.0


def check_size(path: str | os.PathLike, size) -> None:
    """Raise a BopBotError naming `path` unless `size` is a source's width and height, as integers of
    1 to MAX_SIDE pixels."""
    size = np.asarray(size)
    if size.shape != (2,) or size.dtype.kind not in "iu" or not all(1 <= int(side) <= MAX_SIDE for side in size):
        raise BopBotError(path, f"'size' must be the source's width and height, 1 to {MAX_SIDE} "
                                f"pixels, got {size.tolist()!r:.60}")


def check_meta(path: str | os.PathLike, meta) -> None:
    """Raise a BopBotError naming `path` unless `meta` is a JSON object (a dict) whose music, if it
    names any, is a file name ("audio") and a start in it ("audio_offset", 0 s to a day). Whether
    that file is a song is asked where it is danced to (`user_dance.read_user_dance`)."""
    if not isinstance(meta, dict):
        raise BopBotError(path, f"'meta' must be a JSON object, got a {type(meta).__name__}")
    audio, offset = meta.get("audio"), meta.get("audio_offset", 0.0)
    if audio is not None and not (isinstance(audio, str) and "\0" not in audio):
        raise BopBotError(path, f"its meta's 'audio' must name a music file, got {audio!r:.60}")
    if isinstance(offset, bool) or not isinstance(offset, (int, float)) or not 0 <= offset <= MAX_AUDIO_OFFSET:
        raise BopBotError(path, f"its meta's 'audio_offset' must be seconds, 0 to {MAX_AUDIO_OFFSET:g}, "
                                f"got {offset!r:.60}")


def check_frame_count(path: str | os.PathLike, frames: float, fps: float | None = None) -> None:
    """Raise a BopBotError naming `path` where `frames` (at `fps`, if given: at CORPUS_FPS they come
    to frames / fps * CORPUS_FPS) pass MAX_FRAMES."""
    at_corpus_rate = frames / fps * CORPUS_FPS if fps else 0
    if frames > MAX_FRAMES or at_corpus_rate > MAX_FRAMES:
        minutes = MAX_FRAMES / CORPUS_FPS / 60
        raise BopBotError(path, f"holds {max(frames, at_corpus_rate):,.0f} frames; a dance may hold at most "
                                f"{MAX_FRAMES:,} ({minutes:.0f} minutes at {CORPUS_FPS:g} fps)")


def check_coordinates(path: str | os.PathLike, keypoints: np.ndarray) -> None:
    """Raise a BopBotError naming `path` where a present joint (confidence above 0) of the (T, J, 3)
    `keypoints` lies farther than MAX_COORDINATE pixels from the origin (or is not finite)."""
    keypoints = np.asarray(keypoints)
    present = keypoints[..., 2] > 0
    reach = np.abs(keypoints[..., :2][present]) if present.any() else np.zeros(0)
    if reach.size and not (np.isfinite(reach).all() and reach.max() <= MAX_COORDINATE):
        raise BopBotError(path, f"a joint lies at {reach.max():.3g} px; keypoints are pixels of a video, "
                                f"at most {MAX_COORDINATE:,.0f} from its corner")


def resampled_count(first: float, last: float, fps: float) -> int:
    """How many frames `resample_keypoints` makes of frames taken from `first` to `last` (seconds)."""
    return int(np.floor((last - first) * fps + 1e-6)) + 1


def resample_keypoints(keypoints: np.ndarray, times: np.ndarray, fps: float) -> np.ndarray:
    """Resample frames taken at `times` (seconds, increasing) to a steady `fps`.

    Each output frame interpolates its two neighbouring source frames linearly where the joint is
    present in both; otherwise it takes the nearer frame's joint, so a missing joint stays missing
    and no data is invented across a gap. Missing joints come out as zeros, never NaN.
    """
    keypoints = np.asarray(keypoints, dtype=np.float32)
    times = np.asarray(times, dtype=np.float64)
    if len(keypoints) < 2:
        return keypoints.copy()
    count = resampled_count(times[0], times[-1], fps)
    targets = times[0] + np.arange(count) / fps
    right = np.clip(np.searchsorted(times, targets, side="right"), 1, len(times) - 1)
    left = right - 1
    span = np.maximum(times[right] - times[left], 1e-9)
    weight = np.clip((targets - times[left]) / span, 0.0, 1.0)[:, None, None]
    a, b = keypoints[left], keypoints[right]
    both = (a[:, :, 2:3] > 0) & (b[:, :, 2:3] > 0)
    out = np.where(both, (1 - weight) * a + weight * b, np.where(weight < 0.5, a, b))
    out[out[:, :, 2] <= 0] = 0.0
    return out.astype(np.float32)
