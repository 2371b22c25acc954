"""`bopbot dance`, end to end: the user's dance in, a rendered continuation by the bopbot dancer out.

Extract the user's dance, encode it as pose words, let the model write what comes next, decode
the words to poses, smooth them into movement, put the dancer where the user danced, and render
one of four layouts: `continue` (the user's clip, then the bopbot dancer carrying on),
`side-by-side` (the clip beside the dancer), `dancer-only`, or `skeleton` (both dances as
OpenPose-style skeletons, for pose-guided animation tools). The dance can also be handed over as
OpenPose JSON or skeleton PNGs (`export`).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import cv2
import numpy as np
from tqdm import tqdm

from ..data.pose_sequence import CORPUS_FPS, PoseSequence
from ..errors import BopBotError
from ..files import check_apart
from ..models.sampling import Sampling
from ..music.audio import MAX_RATE, MIN_RATE, audio_rate
from .export import skeleton_canvas, skeleton_frames, write_openpose, write_skeleton_pngs
from .model_process import ModelProcess
from .new_dance import NewDance
from .render import LAYOUTS, AudioPiece, GifWriter, background, dancer_frames, draw_dancer, write_mp4
from .user_dance import Music, UserDance

if TYPE_CHECKING:
    from ..models.model_folder import Choreographer

#: Output videos are scaled so their long side is at most MAX_SIDE pixels; a source whose long side
#: is under MIN_SIDE (keypoints in a unit square, say) is scaled up to it, so a dancer is drawn, not a dot.
MAX_SIDE, MIN_SIDE = 960, 240


#: What a dance can export besides the video (`Dance.export`): OpenPose JSON (BODY_25 or COCO-18) or skeleton PNGs.
EXPORTS = ("openpose", "openpose-coco18", "skeleton-png")


def check_exports(exports: dict[str, str | os.PathLike] | None, force: bool = False) -> dict[str, str | os.PathLike]:
    """`exports` (kind: folder) checked before any work: known kinds, and folders, not files, to write
    into that are new or empty (unless `force`): frames written among others' would be read back as
    one dance with them."""
    exports = dict(exports or {})
    for kind, folder in exports.items():
        if kind not in EXPORTS:
            raise BopBotError(None, f"--export KIND must be one of {', '.join(EXPORTS)}, got {kind!r}")
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise BopBotError(folder, "--export writes into a folder, and this is a file")
        if not force and folder.is_dir() and any(folder.iterdir()):
            raise BopBotError(folder, "--export writes into a new or empty folder, and this one holds files that "
                                      "would be read back with the dance; give another folder (or --force)")
    return exports


def output_files(output: str | os.PathLike, gif: bool = False, save_poses: bool = False) -> list[Path]:
    """Every file `dance` writes for `output`: the MP4, and beside it the GIF and the poses if asked."""
    output = Path(output)
    return [output, *([output.with_suffix(".gif")] if gif else []), *([output.with_suffix(".npz")] if save_poses else [])]


def output_scale(size: tuple[int, int], max_side: int = MAX_SIDE) -> tuple[float, tuple[int, int]]:
    """Scale factor and output size (even sides of at least 2) with the long side from MIN_SIDE to `max_side`."""
    long_side = max(1, *size)
    factor = min(1.0, max_side / long_side) if long_side >= MIN_SIDE else MIN_SIDE / long_side
    return factor, (max(2, int(size[0] * factor) // 2 * 2), max(2, int(size[1] * factor) // 2 * 2))


def _scaled(keypoints: np.ndarray, factor: float) -> np.ndarray:
    out = keypoints.copy()
    out[:, :, :2] *= factor
    return out


def video_frames(user: UserDance, count: int, size: tuple[int, int]) -> Iterator[np.ndarray]:
    """`count` frames of the user's video at 20 fps and `size`, holding the last frame past its end:
    the frames kept from extraction, or else the video decoded again (ahead, in a thread)."""
    from ..ahead import read_ahead
    from ..ingest.video import decode_frames

    source = user.frames
    if source is None:
        source = read_ahead(decode_frames(user.video, max_side=max(size), fps=CORPUS_FPS))
    tick, last = 0, None
    for seconds, image in source:
        last = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if image.shape[1::-1] != size else image
        while tick < count and tick / CORPUS_FPS <= seconds + 0.5 / CORPUS_FPS:
            yield last
            tick += 1
    while tick < count and last is not None:
        yield last
        tick += 1


def layout_frames(layout: str, user: UserDance, new_dance: Callable[[], np.ndarray]) -> Iterator[np.ndarray]:
    """The output frames of a layout. `new_dance` gives the new dance's pixel keypoints; it is called
    only when they are first drawn (in `continue`, after the user's part: that part is drawn and
    encoded while the model may still be loading)."""
    if layout == "skeleton":  # at the source's own size (at most 2,048 px), as the tools want it
        factor, size = skeleton_canvas(user.sequence.size, even=True)
        yield from skeleton_frames(user.sequence.keypoints, size, factor)
        yield from skeleton_frames(new_dance(), size, factor)
        return
    factor, size = output_scale(user.sequence.size)
    user_points = _scaled(user.sequence.keypoints, factor)
    user_count = len(user_points)

    def dancer() -> Iterator[np.ndarray]:
        yield from dancer_frames(PoseSequence(_scaled(new_dance(), factor), CORPUS_FPS, size))

    def user_part(count: int) -> Iterator[np.ndarray]:
        if user.video is not None:
            yield from video_frames(user, count, size)
        else:
            yield from dancer_frames(PoseSequence(user_points[:count], CORPUS_FPS, size))

    if layout == "dancer-only":
        yield from dancer()
    elif layout == "continue":
        yield from user_part(user_count)
        yield from dancer()
    else:
        new = _scaled(new_dance(), factor)
        stage = background(*size)
        left = user_part(user_count)
        last_left = None
        for t in range(max(user_count, len(new))):
            last_left = next(left, last_left)
            right = draw_dancer(stage.copy(), new[min(t, len(new) - 1)])
            yield np.concatenate([last_left if last_left is not None else stage, right], axis=1)


def soundtrack(user: UserDance, layout: str, song: str | os.PathLike | None = None,
               song_from_start: bool = False) -> tuple[Music | None, list[AudioPiece]]:
    """The music the new dance follows, and the audio the output carries.

    Without a `song`, the input's own music (a video's sound, a take's song) plays under the whole
    output, and the new dance follows it from where it starts in it: past the end of a clip's sound
    its beats carry on at its tempo. With a `song`, in the `continue` and `skeleton` layouts the clip keeps its own
    sound and the song starts with the new dance, or (`song_from_start`) the song plays from the
    start and the new dance picks it up where the clip ends; in the other layouts, where the new
    dance starts with the video, the song plays from the start.
    """
    one_after_other = layout in ("continue", "skeleton")  # the user's part first, then the new dance
    before = len(user.sequence.keypoints) / CORPUS_FPS if one_after_other else 0.0
    if song is None:
        rate = audio_rate(user.audio) if user.audio is not None else None
        if not rate:
            return None, []
        if not MIN_RATE <= rate <= MAX_RATE:
            warnings.warn(f"{user.audio}: its sound is sampled at {rate:,} Hz, which is no music's; left out")
            return None, []
        return Music(Path(user.audio), user.audio_offset + before), [AudioPiece(user.audio, user.audio_offset)]
    song = Path(song)
    if not one_after_other or song_from_start:
        return Music(song, before), [AudioPiece(song)]
    under_clip = AudioPiece(user.audio, user.audio_offset, before) if user.audio else AudioPiece(None, 0.0, before)
    return Music(song, 0.0), [under_clip, AudioPiece(song)]


class Dance:
    """A new dance after the user's, planned for a `layout` and the music of `soundtrack`, written by
    `model` (a loaded Choreographer, or a ModelProcess that may still be loading) when it is first
    asked for (`new`): `save_video` draws and encodes the user's part of a `continue` video first, so
    the model may still be writing while it does.

    The layout is part of the plan, not of the saving: with music, where the new dance starts in
    the song depends on whether the user's part plays before it (`continue`, `skeleton`) or beside it.
    """

    def __init__(self, model: Choreographer | ModelProcess, user: UserDance, seconds: float | None = 10.0,
                 sampling: Sampling = Sampling(), layout: str = "continue", song: str | os.PathLike | None = None,
                 song_from_start: bool = False):
        if layout not in LAYOUTS:
            raise BopBotError(None, f"--layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
        if seconds is not None and not seconds > 0:
            raise BopBotError(None, f"--seconds must be above 0, got {seconds:g}")
        sampling.check()
        self.model, self.user, self.seconds, self.sampling, self.layout = model, user, seconds, sampling, layout
        self.song = song
        self.music, self.audio = soundtrack(user, layout, song, song_from_start)
        self._new: NewDance | None = None

    @property
    def new(self) -> NewDance:
        """The new dance, written by the model the first time it is asked for."""
        if self._new is None:
            if isinstance(self.model, ModelProcess):
                self._new = self.model.choreograph(self.user, self.seconds, self.sampling, self.music)
            else:  # the model in this process: the choreography's modules are imported only here
                from .choreograph import choreograph

                self._new = choreograph(self.model, self.user, self.seconds, self.sampling, self.music)
        return self._new

    def inputs(self) -> list:
        """The files this dance reads, which no output may be (`files.check_apart`)."""
        return [self.user.sequence.source, self.user.video, self.user.audio, self.song]

    def save_video(self, output: str | os.PathLike, gif: bool = False, progress: bool = False) -> int:
        """The layout as an H.264 MP4 at `output` (with a GIF beside it if `gif`, made from the same
        frames), with the soundtrack; the number of frames written. With `progress`, a bar counts the
        frames drawn (a 600 s dance draws for minutes)."""
        output = Path(output)
        check_apart(self.inputs(), output_files(output, gif))
        frames = tqdm(layout_frames(self.layout, self.user, lambda: self.new.keypoints), desc="dancing", unit="frame",
                      disable=not progress, leave=False)
        with GifWriter(output.with_suffix(".gif"), CORPUS_FPS) if gif else contextlib.nullcontext() as gif_writer:
            return write_mp4(_into(frames, gif_writer) if gif else frames, output, CORPUS_FPS, audio=self.audio)

    def poses(self) -> PoseSequence:
        """The new dance as a PoseSequence on the user's canvas (pixels of the source, 20 fps)."""
        new = self.new
        return PoseSequence(new.keypoints, CORPUS_FPS, self.user.sequence.size,
                            f"bopbot dance of {self.user.sequence.source}",
                            {"generator": new.generator, "words": " ".join(new.words)})

    def export(self, kind: str, folder: str | os.PathLike, force: bool = False) -> int:
        """The user's dance and the new one, frame by frame at the source's size, into `folder` as
        `kind` (one of `EXPORTS`); new or empty unless `force`. The number of frames written."""
        check_exports({kind: folder}, force)
        check_apart(self.inputs(), [], [folder])
        both = np.concatenate([self.user.sequence.keypoints, self.new.keypoints])
        name = Path(self.user.sequence.source).stem or "bopbot"
        if kind == "skeleton-png":
            return write_skeleton_pngs(both, folder, self.user.sequence.size, name)
        return write_openpose(both, folder, name, "COCO-18" if kind == "openpose-coco18" else "BODY_25")


def _into(frames: Iterator[np.ndarray], gif: GifWriter) -> Iterator[np.ndarray]:
    """`frames` passed on, each also written into the GIF."""
    for frame in frames:
        gif.add(frame)
        yield frame
