"""BopBot from Python: the command line's verbs as two calls and a result.

    import bopbot

    dancer = bopbot.Dancer.load()                   # the embedded model (or Dancer.load("my_model/"))
    new = dancer.dance("me.mp4", seconds=10, seed=0)
    new.save("next.mp4")                            # your clip, then the bopbot dancer, with its music
    new.export("openpose", "next_openpose/")        # both dances as OpenPose JSON, frame by frame
    new.poses                                       # the new dance: a PoseSequence on your video's canvas
    new.words                                       # ... and the pose words the model wrote

    poses = bopbot.extract("me.mp4")                # any video, keypoint or mocap file as a PoseSequence

`bopbot dance` and `bopbot demo` are this, with the model loading in a process of its own while the
video is read (`Dancer(ModelProcess(...))`), and `dance` saving the video as it goes (`save_to`);
the web page keeps one `Choreographer` per generator loaded and dances through `Dancer(choreographer)`. Bad input raises `BopBotError`,
whose message names the file or the keyword (`seconds=`) and the problem in one line: the numbers are
held to the command line's ranges (`limits.LIMITS`), and a PoseSequence to what a pose file may hold.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BopBotError

if TYPE_CHECKING:
    import numpy as np

    from ..choreography.new_dance import NewDance
    from ..choreography.dance import Dance
    from ..data.pose_sequence import PoseSequence


def extract(path: str | os.PathLike, max_seconds: float | None = None, progress: bool = False) -> PoseSequence:
    """The dance in `path` (a video, OpenPose JSON folder, BVH, Tang take, `.npz`/`.npy` keypoints)
    as a PoseSequence at 20 fps: COCO-17 keypoints in the source's pixels, as `bopbot extract`
    writes them (mocap: its first view). A dance longer than `max_seconds` is refused."""
    from ..ingest.extract import ExtractOptions
    from ..ingest.extract import extract as extract_sequences
    from .limits import check_number

    _check_file("path", path)
    check_number("max_clip_seconds", max_seconds, "max_seconds=")
    return extract_sequences(Path(path), ExtractOptions(max_seconds=max_seconds), progress=progress)[0]


class NewDanceResult:
    """What `Dancer.dance` made: the new dance after the user's, written when first needed."""

    def __init__(self, planned: Dance):
        self._planned = planned
        #: The frames of the video `Dancer.dance` saved (`save_to`); None where it saved none.
        self.frames_saved: int | None = None

    @property
    def written(self) -> NewDance:
        return self._planned.new

    @property
    def poses(self) -> PoseSequence:
        """The new dance: COCO-17 keypoints in the pixels of the user's video, 20 fps."""
        return self._planned.poses()

    @property
    def words(self) -> list[str]:
        """The pose words the model wrote, one a frame (none for the LSTM)."""
        return list(self.written.words)

    @property
    def user(self) -> PoseSequence:
        """The user's dance, as it was read."""
        return self._planned.user.sequence

    @property
    def tempo(self) -> float:
        """The tempo of the music it danced to, in beats a minute (0: no music, or no beat found)."""
        return self.written.tempo

    @property
    def keypoints(self) -> np.ndarray:
        """(T, 17, 3) the new dance's keypoints (x, y in pixels, confidence)."""
        return self.written.keypoints

    @property
    def music(self) -> Path | None:
        """The music the new dance followed: the song, the video's own sound, or None."""
        return self._planned.music.path if self._planned.music is not None else None

    @property
    def music_loop(self) -> tuple[float, float, float] | None:
        """Where the music ends under the new dance, how its sound carries on: from `splice` s into
        the music file, its `seconds` from `start` again and again, on the beat (`TrackBeats.sound_loop`);
        None where the music lasts, or is none."""
        return next((piece.loop for piece in self._planned.audio if piece.loop is not None), None)

    @property
    def unheard_seconds(self) -> float:
        """Seconds at the end of the new dance that its music no longer sounds under: only where a
        song of under 5 beats ends first (a longer one carries on, `music_loop`). 0 without music."""
        music = self._planned.music
        if music is None or self.written.music_loop is not None:
            return 0.0
        return max(0.0, len(self.keypoints) / 20 - max(0.0, self.written.music_seconds - music.start))

    @property
    def beats(self) -> int:
        """How many of the music's beats fall in the new dance."""
        return self.written.beats

    @property
    def phrasing(self) -> str:
        """The eight-counts that start in it, and how many dance the one before again, in words."""
        phrases, repeats = self.written.phrases, self.written.repeats
        return (f"{phrases} eight-count{'s' if phrases != 1 else ''} starting in it"
                + (f", {repeats} of them dancing the one before again" if repeats else ""))

    def save(self, path: str | os.PathLike, gif: bool = False, progress: bool = False) -> int:
        """The video of the layout chosen at `dance` as an H.264 `.mp4` at `path`, with its music (and
        a GIF beside it, from the same frames, if `gif`). Returns the number of frames written."""
        _check_file("path", path)
        return self._planned.save_video(_mp4(path), gif, progress)

    def save_poses(self, path: str | os.PathLike) -> Path:
        """The new dance as a PoseSequence `.npz` (what `bopbot extract` reads back)."""
        from ..files import check_apart

        _check_file("path", path)
        path = Path(path)
        if path.suffix.lower() != ".npz":  # numpy would write "poses.txt" as poses, which extract reads as a list
            raise BopBotError(path, "the poses must be an .npz file (what `bopbot extract` reads back)")
        check_apart(self._planned.inputs(), [path])
        self.poses.save(path)
        return path

    def export(self, kind: str, folder: str | os.PathLike, force: bool = False) -> int:
        """The user's dance and the new one, frame by frame at the source's size, into `folder`:
        `kind` is "openpose" (BODY_25 JSON), "openpose-coco18" or "skeleton-png". The folder must be
        new or empty unless `force`. Returns the number of frames written."""
        _check_file("folder", folder)
        return self._planned.export(kind, folder, force)


def _check_file(keyword: str, value) -> None:
    """Raise a BopBotError naming `keyword` unless `value` names a file (a str or a path)."""
    if isinstance(value, str) and not value:  # Path("") is the current folder: read or written there, it surprised
        raise BopBotError(None, f"{keyword}= names no file: the name is empty")
    if not isinstance(value, (str, os.PathLike)):
        shape = getattr(value, "shape", None)
        if shape is not None:  # an array's repr runs over many lines: name its type and shape
            got = f"an array of shape {tuple(shape)}"
            if keyword == "source":
                got += ("; keypoints in memory dance as a PoseSequence: "
                        "bopbot.data.pose_sequence.PoseSequence(keypoints, fps, (width, height))")
        else:
            got = " ".join(repr(value).split())[:60]
        raise BopBotError(None, f"{keyword}= must name a file (a str or a Path), got {got}")


def _check_sequence(sequence: PoseSequence, max_seconds: float | None) -> None:
    """Hold a PoseSequence given as the source to what `extract` takes from a file: a dance's frame
    rate and length, and the size, meta and joints a pose file may hold."""
    from ..data.pose_sequence import check_coordinates, check_meta, check_size
    from ..ingest.extract import check_rate_and_length

    named = "source (a PoseSequence)"
    check_rate_and_length(named, sequence, max_seconds)
    check_size(named, sequence.size)
    check_meta(named, sequence.meta)
    check_coordinates(named, sequence.keypoints)


def _mp4(path: str | os.PathLike) -> Path:
    """`path`, which must name an `.mp4` file."""
    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise BopBotError(path, "the output must be an .mp4 file")
    return path


class Dancer:
    """A model folder ready to dance: `Dancer.load()` for the embedded model."""

    def __init__(self, model, progress: bool = False):
        """`model`: a `Choreographer`, or a `ModelProcess` loading one; `progress`: show progress bars."""
        self.model = model
        self.progress = progress

    @classmethod
    def load(cls, model: str | os.PathLike | None = None, generator: str = "gpt2", progress: bool = False) -> Dancer:
        """The model folder `model` (the embedded one when None) with its `generator` (gpt2,
        gpt2-music, lstm, ngram, nearest, random)."""
        from ..models.model_folder import Choreographer

        if model is not None and not isinstance(model, str):  # an empty name is the folder's to say
            _check_file("model", model)
        return cls(Choreographer.load(model, generator), progress)

    def dance(self, source: str | os.PathLike | PoseSequence | None, seconds: float | None = 10.0,
              music: str | os.PathLike | None = None, seed: int | None = None, *, layout: str = "continue",
              music_from_start: bool = False, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0,
              echo: float = 2.0, max_seconds: float | None = None, save_to: str | os.PathLike | None = None,
              gif: bool = False) -> NewDanceResult:
        """Continue the dance in `source` (a file `extract` reads, a PoseSequence, or None for the
        model's own primer dance) for `seconds` (None with `music`: the rest of the song).

        `music`: a song to dance to (default: the video's own sound, if any). `layout` is how `save`
        will show it, chosen here because it decides where in the music the new dance starts:
        "continue" (the clip, then the dancer), "side-by-side", "dancer-only" or "skeleton".
        `music_from_start`: the song plays under the clip too. `seed` (0 to 2**32 - 1; None: a new
        dance each time) makes the dance repeatable; `temperature`, `top_k`, `top_p` and `echo` are
        the sampling settings of `bopbot dance`, and they, `seconds` (at most 600) and `max_seconds`
        (the longest `source` read) are held to its options' ranges (`limits.LIMITS`).
        `save_to`: also `save` the video there (with its GIF if `gif`), sooner than `save` after:
        the clip's part of a `continue` video is encoded while the clip is read; `frames_saved`
        then says how many frames it has.
        """
        from ..choreography.begun_video import BegunVideo
        from ..choreography.dance import Dance, output_files
        from ..choreography.user_dance import primer_dance, read_user_dance, user_dance_of
        from ..data.pose_sequence import PoseSequence
        from ..files import check_apart
        from ..ingest.extract import kind_of
        from ..models.generators import check_reads
        from ..models.sampling import Sampling
        from ..music.audio import check_music
        from .limits import check_number

        for keyword, value in (("seconds", seconds), ("seed", seed), ("temperature", temperature),
                               ("top_k", top_k), ("top_p", top_p), ("echo", echo)):
            check_number(keyword, value, f"{keyword}=")
        check_number("max_clip_seconds", max_seconds, "max_seconds=")
        changed = [keyword for keyword, value in (("temperature", temperature), ("top_k", top_k), ("top_p", top_p),
                                                  ("echo", echo)) if value != getattr(Sampling(), keyword)]
        check_reads(self.generator, changed, lambda keyword: f"{keyword}=")
        for keyword, value in (("music", music), ("save_to", save_to)):
            if value is not None:
                _check_file(keyword, value)
        if isinstance(source, PoseSequence):
            _check_sequence(source, max_seconds)
        elif source is not None:
            _check_file("source", source)
        if music_from_start and not music:
            raise BopBotError(None, "music_from_start says when a song starts: give the song as `music`")
        sampling = Sampling(temperature, top_k, top_p, seed, echo)
        sampling.check()  # every setting checked, and the song read, before the video is
        if music is not None:
            check_music(music)
        begun = None
        if save_to is not None:
            save_to = _mp4(save_to)
            is_file = source is not None and not isinstance(source, PoseSequence)
            check_apart([source if is_file else None, music], output_files(save_to, gif))
            if is_file and layout == "continue" and kind_of(Path(source)) == "video":
                begun = BegunVideo(save_to, source, music, music_from_start, gif)
        try:
            if source is None:
                user = primer_dance(self.model_folder)
            elif isinstance(source, PoseSequence):
                user = user_dance_of(source)
            else:
                user = read_user_dance(source, progress=self.progress, max_seconds=max_seconds, watch=begun)
            result = NewDanceResult(Dance(self.model, user, seconds, sampling, layout, music, music_from_start))
            if seconds is None and result._planned.music is None:  # said now, not when the dance is first asked for
                raise BopBotError(None, "seconds=None dances the rest of the song, and there is no song: "
                                        "give seconds= or music=")
        except BaseException:
            if begun is not None:
                begun.abort()
            raise
        if save_to is not None:
            result.frames_saved = result._planned.save_video(save_to, gif, self.progress, begun)
        return result

    @property
    def generator(self) -> str | None:
        """The name of the generator that writes the dances (None where the model does not say)."""
        generator = getattr(self.model, "generator", None)
        return getattr(generator, "name", generator)

    @property
    def model_folder(self) -> Path | None:
        """The model folder (None: the embedded one)."""
        folder = getattr(self.model, "folder", None)
        return Path(folder) if folder is not None else None
