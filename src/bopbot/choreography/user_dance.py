"""The user's dance as the choreography needs it: extracted from their file with its placement,
video frames and music, or the primer dance stored with the model."""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.normalise import denormalise, normalise
from ..data.pose_sequence import CORPUS_FPS, PoseSequence
from ..errors import BopBotError
from ..ingest.extract import ExtractOptions, extract, kind_of

#: The stage for a dance with no user video (the demo): a square, the dancer centred.
STAGE = (720, 720)
#: The user's video frames are kept from extraction for the layouts that show the clip, up to this
#: many bytes (about 17 s of a 540x960 clip at 20 fps); a longer clip is decoded again to draw it,
#: so memory stays bounded (a 33 s 512x896 phone clip peaked at 1.26 GB with 2 GiB kept, 0.92 GB now).
KEEP_FRAMES_BYTES = 512 * 1024**2


@dataclass
class UserDance:
    """The user's dance as the pipeline needs it."""

    sequence: PoseSequence
    poses: np.ndarray
    placement: np.ndarray
    video: Path | None
    audio: Path | None
    audio_offset: float = 0.0
    #: The video's frames as the detector saw them: (seconds, RGB) 20 a second, the long side at
    #: most `pose_detector.DETECT_MAX_SIDE`; None where they were not kept.
    frames: list[tuple[float, np.ndarray]] | None = None
    #: The file or folder the dance was read from (None: given as poses, or the primer). No output
    #: may land on it; the sequence's own `source` is only a description (a pose file says its own).
    input: Path | None = None


class KeptFrames(list):
    """(seconds, frame) pairs kept up to `limit` bytes; past it the list empties itself and keeps
    nothing more (`complete` turns False), so a long video costs no more memory than that."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit, self.bytes, self.complete = limit, 0, True

    def append(self, item: tuple[float, np.ndarray]) -> None:
        if not self.complete:
            return
        self.bytes += item[1].nbytes
        if self.bytes > self.limit:
            self.complete = False
            self.clear()
            return
        super().append(item)


@dataclass(frozen=True)
class Music:
    """The music the new dance is danced to: a file with sound, and where in it the new dance starts (s)."""

    path: Path
    start: float


def read_user_dance(path: str | os.PathLike, progress: bool = False, max_seconds: float | None = None,
                    watch=None) -> UserDance:
    """Extract the user's dance (first view for mocap) with its placement, video and music; a
    dance longer than `max_seconds` is refused (a video as soon as decoding gets there). A video's
    frames are kept (`KeptFrames`), or, with `watch`, handed to its `append` as the detector sees
    them (`begun_video.BegunVideo` encodes them) and not kept."""
    path = Path(path)
    is_video = kind_of(path) == "video"
    kept = KeptFrames(KEEP_FRAMES_BYTES) if is_video and watch is None else None
    sequence = extract(path, ExtractOptions(max_seconds=max_seconds), progress=progress,
                       keep_frames=kept if watch is None else watch)[0]
    if not sequence.present.any():
        raise BopBotError(path, "nobody found to continue dancing from")
    audio = _named_music(sequence.meta["audio"], path) if sequence.meta.get("audio") else (path if is_video else None)
    user = user_dance_of(sequence, path if is_video else None, audio, kept if kept is not None and kept.complete else None)
    user.input = path
    return user


def _named_music(audio: str, named_by: Path) -> Path | None:
    """The song a dance file names as its music (a Tang take's, or a pose file's from the clip it
    came from), checked as --music is: a file must not make BopBot read a pipe, a device or
    another kind of stream as music. Where it is no song to dance to, a warning and no music."""
    from ..music.audio import check_music

    try:
        check_music(audio)
    except BopBotError as exc:
        warnings.warn(f"{named_by}: the music it names cannot be danced to ({str(exc)[:300]}); the new dance keeps "
                      "its own time")
        return None
    return Path(audio)


def user_dance_of(sequence: PoseSequence, video: Path | None = None, audio: Path | None = None,
                  frames: list | None = None) -> UserDance:
    """The user's dance from its PoseSequence (resampled to 20 fps where it is not), normalised, with
    its `video`, music and kept `frames` where it has them."""
    if sequence.fps != CORPUS_FPS:
        sequence = sequence.resample(CORPUS_FPS)
    if not sequence.present.any():
        raise BopBotError(sequence.source, "nobody found to continue dancing from")
    poses, placement = normalise(sequence.keypoints)
    return UserDance(sequence, poses, placement, video, audio, float(sequence.meta.get("audio_offset", 0.0)), frames)


def primer_dance(folder: str | os.PathLike | None = None) -> UserDance:
    """The few seconds of real dance stored with the model in `folder` (the embedded one when None)
    as words moved by the folder's word decoder, on the demo stage. Reads the vocabulary, the
    decoder and the settings, not the generators."""
    from ..models.model_folder import DEFAULT_MODEL, PIPELINE_FILE, check_model_folder, read_pipeline_info
    from ..vocabulary.vocabulary import PoseVocabulary

    folder = Path(folder) if folder is not None else DEFAULT_MODEL
    check_model_folder(folder)
    primer = read_pipeline_info(folder).get("primer")
    words = primer.get("words") if isinstance(primer, dict) else None
    if not words:
        raise BopBotError(folder, "the model has no primer dance to continue: dance from your own input with "
                                  f"`bopbot dance INPUT --model {folder}`, or store one with "
                                  f"`bopbot tokens INPUT --model {folder} --set-primer`")
    vocabulary = PoseVocabulary.load(folder)
    try:
        ids = vocabulary.ids_of(words.split())
    except (AttributeError, ValueError) as exc:
        why = exc if isinstance(exc, ValueError) else "it is not a string of words"
        raise BopBotError(folder / PIPELINE_FILE, f"damaged primer: {why}") from None
    from ..models.decoder import WordMover, load_decoder

    poses = WordMover(vocabulary, load_decoder(folder, vocabulary)).movement(ids)
    width, height = STAGE
    placement = np.tile(np.array([width / 2, height * 0.58, height / 5.5], dtype=np.float32), (len(poses), 1))
    sequence = PoseSequence(denormalise(poses, placement), CORPUS_FPS, STAGE, "primer")
    return UserDance(sequence, poses, placement, None, None)
