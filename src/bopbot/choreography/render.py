"""Writing dances as H.264 MP4 (with the music) or GIF, frame by frame as they are drawn (`draw`
draws the bopbot dancer)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from ..ahead import read_ahead
from ..files import atomic_path
from ..music.audio import aac_rate, audio_rate, read_audio

#: How a dance video is laid out: `continue` (the user's clip, then the bopbot dancer carrying on),
#: `side-by-side` (the clip beside the dancer), `dancer-only`, or `skeleton` (the user's dance and
#: the new one as OpenPose-style skeletons on black, at the source's size: `export`);
#: `dance.layout_frames` makes them.
LAYOUTS = ("continue", "side-by-side", "dancer-only", "skeleton")
#: GIFs are shrunk to at most this width.
GIF_WIDTH = 480
#: Colours in a GIF palette, how many seconds of frames share one, and how many of those frames
#: (evenly spaced) choose it.
GIF_COLOURS, GIF_PALETTE_SECONDS, GIF_PALETTE_FRAMES = 256, 2.0, 8
#: A GIF shows at most this many seconds of the user's part before the new dance: a GIF is for
#: sharing, and every second of a phone clip costs about 1 MB of it (the whole of an 82 s clip
#: made an 82 MB GIF). The demo's 4 s primer is shown whole.
GIF_LEAD_SECONDS = 4.0
#: x264 settings of every MP4. Measured on a 22 s 540x960 `bopbot dance` video: preset veryfast at
#: CRF 20 took 6.3 s of CPU for 2.73 MB at 41.6 dB PSNR; superfast at CRF 22 takes 3.4 s for 3.28 MB
#: at 41.6 dB (ultrafast: 2.6 s, 7.4 MB at CRF 20).
X264_OPTIONS = {"crf": "22", "preset": "superfast"}
#: FFmpeg's AAC encoder settings. Its default coder (twoloop) took 0.34 to 0.45 s for the sound of a
#: `bopbot dance` video (the 12 s benchmark clip's AAC, and 22 s of an MP3 song, at 44.1 kHz stereo),
#: on the critical path at the end of a dance; the fast coder takes 0.12 to 0.24 s for files of the
#: same size, and its waveform is closer to the source (38.7 against 28.4 dB SNR on the clip, 37.2
#: against 33.5 dB on the song; two timings each, measured once on 2026-12-07, not a benchmark).
#: (A phone clip's `continue` video encodes its sound while its last frames are made, off that
#: path: `Mp4Writer.sound_ahead`.)
AAC_OPTIONS = {"aac_coder": "fast"}

@dataclass(frozen=True)
class AudioPiece:
    """`seconds` (to its end when None) of the audio of `path` from `offset` s; silence when `path` is None.
    With a `loop` (splice, start, length), from `splice` s into the file on it goes back to `start`
    and plays `length` s from there, again and again (a song carried on under a dance that outlasts
    it, `beats.TrackBeats.sound_loop`)."""

    path: str | os.PathLike | None
    offset: float = 0.0
    seconds: float | None = None
    loop: tuple[float, float, float] | None = None


#: Output videos are scaled so their long side is at most MAX_SIDE pixels; a source whose long side
#: is under MIN_SIDE (keypoints in a unit square, say) is scaled up to it, so a dancer is drawn, not a dot.
MAX_SIDE, MIN_SIDE = 960, 240


def output_scale(size: tuple[int, int], max_side: int = MAX_SIDE) -> tuple[float, tuple[int, int]]:
    """Scale factor and output size (even sides of at least 2) with the long side from MIN_SIDE to `max_side`."""
    long_side = max(1, *size)
    factor = min(1.0, max_side / long_side) if long_side >= MIN_SIDE else MIN_SIDE / long_side
    return factor, (max(2, int(size[0] * factor) // 2 * 2), max(2, int(size[1] * factor) // 2 * 2))


class Mp4Writer:
    """An H.264 MP4 at `path` written frame by frame (atomically: it appears when `close`d, and an
    `abort`, or an error inside `with`, leaves nothing), `size` (width, height; odd sides lose a
    pixel) at `fps`, its sound added when it is closed.

    Every stream must exist before the first frame is written, so the files the sound will come from
    (`sound`, None for silence) are named here, and `close` is given the pieces of them to play.
    Frames are turned into the encoder's YUV 4:2:0 by OpenCV (the same BT.601 colours as FFmpeg's
    swscale, 15 times faster: swscale took longer than x264).
    """

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int],
                 sound: list[str | os.PathLike | None] = ()):
        import contextlib

        import av

        self.path, self.fps, self.frames = Path(path), fps, 0
        self._sound = [None if file is None else str(file) for file in sound]
        self._stack = contextlib.ExitStack()
        with self._stack:
            tmp = self._stack.enter_context(atomic_path(self.path))
            self._output = self._stack.enter_context(av.open(str(tmp), mode="w", format="mp4"))
            self._video = self._output.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
            self._video.width, self._video.height = size[0] - size[0] % 2, size[1] - size[1] % 2
            self._video.pix_fmt = "yuv420p"
            self._video.options = dict(X264_OPTIONS)
            self._music = _AudioCopy(sound, self._output) if any(file is not None for file in sound) else None
            self._output.start_encoding()  # the codecs opened here, never by two threads at once (`sound_ahead`)
            self._stack = self._stack.pop_all()  # made: kept open until close or abort
        self._ahead: tuple[list[AudioPiece], int, threading.Thread, dict] | None = None

    def add(self, image: np.ndarray) -> None:
        """Encode one RGB frame (cut to the video's even size)."""
        import av

        width, height = self._video.width, self._video.height
        frame = av.VideoFrame.from_ndarray(
            cv2.cvtColor(np.ascontiguousarray(image[:height, :width]), cv2.COLOR_RGB2YUV_I420), format="yuv420p")
        self._output.mux(self._video.encode(frame))
        self.frames += 1

    def sound_ahead(self, audio: list[AudioPiece], frames: int) -> None:
        """Encode the sound of the `audio` pieces for a video of `frames` frames now, in a thread, while
        the last frames are drawn and encoded; `close` given the same pieces at that length uses it.

        Done at `close`, the sound (a --music song's 10 s and the clip's 12 s as AAC: 0.15 to 0.2 s)
        came after the last frame, on the command's critical path: with `--music` on the benchmark
        clip, `close` took 0.71 s [0.64, 0.89] that way and 0.62 s [0.44, 0.69] with the sound ahead
        (6 rounds alternated; 0.19 s less in the median round, less in 5 of 6), the file the same
        to the byte. The thread's packets are muxed by `close`: the container is only touched here."""
        self._check_sound(audio)
        if self._music is None or not audio or self._ahead is not None:
            return
        done: dict = {}

        def encode() -> None:
            try:
                done["packets"] = self._music.encoded(audio, frames / self.fps)
            except BaseException as exc:  # raised by `close`, which would have met it
                done["error"] = exc

        thread = threading.Thread(target=encode, name="bopbot-sound", daemon=True)
        thread.start()
        self._ahead = (list(audio), frames, thread, done)

    def close(self, audio: list[AudioPiece] | None = None) -> int:
        """Finish the video, with the `audio` pieces one after another (of the files named at the
        start, cut to the video's length), and put it at its path; the number of frames written."""
        audio = audio or []
        self._check_sound(audio)
        with self._stack:
            self._output.mux(self._video.encode())
            if self._music is not None and audio:
                self._output.mux(self._sound_packets(audio))
        return self.frames

    def _check_sound(self, audio: list[AudioPiece]) -> None:
        if [None if piece.path is None else str(piece.path) for piece in audio] != self._sound:
            self.abort()
            raise ValueError(f"{self.path}: its sound was to come from {self._sound}, not from the pieces given")

    def _sound_packets(self, audio: list[AudioPiece]) -> list:
        """The sound's AAC packets: those `sound_ahead` encoded, where it was asked for these pieces at
        this length, else encoded now."""
        if self._ahead is None:
            return self._music.encoded(audio, self.frames / self.fps)
        pieces, frames, thread, done = self._ahead
        thread.join()
        self._ahead = None
        if pieces != audio or frames != self.frames:  # its encoder has ended its stream: a bug, not the user's
            raise RuntimeError(f"{self.path}: the sound was encoded for {frames} frames of {pieces}, "
                               f"the video has {self.frames} and {audio}")
        if "error" in done:
            raise done["error"]
        return done["packets"]

    def abort(self) -> None:
        """Stop writing and leave nothing at the path."""
        if self._ahead is not None:  # its encoder belongs to the container about to close
            self._ahead[2].join()
            self._ahead = None
        self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, kind, error, trace) -> None:
        if kind is not None:
            self.abort()


def write_mp4(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float,
              audio: list[AudioPiece] | None = None) -> int:
    """Encode RGB frames as H.264 MP4 (atomically), with the `audio` pieces one after another if given.

    The audio is cut to the video's length; returns the number of video frames written. Frames are
    drawn in a thread while the last is encoded (`Mp4Writer`).
    """
    frames = read_ahead(frames)  # the frames are drawn in a thread while the last one is encoded
    first = next(frames)
    audio = audio or []
    with Mp4Writer(path, fps, first.shape[1::-1], [piece.path for piece in audio]) as writer:
        writer.add(first)
        for image in frames:
            writer.add(image)
        return writer.close(audio)


class _AudioCopy:
    """Audio from `files` (None: silence), re-encoded as stereo AAC into an output container at the
    rate of the first file that has sound, where AAC takes it (`aac_rate`; none is added if no file
    has any)."""

    def __init__(self, files: list[str | os.PathLike | None], output):
        self.output = output
        rates = {str(file): audio_rate(file) for file in files if file is not None}
        self.sounding = {file for file, rate in rates.items() if rate}
        self.rate = next((aac_rate(rates[str(file)]) for file in files if file is not None and rates[str(file)]), None)
        if self.rate:
            self.encoder = output.add_stream("aac", rate=self.rate)
            self.encoder.layout = "stereo"
            self.encoder.options = dict(AAC_OPTIONS)

    def _samples(self, pieces: list[AudioPiece], duration: float) -> np.ndarray:
        """(2, n) samples of the pieces in turn, `duration` seconds at most (less if they end first)."""
        parts, left = [], int(round(duration * self.rate))
        for piece in pieces:
            want = left if piece.seconds is None else min(left, int(round(piece.seconds * self.rate)))
            if want <= 0:
                break
            if piece.path is None or str(piece.path) not in self.sounding:
                part = np.zeros((2, want if piece.seconds is not None else 0), dtype=np.float32)
            elif piece.loop is not None:
                part = self._looped(piece, want)
            else:
                part = read_audio(piece.path, self.rate, channels=2, start=piece.offset,
                                  duration=want / self.rate).samples
            if piece.seconds is not None:  # a piece that ends early is padded, so the next starts on time
                part = np.pad(part, ((0, 0), (0, want - part.shape[1])))
            parts.append(part)
            left -= part.shape[1]
        return np.concatenate(parts, axis=1) if parts else np.zeros((2, 0), dtype=np.float32)

    def _looped(self, piece: AudioPiece, want: int) -> np.ndarray:
        """(2, want) samples of a piece with a `loop`: the file up to the splice, then the loop's
        stretch over and over, each time `length` long to the sample's rounding (padded with silence
        where the file ends inside it), so that it keeps the beat it was cut on."""
        splice, start, length = piece.loop
        head = read_audio(piece.path, self.rate, channels=2, start=piece.offset,
                          duration=min(want / self.rate, max(0.0, splice - piece.offset))).samples
        rest = want - head.shape[1]
        if rest <= 0:
            return head
        cycle = read_audio(piece.path, self.rate, channels=2, start=start, duration=length).samples
        size = max(1, int(round(length * self.rate)))
        cycle = np.pad(cycle[:, :size], ((0, 0), (0, size - min(size, cycle.shape[1]))))
        phase = int(round((max(piece.offset, splice) - splice) * self.rate)) % size  # a piece begun after the splice
        return np.concatenate([head, np.tile(cycle, (1, (phase + rest) // size + 1))[:, phase:phase + rest]], axis=1)

    def encoded(self, pieces: list[AudioPiece], duration: float) -> list:
        """The AAC packets of `duration` seconds of the pieces (less if they end first), the stream ended."""
        import av

        if not self.rate:
            return []
        samples, packets = self._samples(pieces, duration), []
        for start in range(0, samples.shape[1], self.rate):
            piece = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + self.rate]),
                                               format="fltp", layout="stereo")
            piece.sample_rate = self.rate
            piece.pts = start
            piece.time_base = Fraction(1, self.rate)
            packets.extend(self.encoder.encode(piece))
        return packets + self.encoder.encode(None)


def gif_frame(image: np.ndarray, max_width: int = GIF_WIDTH) -> np.ndarray:
    """An RGB frame shrunk to at most `max_width` wide, as a GIF shows it.

    Shrunk by less than half, it is interpolated bilinearly: OpenCV's area average takes 2.5 ms a
    frame there (540 to 480 wide, a ratio it cannot do by whole pixels), a third of the GIF's cost,
    against 0.45 ms, and the two differ by 0.05 to 0.13 levels on average (99th percentile 1 to 3
    levels, on `bopbot dance` and demo frames), far less than the GIF's 256 colours change. Shrunk
    by half or more (a side-by-side video), bilinear sampling would skip pixels: area-averaged.
    """
    height, width = image.shape[:2]
    if width <= max_width:
        return image
    size = (max_width, max(1, round(height * max_width / width)))
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR if width < 2 * max_width else cv2.INTER_AREA)


def gif_lead_frames(fps: float) -> int:
    """How many frames of the user's part a GIF shows before the new dance (`GIF_LEAD_SECONDS`)."""
    return round(GIF_LEAD_SECONDS * fps)


def gif_start(layout: str, user_frames: int, fps: float) -> int:
    """The first frame of a video of `layout` that its GIF shows: for the layouts that play the
    user's part (`user_frames` long) before the new dance, the last `gif_lead_frames` of it; else the first."""
    if layout not in ("continue", "skeleton"):
        return 0
    return max(0, user_frames - gif_lead_frames(fps))


def gif_of_video(video: str | os.PathLike, path: str | os.PathLike, progress: bool = False, start: int = 0) -> int:
    """A looping GIF at `path` of the video `video` from its frame `start` on (`gif_start`), at its
    own frame rate, its frames read back one at a time; the number of frames written. The web page
    makes its GIF this way, after the video is shown, rather than in the same pass."""
    import av
    from tqdm import tqdm

    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        with GifWriter(path, float(stream.average_rate)) as gif:
            for number, frame in enumerate(tqdm(container.decode(stream), total=stream.frames or None,
                                                desc="the GIF", unit="frame", disable=not progress, leave=False)):
                if number >= start:
                    gif.add(_rgb(frame))
    return gif.frames


def _rgb(frame) -> np.ndarray:
    """A decoded video frame as RGB: by OpenCV from the YUV 4:2:0 that `write_mp4` writes (BT.601,
    as it converted them; 0.76 s for a 440-frame dance against 1.23 s by FFmpeg's swscale)."""
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
        return cv2.cvtColor(frame.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24")


class GifWriter:
    """Frames written into a looping GIF (shrunk to `max_width`) as they come, atomically at `path`;
    a context manager whose `frames` counts what it wrote.

    Frames stream: at most `GIF_PALETTE_SECONDS` of them are held, never the whole dance (a 3-minute
    clip's GIF once held 1.3 GB). Each such stretch gets one palette of `GIF_COLOURS`, chosen by an
    octree from `GIF_PALETTE_FRAMES` of its frames, and FFmpeg's GIF encoder (PyAV) writes it as the
    frames' local colour table where it changes. One palette per stretch rather than per frame:
    a palette per frame took 6 s of the 22 s demo (measured once, cProfile), and one palette keeps
    the colours from flickering within it. Measured on the demo: the octree is the fastest and the
    truest to the dancer's small areas of colour (its translucent torso 4 levels off on average,
    against 27 for median cut, which spends its colours on the stage's gradient).
    """

    def __init__(self, path: str | os.PathLike, fps: float, max_width: int = GIF_WIDTH):
        import contextlib

        import av

        self.fps, self.max_width, self.frames = fps, max_width, 0
        self._rate = Fraction(fps).limit_denominator(1000)
        self._held: list[np.ndarray] = []
        self._stack = contextlib.ExitStack()
        tmp = self._stack.enter_context(atomic_path(Path(path)))
        self._output = self._stack.enter_context(av.open(str(tmp), mode="w", format="gif"))
        self._stream = None

    def add(self, image: np.ndarray) -> None:
        self._held.append(gif_frame(image, self.max_width))
        if len(self._held) >= max(1, round(GIF_PALETTE_SECONDS * self.fps)):
            self._flush()

    def _flush(self) -> None:
        import av
        from PIL import Image

        if not self._held:
            return
        if self._stream is None:
            self._stream = self._output.add_stream("gif", rate=self._rate)
            self._stream.height, self._stream.width = self._held[0].shape[:2]
            self._stream.pix_fmt = "pal8"
        sample = np.concatenate(self._held[:: max(1, len(self._held) // GIF_PALETTE_FRAMES)], axis=0)
        palette = Image.fromarray(sample).quantize(colors=GIF_COLOURS, method=Image.Quantize.FASTOCTREE)
        colours = np.zeros((256, 4), dtype=np.uint8)
        rgb = np.array(palette.getpalette()[: 3 * 256], dtype=np.uint8).reshape(-1, 3)
        colours[:, 0], colours[: len(rgb), 1:] = 255, rgb  # ARGB, opaque
        for image in self._held:
            indices = np.asarray(Image.fromarray(image).quantize(palette=palette, dither=Image.Dither.NONE))
            frame = av.VideoFrame.from_ndarray((np.ascontiguousarray(indices), colours), format="pal8")
            frame.pts, frame.time_base = self.frames, 1 / self._rate
            self._output.mux(self._stream.encode(frame))
            self.frames += 1
        self._held.clear()

    def __enter__(self) -> "GifWriter":
        return self

    def __exit__(self, kind, error, trace) -> bool | None:
        if kind is None:  # finish the GIF; anything failing now fails the write like an error inside
            try:
                self._flush()
                if self._stream is None:
                    raise ValueError("a GIF needs at least one frame")
                self._output.mux(self._stream.encode(None))
            except BaseException as exc:
                if not self._stack.__exit__(type(exc), exc, exc.__traceback__):
                    raise
                return None
        return self._stack.__exit__(kind, error, trace)
