"""Video decoding with PyAV: frames as upright RGB arrays with their real timestamps.

Every frame comes out the way a player shows it: a phone video stored landscape with a rotation
in its display matrix comes out portrait. Timestamps are the frames' own presentation times
(pts × time base) relative to the first frame, so a variable frame rate is kept as it was shot;
a frame without a pts is placed one average frame interval after the one before it. A jump of
more than `MAX_GAP_SECONDS` between two frames is damage to the timeline, not a pause in the dance:
it is closed to one interval (with a warning), so a clip's length is what its frames cover, never
what its header declares or a broken timestamp claims.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import av
import numpy as np

from ..errors import BopBotError
from ..reading import open_media

#: Frame rate assumed for frames without timestamps when the stream declares none.
FALLBACK_FPS = 25.0
#: A video needs this many frames to hold any motion.
MIN_FRAMES = 2
#: The longest jump between two frames' timestamps kept as it is, in seconds (see the module docs).
MAX_GAP_SECONDS = 2.0


@dataclass(frozen=True)
class VideoInfo:
    """What a video holds, as a player shows it (width and height after rotation)."""

    width: int
    height: int
    fps: float
    frames: int
    duration: float
    has_audio: bool
    rotation: int


@contextlib.contextmanager
def _open(path: str | os.PathLike, still_ok: bool = False) -> Iterator[av.container.InputContainer]:
    """Open `path` with PyAV, turning every way it can fail into a one-sentence BopBotError."""
    path = Path(path)
    if not path.exists():
        raise BopBotError(path, "no such file")
    if path.is_dir():
        raise BopBotError(path, "is a directory, not a video file")
    try:
        container = open_media(path)
    except av.FFmpegError as exc:
        raise BopBotError(path, _unreadable(path, exc)) from None
    with container:
        if not container.streams.video:
            raise BopBotError(path, "is not a video: it has no video stream")
        if all(stream.disposition & av.stream.Disposition.attached_pic for stream in container.streams.video):
            raise BopBotError(path, "is music with cover art, not a video: to dance to it, give it with --music")
        if not still_ok and _is_still_image(container):
            raise BopBotError(path, "is a still image, not a video")
        yield container


def dance_stream(container: av.container.InputContainer) -> av.VideoStream:
    """The video stream the dance is in: of the streams that are not cover pictures, the one with
    the most frames (then the longest, then the largest); a short first stream is often a cover."""
    def size(stream: av.VideoStream) -> tuple:
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
        return stream.frames or 0, duration, stream.codec_context.width * stream.codec_context.height

    moving = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    return max(moving, key=size)


def _unreadable(path: Path, exc: av.FFmpegError) -> str:
    """Why FFmpeg could not open `path`, in a sentence (an MP4 it cannot open is usually cut short)."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(12)
    except OSError as exc:  # a device that will not be read (/proc/self/mem), a failing disk
        return f"cannot read it: {exc.strerror or exc}"
    if header[4:8] == b"ftyp":
        return "is an MP4/MOV file that cannot be opened: it is probably truncated or corrupt"
    if header.startswith((b"#EXTM3U", b"ffconcat", b"<?xml", b"v=0")):
        return "is a playlist or a list of other media, not a video: give the video itself"
    return f"is not a video file that FFmpeg can read ({exc.strerror})"


def _is_still_image(container: av.container.InputContainer) -> bool:
    """True when FFmpeg opened the file with one of its image readers (JPEG, PNG, ...)."""
    name = container.format.name
    return name == "image2" or name.endswith("_pipe")


def _upright(frame: av.VideoFrame, width: int | None = None, height: int | None = None) -> np.ndarray:
    """The frame as a contiguous RGB uint8 array, scaled to (width, height) if given, then rotated upright."""
    image = frame.to_ndarray(format="rgb24", width=width, height=height)
    quarter_turns = round(frame.rotation / 90) % 4
    return np.ascontiguousarray(np.rot90(image, quarter_turns)) if quarter_turns else image


def _scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """(width, height) shrunk so the long side is at most `max_side`, keeping the aspect ratio."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _average_fps(stream: av.VideoStream) -> float:
    """The stream's average frame rate, or FALLBACK_FPS when it declares none."""
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else FALLBACK_FPS


class _Clock:
    """Turns frame pts into seconds since the first frame: a missing or out-of-order pts is one
    interval on, and a jump of more than MAX_GAP_SECONDS is closed to one interval."""

    def __init__(self, interval: float):
        self.interval = interval
        self.start: float | None = None
        self.last: float | None = None
        #: The gaps closed so far, and the longest of them in seconds.
        self.gaps, self.longest_gap = 0, 0.0

    def seconds(self, frame: av.VideoFrame) -> float:
        """The frame's time in seconds since the first frame, always later than the frame before."""
        expected = 0.0 if self.last is None else self.last + self.interval
        seconds = expected
        if frame.pts is not None and frame.time_base is not None:
            shown_at = float(frame.pts * frame.time_base)
            if self.start is None:
                self.start = shown_at - expected
            if self.last is not None and shown_at - self.start - self.last > MAX_GAP_SECONDS:
                self.gaps += 1
                self.longest_gap = max(self.longest_gap, shown_at - self.start - self.last)
                self.start = shown_at - expected  # the timeline carries on from here, one interval on
            if self.last is None or shown_at - self.start > self.last:
                seconds = shown_at - self.start
        self.last = seconds
        return seconds


def decode_frames(
    path: str | os.PathLike, max_side: int | None = None, fps: float | None = None, max_seconds: float | None = None
) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (seconds since the first frame, upright RGB uint8 H×W×3) for each frame of the first video.

    With `max_side`, frames are scaled while converting to RGB so their long side is at most that
    (FFmpeg's swscale, in the one conversion). With `fps`, only the frames nearest a grid of `fps`
    frames a second are converted and yielded (every frame of a slower video): a 24 fps video at
    `fps=20` yields 5 of every 6. Every frame is still decoded, and counted for damage. With
    `max_seconds`, a video whose frames run past that many seconds is refused when decoding gets
    there (its header's length is not trusted).

    A video damaged or cut short part way keeps the frames before the damage (with a warning) when
    there are at least MIN_FRAMES of them; otherwise, and for videos of fewer frames, BopBotError is
    raised. (A cut-short file often decodes without error, so the count is checked against the
    count the file declares; one frame of slack allows for containers whose count is off by one.)
    """
    with _open(path) as container:
        stream = dance_stream(container)
        stream.thread_type = "AUTO"
        clock = _Clock(1.0 / _average_fps(stream))
        size = _scaled_size(stream.codec_context.width, stream.codec_context.height, max_side)
        count, last_tick = 0, -1
        try:
            for frame in container.decode(stream):
                seconds = clock.seconds(frame)
                if max_seconds is not None and seconds > max_seconds:
                    raise BopBotError(path, f"is longer than {max_seconds:g} s, the longest clip taken here "
                                            "(measured from its frames)")
                count += 1
                if fps is not None:
                    tick = math.floor(seconds * fps + 0.5)
                    if tick == last_tick:
                        continue
                    last_tick = tick
                yield seconds, _upright(frame, *size)
        except av.FFmpegError as exc:
            if count < MIN_FRAMES:
                problem = f"is damaged: decoding failed after {count} frame(s) ({exc.strerror})"
                raise BopBotError(path, problem) from None
            warnings.warn(f"{path}: video is damaged after frame {count} ({exc.strerror}); keeping those")
        else:
            if MIN_FRAMES <= count < stream.frames - 1:
                warnings.warn(f"{path}: video is damaged or truncated: {count} of {stream.frames} frames decode")
        if clock.gaps:
            warnings.warn(f"{path}: the video's timestamps jump {clock.gaps} time(s), by up to "
                          f"{clock.longest_gap:.0f} s; each jump is closed to one frame")
    if count == 0:
        raise BopBotError(path, "has no video frames")
    if count < MIN_FRAMES:
        raise BopBotError(path, f"has only {count} frame; BopBot needs at least {MIN_FRAMES} frames of video")


def probe(path: str | os.PathLike) -> VideoInfo:
    """Size (after rotation), frame rate, frame count estimate, duration and audio of a video."""
    with _open(path) as container:
        stream = dance_stream(container)
        try:
            rotation = next(container.decode(stream)).rotation
        except (StopIteration, av.FFmpegError):
            raise BopBotError(path, "has no video frames") from None
        fps = _average_fps(stream)
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = (container.duration or 0) / av.time_base
        width, height = stream.codec_context.width, stream.codec_context.height
        if round(rotation / 90) % 2:
            width, height = height, width
        return VideoInfo(
            width=width,
            height=height,
            fps=fps,
            frames=stream.frames or round(duration * fps),
            duration=duration,
            has_audio=bool(container.streams.audio),
            rotation=rotation,
        )


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file (JPEG, PNG, ...) as an RGB uint8 H×W×3 array, decoded with PyAV."""
    with _open(path, still_ok=True) as container:
        try:
            return _upright(next(container.decode(video=0)))
        except (StopIteration, av.FFmpegError):
            raise BopBotError(path, "is an image that cannot be decoded") from None
