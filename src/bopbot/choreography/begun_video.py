"""The `continue` video of a dance of a video clip, begun while the clip is read (`BegunVideo`)."""

from __future__ import annotations

import collections
import os
import warnings
from pathlib import Path

import cv2
import numpy as np

from ..data.pose_sequence import CORPUS_FPS, resampled_count
from .render import AudioPiece, GifWriter, Mp4Writer, gif_frame, gif_lead_frames, output_scale
from .soundtrack import soundtrack_of


class BegunVideo:
    """The `continue` video of a dance of the video clip `clip`, begun before the clip is read:
    `read_user_dance` hands it each frame the detector sees (`append`), and a thread encodes the
    clip's part of the output (with the GIF's, if `gif`) while the detector works on the next;
    `Dance.save_video` adds the new dance after it and closes it.

    Reading a phone clip leaves 0.2 to 0.8 of the two cores idle (MediaPipe waits on itself), and
    the clip's part is 240 of the 440 frames of a 12 s clip's video; drawn after the reading, it
    took 2 s of both cores. The thread runs at low priority (`ahead.Behind`), so the detector keeps
    the cores it uses (the whole command, alternated with drawing after the reading, 6 rounds on
    the benchmark clip: 1.42 to 2.92 s faster). The frames are the same as `video_frames` makes
    of the kept frames: each is shown from its tick of the 20 fps grid on, never more ticks than
    the poses will have frames (`resampled_count` of the times so far, which the end can only
    raise), and the last held to the end of the user's dance. The GIF shows the clip's last
    `render.GIF_LEAD_SECONDS` only: its frames wait in a ring of that length until the clip ends.
    """

    def __init__(self, output: str | os.PathLike, clip: str | os.PathLike, song: str | os.PathLike | None = None,
                 song_from_start: bool = False, gif: bool = False):
        from ..ahead import Behind
        from ..ingest.video import probe
        from .user_dance import KEEP_FRAMES_BYTES

        info = probe(clip)
        self.output = Path(output)
        self.size = output_scale((info.width, info.height))[1]
        with warnings.catch_warnings():  # said by the dance's own soundtrack, once the clip is read
            warnings.simplefilter("ignore")
            sound = [piece.path for piece in soundtrack_of(Path(clip), 0.0, 0.0, True, song, song_from_start)[1]]
        self._video = Mp4Writer(self.output, CORPUS_FPS, self.size, sound)
        try:
            self._gif = GifWriter(self.output.with_suffix(".gif"), CORPUS_FPS) if gif else None
        except BaseException:
            self._video.abort()
            raise
        frame_bytes = self.size[0] * self.size[1] * 3
        self._encoder = Behind(self._encode, depth=KEEP_FRAMES_BYTES // frame_bytes, low_priority=True)
        # the clip's last frames, for the GIF
        self._gif_lead = collections.deque(maxlen=gif_lead_frames(CORPUS_FPS)) if gif else None
        self._first: float | None = None
        self._due: collections.deque = collections.deque()  # frames given ticks, not yet sent
        self._ticks = self._sent = 0
        self._last: np.ndarray | None = None

    def _encode(self, image: np.ndarray | None) -> None:
        """Encode the next frame; None marks the clip's end, where the GIF begins with its last frames."""
        if image is None:
            while self._gif_lead:
                self._gif.add(self._gif_lead.popleft())
            self._gif_lead = None
            return
        self._video.add(image)
        if self._gif_lead is not None:
            self._gif_lead.append(gif_frame(image))
        elif self._gif is not None:
            self._gif.add(image)

    def append(self, item: tuple[float, np.ndarray]) -> None:
        """The clip's next frame as the detector saw it: (seconds, RGB)."""
        seconds, image = item
        if self._first is None:
            self._first = seconds
        if image.shape[1::-1] != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self._last = image
        while self._ticks / CORPUS_FPS <= seconds + 0.5 / CORPUS_FPS:
            self._due.append(image)
            self._ticks += 1
        self._send(resampled_count(self._first, seconds, CORPUS_FPS))

    def _send(self, count: int) -> None:
        """Encode the frames due, up to tick `count`."""
        while self._sent < count and self._due:
            self._encoder.put(self._due.popleft())
            self._sent += 1

    def end_clip(self, frames: int) -> None:
        """The clip is read, and the user's dance has `frames` frames: its part of the video is that long."""
        if self._sent > frames or self._last is None:
            raise RuntimeError(f"{self.output}: the clip's part of the video has {self._sent} frames, its dance {frames}")
        self._send(frames)
        while self._sent < frames:  # the last frame held
            self._encoder.put(self._last)
            self._sent += 1
        self._due.clear()
        self._encoder.put(None)

    def add(self, image: np.ndarray) -> None:
        """The next frame after the clip's part."""
        self._encoder.put(image)

    def sound_ahead(self, audio: list[AudioPiece], frames: int) -> None:
        """Encode the soundtrack `audio` of the whole video, `frames` long, while its last frames are made
        (`Mp4Writer.sound_ahead`)."""
        self._video.sound_ahead(audio, frames)

    def close(self, audio: list[AudioPiece]) -> int:
        """Finish the video (and the GIF) with the soundtrack `audio`; the number of frames written."""
        try:
            self._encoder.finish()
        except BaseException:
            self.abort()
            raise
        if self._gif is not None:
            with self._gif:
                pass
        return self._video.close(audio)

    def abort(self) -> None:
        """Stop, and leave no video or GIF behind."""
        self._encoder.stop()
        self._video.abort()
        if self._gif is not None:
            self._gif.__exit__(RuntimeError, RuntimeError("aborted"), None)
