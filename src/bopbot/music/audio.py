"""The one audio reader: the first audio stream of any file PyAV opens, as float samples.

Rendering copies the music into the output video with it, and the evaluation tracks beats with
it, so both hear exactly the same samples from the same offset.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import BopBotError
from ..reading import file_problem, open_media

#: Sample rates music may have, in Hz: below, no beat can be heard; above, it is no sound file's.
MIN_RATE, MAX_RATE = 4000, 768000
#: The rates AAC (the MP4's sound) is written at, in Hz; music at any other is resampled to 48 kHz.
AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


def aac_rate(rate: int) -> int:
    """The rate music of `rate` Hz is written at in an MP4: its own where AAC takes it, else 48 kHz."""
    return rate if rate in AAC_RATES else 48000


@dataclass
class Audio:
    """(channels, n) float32 samples at `rate` Hz."""

    samples: np.ndarray
    rate: int

    @property
    def seconds(self) -> float:
        return self.samples.shape[1] / self.rate

    def mono(self) -> np.ndarray:
        """The channels averaged into one (n,) signal."""
        return self.samples.mean(axis=0)


def audio_rate(path: str | os.PathLike) -> int | None:
    """The sample rate of the file's first audio stream, or None if it has no audio."""
    import av

    try:
        with open_media(path) as container:
            streams = container.streams.audio
            return (streams[0].codec_context.sample_rate or 44100) if streams else None
    except av.FFmpegError as exc:
        raise BopBotError(path, f"unreadable audio ({exc.strerror})") from None


def check_music(path: str | os.PathLike) -> None:
    """Raise a BopBotError naming `path` unless it is a readable file PyAV opens with an audio
    stream at a rate music may have (MIN_RATE to MAX_RATE)."""
    problem = file_problem(path)
    if problem == "missing":
        raise BopBotError(path, "no such music file")
    if problem is not None:  # a folder, a pipe, a loop of symbolic links, a link to nothing: said as such
        raise BopBotError(path, f"the music file is {problem}")
    if not os.access(path, os.R_OK):
        raise BopBotError(path, "cannot read it: Permission denied")
    rate = audio_rate(path)
    if rate is None:
        raise BopBotError(path, "has no audio stream to dance to")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise BopBotError(path, f"its sound is sampled at {rate:,} Hz; music is {MIN_RATE:,} to {MAX_RATE:,} Hz")


def read_audio(path: str | os.PathLike, rate: int | None = None, channels: int = 1, start: float = 0.0,
               duration: float | None = None) -> Audio:
    """`duration` seconds (all when None) of the first audio stream from `start` s, resampled to
    `rate` Hz (the stream's own when None) and `channels` (1 or 2) channels."""
    import av

    if channels not in (1, 2):
        raise ValueError(f"channels must be 1 or 2, not {channels}")
    rate = rate or audio_rate(path)
    if rate is None:
        raise BopBotError(path, "has no audio stream")
    skip = max(0, int(round(start * rate)))
    end = None if duration is None else skip + max(0, int(round(duration * rate)))
    resampler = av.AudioResampler(format="fltp", layout="mono" if channels == 1 else "stereo", rate=rate)
    pieces: list[np.ndarray] = []
    decoded = 0
    try:
        with open_media(path) as container:
            if not container.streams.audio:
                raise BopBotError(path, "has no audio stream")
            for frame in container.decode(container.streams.audio[0]):
                for chunk in resampler.resample(frame):
                    pieces.append(chunk.to_ndarray().reshape(channels, -1))
                    decoded += pieces[-1].shape[1]
                if end is not None and decoded >= end:
                    break
            else:
                pieces.extend(chunk.to_ndarray().reshape(channels, -1) for chunk in resampler.resample(None))
    except av.FFmpegError as exc:
        raise BopBotError(path, f"unreadable audio ({exc.strerror})") from None
    samples = np.concatenate(pieces, axis=1) if pieces else np.zeros((channels, 0), dtype=np.float32)
    return Audio(np.ascontiguousarray(samples[:, skip:end], dtype=np.float32), rate)
