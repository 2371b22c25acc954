"""`bopbot dance`, end to end: the user's dance in, a rendered continuation by the bopbot dancer out.

Extract the user's dance, encode it as pose words, let the model write what comes next, decode
the words to poses, smooth them into movement, put the dancer where the user danced, and render
one of three layouts: `continue` (the user's clip, then the bopbot dancer carrying on),
`side-by-side` (the clip beside the dancer) or `dancer-only`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from .choreograph import Sampling, smooth
from .errors import BopBotError
from .extract import extract, kind_of
from .model_folder import Choreographer
from .normalise import denormalise, normalise
from .pose_sequence import CORPUS_FPS, PoseSequence
from .render import background, dancer_frames, draw_dancer, write_gif, write_mp4

LAYOUTS = ("continue", "side-by-side", "dancer-only")
#: Output videos are scaled so their long side is at most this many pixels.
MAX_SIDE = 960
#: The stage for a dance with no user video (the demo): a square, the dancer centred.
STAGE = (720, 720)


@dataclass
class UserDance:
    """The user's dance as the pipeline needs it."""

    sequence: PoseSequence
    poses: np.ndarray
    placement: np.ndarray
    video: Path | None
    audio: Path | None
    audio_offset: float = 0.0


@dataclass
class DanceResult:
    video: Path
    gif: Path | None
    poses: Path | None
    context_words: int
    new_frames: int
    new_words: list[str]
    frames: int


def read_user_dance(path: str | os.PathLike, progress: bool = False) -> UserDance:
    """Extract the user's dance (first view for mocap) with its placement, video and music."""
    path = Path(path)
    sequence = extract(path, progress=progress)[0]
    if not sequence.present.any():
        raise BopBotError(path, "nobody found to continue dancing from")
    poses, placement = normalise(sequence.keypoints)
    is_video = kind_of(path) == "video"
    audio = Path(sequence.meta["audio"]) if sequence.meta.get("audio") else (path if is_video else None)
    return UserDance(sequence, poses, placement, path if is_video else None, audio, float(sequence.meta.get("audio_offset", 0.0)))


def primer_dance(choreographer: Choreographer) -> UserDance:
    """The few seconds of real dance stored with the model as words, on the demo stage."""
    words = choreographer.info.get("primer", {}).get("words")
    if not words:
        raise BopBotError(choreographer.folder, "the model has no primer dance; give an INPUT to continue")
    poses = choreographer.vocabulary.decode(choreographer.vocabulary.ids_of(words.split()))
    poses = smooth(poses)
    width, height = STAGE
    placement = np.tile(np.array([width / 2, height * 0.58, height / 5.5], dtype=np.float32), (len(poses), 1))
    sequence = PoseSequence(denormalise(poses, placement), CORPUS_FPS, STAGE, "primer")
    return UserDance(sequence, poses, placement, None, None)


def choreograph(choreographer: Choreographer, user: UserDance, seconds: float, sampling: Sampling) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Context ids, new ids (None for a generator without words), and the new dance as smoothed
    pixel keypoints placed where the user danced."""
    if not seconds > 0:
        raise BopBotError(None, f"--seconds must be above 0, got {seconds:g}")
    vocabulary = choreographer.vocabulary
    context = vocabulary.encode(user.poses)
    count = max(1, round(seconds * CORPUS_FPS))
    new = choreographer.generator.continue_dance(user.poses, count, sampling)
    new_poses = join_smoothly(vocabulary, user.poses, new.poses, context)
    placed = np.median(user.placement[-int(CORPUS_FPS):], axis=0)
    keypoints = denormalise(new_poses, np.tile(placed, (len(new_poses), 1)))
    return context, new.ids, keypoints


def join_smoothly(vocabulary, context: np.ndarray, keyframes: np.ndarray, context_ids: np.ndarray | None = None) -> np.ndarray:
    """The new keyframe poses as movement that carries on from the context's last second.

    The context's real poses lead in (missing joints taken from their words' poses), so the first
    new frames move away from where the dancer really was; only the new part is returned.
    """
    lead = context[-int(CORPUS_FPS):].copy()
    if context_ids is None:
        context_ids = vocabulary.encode(lead)
    words = vocabulary.decode(context_ids[-len(lead):])
    lead = np.where(lead[:, :, 2:3] > 0, lead, words)
    lead[:, :, 2] = 1.0
    return smooth(np.concatenate([lead, keyframes]))[len(lead):]


def _fit(size: tuple[int, int], max_side: int = MAX_SIDE) -> tuple[float, tuple[int, int]]:
    """Scale factor and even-sided output size with the long side at most `max_side`."""
    factor = min(1.0, max_side / max(size))
    return factor, (int(size[0] * factor) // 2 * 2, int(size[1] * factor) // 2 * 2)


def _scaled(keypoints: np.ndarray, factor: float) -> np.ndarray:
    out = keypoints.copy()
    out[:, :, :2] *= factor
    return out


def video_frames(path: Path, count: int, size: tuple[int, int]) -> Iterator[np.ndarray]:
    """`count` frames of the video at 20 fps and `size`, holding the last frame past its end."""
    from .video import decode_frames

    tick, last = 0, None
    for seconds, image in decode_frames(path, max_side=max(size)):
        last = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if image.shape[1::-1] != size else image
        while tick < count and tick / CORPUS_FPS <= seconds + 0.5 / CORPUS_FPS:
            yield last
            tick += 1
    while tick < count and last is not None:
        yield last
        tick += 1


def layout_frames(layout: str, user: UserDance, new: np.ndarray) -> tuple[Iterator[np.ndarray], int]:
    """The output frames for a layout, and how many there are."""
    factor, size = _fit(user.sequence.size)
    user_points = _scaled(user.sequence.keypoints, factor)
    new_sequence = PoseSequence(_scaled(new, factor), CORPUS_FPS, size)
    user_count = len(user_points)
    if layout == "dancer-only":
        return dancer_frames(new_sequence), len(new)

    def user_part(count: int) -> Iterator[np.ndarray]:
        if user.video is not None:
            yield from video_frames(user.video, count, size)
        else:
            yield from dancer_frames(PoseSequence(user_points[:count], CORPUS_FPS, size))

    if layout == "continue":
        def both() -> Iterator[np.ndarray]:
            yield from user_part(user_count)
            yield from dancer_frames(new_sequence)
        return both(), user_count + len(new)

    total = max(user_count, len(new))

    def side_by_side() -> Iterator[np.ndarray]:
        stage = background(*size)
        left = user_part(user_count)
        last_left = None
        for t in range(total):
            last_left = next(left, last_left)
            right = draw_dancer(stage.copy(), new_sequence.keypoints[min(t, len(new) - 1)])
            yield np.concatenate([last_left if last_left is not None else stage, right], axis=1)
    return side_by_side(), total


def dance(choreographer: Choreographer, input_path: str | os.PathLike | None, output: str | os.PathLike,
          seconds: float = 10.0, sampling: Sampling = Sampling(), layout: str = "continue", gif: bool = False,
          save_poses: bool = False, progress: bool = False) -> DanceResult:
    """Continue the dance in `input_path` (or the model's primer) and write it to `output`."""
    if layout not in LAYOUTS:
        raise BopBotError(None, f"--layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    output = Path(output)
    if not seconds > 0:
        raise BopBotError(None, f"--seconds must be above 0, got {seconds:g}")
    user = read_user_dance(input_path, progress) if input_path is not None else primer_dance(choreographer)
    context, new_ids, keypoints = choreograph(choreographer, user, seconds, sampling)
    frames, _ = layout_frames(layout, user, keypoints)
    written = write_mp4(frames, output, CORPUS_FPS, audio=user.audio, audio_offset=user.audio_offset)
    gif_path = poses_path = None
    if gif:
        gif_path = output.with_suffix(".gif")
        write_gif(layout_frames(layout, user, keypoints)[0], gif_path, CORPUS_FPS)
    words = choreographer.vocabulary.words_of(new_ids) if new_ids is not None else []
    if save_poses:
        poses_path = output.with_suffix(".npz")
        meta = {"generator": choreographer.generator.name, "words": " ".join(words)}
        PoseSequence(keypoints, CORPUS_FPS, user.sequence.size, f"bopbot dance of {input_path or 'primer'}", meta).save(poses_path)
    return DanceResult(output, gif_path, poses_path, len(context), len(keypoints), words, written)
