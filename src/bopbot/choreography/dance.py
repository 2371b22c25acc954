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
import dataclasses
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import cv2
import numpy as np
from tqdm import tqdm

from ..data.pose_sequence import CORPUS_FPS, PoseSequence
from ..errors import BopBotError
from ..files import check_apart
from ..models.sampling import Sampling
from .export import check_exports, skeleton_canvas, skeleton_frames, write_openpose, write_skeleton_pngs
from .model_process import ModelProcess
from .new_dance import NewDance
from .draw import background, dancer_frames, draw_dancer
from .render import LAYOUTS, AudioPiece, GifWriter, gif_start, output_scale, write_mp4
from .soundtrack import soundtrack
from .user_dance import UserDance

if TYPE_CHECKING:
    from .begun_video import BegunVideo
    from ..models.model_folder import Choreographer


def output_files(output: str | os.PathLike, gif: bool = False, save_poses: bool = False) -> list[Path]:
    """Every file `dance` writes for `output`: the MP4, and beside it the GIF and the poses if asked."""
    output = Path(output)
    return [output, *([output.with_suffix(".gif")] if gif else []), *([output.with_suffix(".npz")] if save_poses else [])]


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
    encoded while the model writes)."""
    if layout == "skeleton":  # at the source's own size (at most 2,048 px), as the tools want it
        factor, size = skeleton_canvas(user.sequence.size, even=True)
        yield from skeleton_frames(user.sequence.keypoints, size, factor)
        yield from skeleton_frames(new_dance(), size, factor)
        return
    factor, size = output_scale(user.sequence.size)
    user_points = _scaled(user.sequence.keypoints, factor)
    user_count = len(user_points)

    def dancer() -> Iterator[np.ndarray]:
        yield from new_dancer_frames(user, new_dance())

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


def new_dancer_frames(user: UserDance, keypoints: np.ndarray) -> Iterator[np.ndarray]:
    """The bopbot dancer dancing `keypoints` (pixels of the user's canvas) at the output's size."""
    factor, size = output_scale(user.sequence.size)
    yield from dancer_frames(PoseSequence(_scaled(keypoints, factor), CORPUS_FPS, size))


class Dance:
    """A new dance after the user's, planned for a `layout` and the music of `soundtrack`, written by
    `model` (a loaded Choreographer, or a ModelProcess that may still be loading) when it is first
    asked for (`new`): `save_video` has a ModelProcess start writing it, then draws and encodes the
    user's part of a `continue` video while the model writes.

    The layout is part of the plan, not of the saving: with music, where the new dance starts in
    the song depends on whether the user's part plays before it (`continue`, `skeleton`) or beside it.
    """

    def __init__(self, model: Choreographer | ModelProcess, user: UserDance, seconds: float | None = 10.0,
                 sampling: Sampling = Sampling(), layout: str = "continue", song: str | os.PathLike | None = None,
                 song_from_start: bool = False):
        if layout not in LAYOUTS:
            raise BopBotError(None, f"the layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
        sampling.check()
        self.model, self.user, self.seconds, self.sampling, self.layout = model, user, seconds, sampling, layout
        self.song = song
        self.music, self._pieces = soundtrack(user, layout, song, song_from_start)
        self._audio: list[AudioPiece] | None = None
        self._new: NewDance | None = None
        self._asked = False  # whether the ModelProcess is writing it (`ask`)

    @property
    def audio(self) -> list[AudioPiece]:
        """The soundtrack's pieces. Where the music ends before the video does (a phone clip's sound
        ends with the clip), the piece that plays it carries it on in a loop on its beat
        (`NewDance.music_loop`, found by the model from the decoded song: a header's length can be
        wrong), so the video waits for the new dance before its sound. Only there: the loop splices
        at the last beat heard, and a song that lasts the video (a dance as long as the song) was cut
        there, its beatless last seconds never heard."""
        if self._audio is None:
            pieces = self._pieces
            if self.music is not None and pieces and str(pieces[-1].path) == str(self.music.path):
                loop, song = self.new.music_loop, pieces[-1]
                heard_to = song.offset + self.video_seconds() - sum(piece.seconds or 0.0 for piece in pieces[:-1])
                if loop is not None and heard_to > self.new.music_seconds + 1 / CORPUS_FPS:
                    pieces = [*pieces[:-1], dataclasses.replace(song, loop=loop)]
            self._audio = pieces
        return self._audio

    def video_seconds(self) -> float:
        """How long the video of the layout lasts: the user's part and the new dance one after the
        other (`continue`, `skeleton`), the longer of the two side by side, or the new dance alone."""
        user, new = len(self.user.sequence.keypoints), len(self.new.keypoints)
        frames = {"continue": user + new, "skeleton": user + new, "dancer-only": new}.get(self.layout, max(user, new))
        return frames / CORPUS_FPS

    @property
    def new(self) -> NewDance:
        """The new dance, written by the model the first time it is asked for."""
        if self._new is None:
            if isinstance(self.model, ModelProcess):
                if not self._asked:
                    self.ask()
                self._asked = False  # answered, or failed: asked again if wanted again
                self._new = self.model.answer()
            else:  # the model in this process: the choreography's modules are imported only here
                from .choreograph import choreograph

                self._new = choreograph(self.model, self.user, self.seconds, self.sampling, self.music)
        return self._new

    def ask(self) -> None:
        """Have a ModelProcess start writing the new dance now, in its process, while this one goes on
        (a Choreographer in this process writes it when it is first asked for)."""
        if isinstance(self.model, ModelProcess) and self._new is None and not self._asked:
            self.model.ask(self.user, self.seconds, self.sampling, self.music)
            self._asked = True

    def inputs(self) -> list:
        """The files this dance reads, which no output may be (`files.check_apart`)."""
        return [self.user.input, self.user.video, self.user.audio, self.song]

    def save_video(self, output: str | os.PathLike, gif: bool = False, progress: bool = False,
                   begun: BegunVideo | None = None) -> int:
        """The layout as an H.264 MP4 at `output` (with a GIF beside it if `gif`, made from the same
        frames), with the soundtrack; the number of frames written. With `progress`, bars show the
        model writing (a video begun while its clip was read waits for it here) and count the frames
        drawn (a 600 s dance draws for minutes). `begun`: the `continue` video to `output`
        begun while the user's clip was read, finished here."""
        output = Path(output)
        check_apart(self.inputs(), output_files(output, gif))
        self.ask()  # the model writes while the user's part is drawn
        if begun is not None:
            try:
                begun.end_clip(len(self.user.sequence.keypoints))
                with tqdm(total=1, desc="writing the new dance", unit="dance", disable=not progress,
                          leave=False) as bar:  # the page showed a bare timer while the model wrote
                    new = self.new.keypoints
                    bar.update()
                begun.sound_ahead(self.audio, len(self.user.sequence.keypoints) + len(new))
                for frame in tqdm(new_dancer_frames(self.user, new), total=len(new), desc="dancing", unit="frame",
                                  disable=not progress, leave=False):
                    begun.add(frame)
            except BaseException:
                begun.abort()
                raise
            return begun.close(self.audio)
        frames = tqdm(layout_frames(self.layout, self.user, lambda: self.new.keypoints), desc="dancing", unit="frame",
                      disable=not progress, leave=False)
        start = gif_start(self.layout, len(self.user.sequence.keypoints), CORPUS_FPS)
        with GifWriter(output.with_suffix(".gif"), CORPUS_FPS) if gif else contextlib.nullcontext() as gif_writer:
            return write_mp4(_into(frames, gif_writer, start) if gif else frames, output, CORPUS_FPS, audio=self.audio)

    def poses(self) -> PoseSequence:
        """The new dance as a PoseSequence on the user's canvas (pixels of the source, 20 fps)."""
        new = self.new
        return PoseSequence(new.keypoints, CORPUS_FPS, self.user.sequence.size,
                            f"bopbot dance of {Path(self.user.sequence.source).name}",
                            {"generator": new.generator, "words": " ".join(new.words)})

    def export(self, kind: str, folder: str | os.PathLike, force: bool = False) -> int:
        """The user's dance and the new one, frame by frame at the source's size, into `folder` as
        `kind` (one of `EXPORTS`); new or empty unless `force`. The number of frames written."""
        check_exports({kind: folder}, force, ("export()", "force=True"))  # the command line checked its own before
        check_apart(self.inputs(), [], [folder])
        both = np.concatenate([self.user.sequence.keypoints, self.new.keypoints])
        # the frames are named after the input file (a pose file's `source` is only a description)
        stem = Path(self.user.input or self.user.sequence.source).stem
        name = re.sub(r"[^\w.-]+", "_", stem)[:64].strip("._") or "bopbot"
        folder = Path(folder)
        there = set(os.listdir(folder)) if folder.is_dir() else set()
        try:
            if kind == "skeleton-png":
                return write_skeleton_pngs(both, folder, self.user.sequence.size, name)
            return write_openpose(both, folder, name, "COCO-18" if kind == "openpose-coco18" else "BODY_25")
        except BaseException:  # interrupted, or a full disk: the frames written so far would read back as
            for written in set(os.listdir(folder)) - there if folder.is_dir() else ():  # a whole, shorter dance
                (folder / written).unlink(missing_ok=True)
            raise


def _into(frames: Iterator[np.ndarray], gif: GifWriter, start: int = 0) -> Iterator[np.ndarray]:
    """`frames` passed on, each from number `start` on also written into the GIF."""
    for number, frame in enumerate(frames):
        if number >= start:
            gif.add(frame)
        yield frame
