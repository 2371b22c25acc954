"""`bopbot dance`, end to end: the user's dance in, a rendered continuation by the bopbot dancer out.

Extract the user's dance, encode it as pose words, let the model write what comes next, decode
the words to poses, smooth them into movement, put the dancer where the user danced, and render
one of three layouts: `continue` (the user's clip, then the bopbot dancer carrying on),
`side-by-side` (the clip beside the dancer) or `dancer-only`.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import cv2
import numpy as np
from scipy import ndimage
from tqdm import tqdm

from .audio import audio_rate
from .choreograph import Sampling, smooth, word_motion
from .errors import BopBotError
from .extract import extract, kind_of
from .model_folder import Choreographer
from .model_process import ModelProcess
from .normalise import denormalise, normalise
from .pose_sequence import CORPUS_FPS, PoseSequence
from .render import LAYOUTS, AudioPiece, GifWriter, background, dancer_frames, draw_dancer, write_mp4
from .skeleton import INDEX

#: Output videos are scaled so their long side is at most this many pixels.
MAX_SIDE = 960
#: The stage for a dance with no user video (the demo): a square, the dancer centred.
STAGE = (720, 720)
#: How long the new dance takes to hand over from the user's motion to its own.
HANDOVER_SECONDS = 0.5
#: Each frame of the handover, the user's carried-on velocity keeps this share of the last.
CARRY_DECAY = 0.8
#: Room the robot needs beyond its joints, in torso lengths: above (its helmet), below (the shadow
#: at its feet) and to each side (limb thickness); see `render.draw_dancer`.
ROBOT_MARGINS = (0.35, 0.3, 0.15)
#: A dancer taller or wider than this share of the picture is shrunk to it.
FIT = 0.95
#: With a song and no `seconds`, the new dance lasts the rest of the song, up to this many seconds.
MAX_SONG_SECONDS = 60.0
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


@dataclass
class DanceResult:
    video: Path
    gif: Path | None
    poses: Path | None
    context_words: int
    new_frames: int
    new_words: list[str]
    frames: int
    #: The music the new dance followed (None: it had none), its tempo and how many beats it met.
    music: Path | None = None
    tempo: float = 0.0
    beats: int = 0


def read_user_dance(path: str | os.PathLike, progress: bool = False) -> UserDance:
    """Extract the user's dance (first view for mocap) with its placement, video and music."""
    path = Path(path)
    is_video = kind_of(path) == "video"
    kept = KeptFrames(KEEP_FRAMES_BYTES) if is_video else None
    sequence = extract(path, progress=progress, keep_frames=kept)[0]
    if not sequence.present.any():
        raise BopBotError(path, "nobody found to continue dancing from")
    poses, placement = normalise(sequence.keypoints)
    audio = Path(sequence.meta["audio"]) if sequence.meta.get("audio") else (path if is_video else None)
    return UserDance(sequence, poses, placement, path if is_video else None, audio,
                     float(sequence.meta.get("audio_offset", 0.0)), kept if kept is not None and kept.complete else None)


def primer_dance(folder: str | os.PathLike | None = None) -> UserDance:
    """The few seconds of real dance stored with the model in `folder` (the embedded one when None)
    as words, on the demo stage. Reads the vocabulary and settings only, not the generators."""
    from .model_folder import DEFAULT_MODEL, PIPELINE_FILE, read_pipeline_info
    from .vocabulary import PoseVocabulary

    folder = Path(folder) if folder is not None else DEFAULT_MODEL
    if not folder.is_dir():
        raise BopBotError(folder, "no such model folder")
    primer = read_pipeline_info(folder).get("primer")
    words = primer.get("words") if isinstance(primer, dict) else None
    if not words:
        raise BopBotError(folder, "the model has no primer dance; give an INPUT to continue")
    vocabulary = PoseVocabulary.load(folder)
    try:
        ids = vocabulary.ids_of(words.split())
    except (AttributeError, ValueError) as exc:
        why = exc if isinstance(exc, ValueError) else "it is not a string of words"
        raise BopBotError(folder / PIPELINE_FILE, f"damaged primer: {why}") from None
    poses = smooth(word_motion(vocabulary, ids))
    width, height = STAGE
    placement = np.tile(np.array([width / 2, height * 0.58, height / 5.5], dtype=np.float32), (len(poses), 1))
    sequence = PoseSequence(denormalise(poses, placement), CORPUS_FPS, STAGE, "primer")
    return UserDance(sequence, poses, placement, None, None)


@dataclass
class NewDance:
    """What the model wrote after the user's dance: the new dance as pixel keypoints on the user's
    canvas, its word ids and words (none for a generator without words)."""

    context_words: int
    ids: np.ndarray | None
    keypoints: np.ndarray
    words: list[str]
    generator: str
    #: The tempo of the music it was danced to (0: none, or no beat found) and its beats in the dance.
    tempo: float = 0.0
    beats: int = 0


def choreograph(choreographer: Choreographer, user: UserDance, seconds: float | None, sampling: Sampling,
                music: Music | None = None) -> NewDance:
    """Encode the user's dance as words, let the generator continue it for `seconds`, put the new
    dance on the user's canvas (`continue_on_canvas`), and play it on the beat of the `music`
    (`retime`: the generator then writes a little more, for the warp to draw on). The generator
    hears the music too (only `gpt2-music` listens): the user's dance hears what of the song lies
    before the new dance's start, silence before the song. With music, `seconds` None is the rest
    of the song (`MAX_SONG_SECONDS` at most)."""
    from .beats import music_beats, music_frames  # librosa: imported only for a dance with music
    from .retime import beat_warp, play, source_frames_needed

    track = music_beats(str(music.path)) if music is not None else None
    if seconds is None:
        if track is None:
            raise BopBotError(None, "say how many --seconds to dance: there is no song to last")
        seconds = min(track.seconds - music.start, MAX_SONG_SECONDS)
        if not seconds > 0:
            raise BopBotError(music.path, f"the song is {track.seconds:.1f} s long: it ends before the new "
                                          "dance starts")
    count = max(1, round(seconds * CORPUS_FPS))
    beats = track.between(music.start, count / CORPUS_FPS) if track is not None else np.zeros(0)
    vocabulary = choreographer.vocabulary
    context = vocabulary.encode(user.poses)
    written = source_frames_needed(count) if len(beats) else count
    heard = (music_frames(track, music.start - len(user.poses) / CORPUS_FPS, len(user.poses) + written)
             if track is not None else None)
    new = choreographer.generator.continue_dance(user.poses, written, sampling, heard)
    keypoints = continue_on_canvas(vocabulary, choreographer.travel, user.poses, user.placement, new.poses,
                                   user.sequence.size, context)
    shown = beat_warp(normalise(keypoints)[0], beats, count, CORPUS_FPS)
    keypoints = play(keypoints, shown)
    ids = new.ids[np.round(shown).astype(int)] if new.ids is not None else None
    words = vocabulary.words_of(ids) if ids is not None else []
    return NewDance(len(context), ids, keypoints, words, choreographer.generator.name,
                    track.tempo if track is not None else 0.0, len(beats))


def lead_in(vocabulary, context: np.ndarray, context_ids: np.ndarray | None = None) -> np.ndarray:
    """The context's last second as whole poses: missing joints taken from their words' poses."""
    lead = context[-int(CORPUS_FPS):].copy()
    if context_ids is None:
        context_ids = vocabulary.encode(lead)
    lead = np.where(lead[:, :, 2:3] > 0, lead, vocabulary.decode(context_ids[-len(lead):]))
    lead[:, :, 2] = 1.0
    return lead


def _handover(frames: int) -> tuple[np.ndarray, np.ndarray]:
    """For the first `frames` new frames: how much of the user's last step each carries on (decaying
    by `CARRY_DECAY` a frame), and the smoothstep weight of the new movement against it."""
    steps = np.arange(1, frames + 1)
    ramp = steps / (frames + 1)
    return CARRY_DECAY ** steps, ramp * ramp * (3 - 2 * ramp)


def join_smoothly(vocabulary, context: np.ndarray, keyframes: np.ndarray, context_ids: np.ndarray | None = None) -> np.ndarray:
    """The new keyframe poses as movement that carries on from the context, without a jump.

    The context's last second leads in, and `smooth` turns lead-in and keyframes into movement.
    Over the first `HANDOVER_SECONDS` the dancer then hands over from the real motion carried on
    (the last real pose moving on with its last velocity, slowing down) to that movement, with a
    smoothstep weight: so the first new frame is one ordinary step from the last real one, in the
    direction the dancer was already moving. Only the new part is returned.
    """
    lead = lead_in(vocabulary, context, context_ids)
    moving = smooth(np.concatenate([lead, keyframes]))[len(lead):]
    frames = min(len(moving), round(HANDOVER_SECONDS * CORPUS_FPS))
    if frames and len(lead) > 1:
        carry, weight = _handover(frames)
        carried = lead[-1, :, :2] + (lead[-1, :, :2] - lead[-2, :, :2]) * np.cumsum(carry)[:, None, None]
        moving[:frames, :, :2] = (1 - weight)[:, None, None] * carried + weight[:, None, None] * moving[:frames, :, :2]
    return moving


def hand_over_path(context_placement: np.ndarray, placement: np.ndarray) -> np.ndarray:
    """The new dance's (T, 3) placement (hip x, hip y, scale in pixels) with its first steps handed
    over from the user's last step as `join_smoothly` hands over the poses: the hips carry on the
    way they were going and turn to the travel model's path over `HANDOVER_SECONDS`, instead of
    taking the model's first stride at once."""
    frames = min(len(placement), round(HANDOVER_SECONDS * CORPUS_FPS))
    if not frames or len(context_placement) < 2:
        return placement
    path = np.concatenate([context_placement[-1:], placement]).astype(np.float64)
    steps = np.diff(path[:, :2], axis=0)
    zooms = np.diff(np.log(np.maximum(path[:, 2], 1e-9)))
    last = np.asarray(context_placement[-1], dtype=np.float64) - np.asarray(context_placement[-2], dtype=np.float64)
    last_zoom = np.log(max(context_placement[-1][2], 1e-9) / max(context_placement[-2][2], 1e-9))
    carry, weight = _handover(frames)
    steps[:frames] = (1 - weight)[:, None] * carry[:, None] * last[:2] + weight[:, None] * steps[:frames]
    zooms[:frames] = (1 - weight) * carry * last_zoom + weight * zooms[:frames]
    out = np.empty_like(placement, dtype=np.float64)
    out[:, :2] = path[0, :2] + np.cumsum(steps, axis=0)
    out[:, 2] = path[0, 2] * np.exp(np.cumsum(zooms))
    return out.astype(np.float32)


def continue_on_canvas(vocabulary, travel, context: np.ndarray, context_placement: np.ndarray, keyframes: np.ndarray,
                       size: tuple[int, int], context_ids: np.ndarray | None = None) -> np.ndarray:
    """The new dance as pixel keypoints on the user's `size` canvas: joined to the context without a
    jump, travelling on from the context's last placement along the path the travel model reads
    from the poses at the user's own pace (the dancer stays there when the model folder has no
    travel model), and kept inside the frame from its first second on (eased in: a user cut off by
    the frame is continued from where they were)."""
    from .travel import travel_path, user_pace  # torch: imported only once a dance is written

    if context_ids is None:
        context_ids = vocabulary.encode(context)
    poses = join_smoothly(vocabulary, context, keyframes, context_ids)
    pace = user_pace(travel, smooth(word_motion(vocabulary, context_ids)), context_placement)
    placement = hand_over_path(context_placement, travel_path(travel, lead_in(vocabulary, context, context_ids), poses,
                                                              context_placement[-1], pace))
    return keep_in_frame(denormalise(poses, placement), size, ease_in=True)


def _smallest_scale(required: np.ndarray, frames: int) -> np.ndarray:
    """A smooth curve at or below a per-frame largest allowed scale: the minimum over +-`frames`
    frames, then a Gaussian whose reach (4 sigma) is no wider, so every frame it averages met it."""
    lowest = ndimage.minimum_filter1d(required, 2 * frames + 1, mode="nearest")
    return ndimage.gaussian_filter1d(lowest, frames / 4, mode="nearest", truncate=4.0)


def _shift_within(low: np.ndarray, high: np.ndarray, frames: int, rounds: int = 12) -> np.ndarray:
    """A smooth shift inside the per-frame corridor [low, high] (low <= high), 0 where 0 fits:
    smoothed and clipped back into the corridor in turns, ending clipped, so it never leaves it."""
    shift = np.clip(0.0, low, high)
    for _ in range(rounds):
        shift = np.clip(ndimage.gaussian_filter1d(shift, frames / 4, mode="nearest"), low, high)
    return shift


def _fit(xy: np.ndarray, hips: np.ndarray, margins: tuple[np.ndarray, ...], size: tuple[int, int], fit: float,
         frames: int) -> np.ndarray:
    """(T, 17, 2) joints (NaN where missing) shrunk about the `hips` wherever the body plus its
    `margins` (above, below, to each side, per frame) is over `fit` of the canvas, then moved by the
    smallest smooth shift that puts it inside; both changes reach at most `frames` either side."""
    width, height = size
    above, below, side = margins

    def extent(points: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, ...]:
        """Left, right, top, bottom of the body drawn at `points`, margins included."""
        return (np.nanmin(points[:, :, 0], axis=1) - side * scale, np.nanmax(points[:, :, 0], axis=1) + side * scale,
                np.nanmin(points[:, :, 1], axis=1) - above * scale, np.nanmax(points[:, :, 1], axis=1) + below * scale)

    left, right, top, bottom = extent(xy, np.ones(len(xy)))
    fits = np.minimum(fit * width / np.maximum(right - left, 1e-6), fit * height / np.maximum(bottom - top, 1e-6))
    scale = _smallest_scale(np.minimum(1.0, fits), frames)
    xy = hips[:, None, :] + (xy - hips[:, None, :]) * scale[:, None, None]
    left, right, top, bottom = extent(xy, scale)
    shift = np.stack([_shift_within(-left, width - right, frames), _shift_within(-top, height - bottom, frames)], axis=1)
    return xy + shift[:, None, :]


def _centre(xy: np.ndarray, part: str) -> np.ndarray:
    """(T, 2) the mid-point of the left and right `part` (hip, shoulder) of (T, 17, 2) joints, NaN
    where neither is present."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a frame without that part
        return np.nanmean(xy[:, [INDEX[f"left_{part}"], INDEX[f"right_{part}"]]], axis=1)


def keep_in_frame(keypoints: np.ndarray, size: tuple[int, int], seconds: float = 1.0, ease_in: bool = False) -> np.ndarray:
    """Pixel keypoints of the bopbot dancer moved and scaled, smoothly, so that the whole robot
    (helmet, limbs and the shadow at its feet) stays inside a `size` canvas in every frame.

    First the dancer is shrunk (about the hips) wherever it would not fit, to at most `FIT` of the
    picture; then moved by the smallest smooth shift that keeps it inside. Frames already inside
    are not touched unless a neighbour within `seconds` needs room: the camera follows the dancer
    gently rather than jumping.

    With `ease_in` the first frame is left where it is and the correction grows to its whole over
    `seconds` (smoothstep): a continuation of a user who fills the picture starts where the user was
    and moves its helmet and shadow into the frame, instead of shrinking at the join. Every joint is
    inside the canvas in every frame all the same (a user whose feet the frame cut off is continued
    with the feet in, the one jump this allows); every frame from `seconds` on has the whole robot in.
    """
    keypoints = np.asarray(keypoints, dtype=np.float32).copy()
    present = keypoints[:, :, 2] > 0
    if not present.any(axis=1).all():
        return keypoints
    frames = max(1, round(seconds * CORPUS_FPS))
    xy = np.where(present[..., None], keypoints[:, :, :2], np.nan).astype(np.float64)
    hips = _centre(xy, "hip")
    torso = np.linalg.norm(_centre(xy, "shoulder") - hips, axis=1)
    torso = np.where(np.isnan(torso), np.ptp(np.nan_to_num(xy[:, :, 1]), axis=1) / 3.3, torso)
    hips = np.where(np.isnan(hips), np.nanmean(xy, axis=1), hips)
    robot = tuple(margin * torso for margin in ROBOT_MARGINS)
    fitted = _fit(xy, hips, robot, size, FIT, frames)
    if ease_in:
        ramp = np.clip(np.arange(len(xy)) / frames, 0.0, 1.0)
        weight = (ramp * ramp * (3 - 2 * ramp))[:, None, None]
        fitted = xy + weight * (fitted - xy)
        eased_hips = _centre(fitted, "hip")
        eased_hips = np.where(np.isnan(eased_hips), np.nanmean(fitted, axis=1), eased_hips)
        half_pixel = tuple(np.full(len(xy), 0.5) for _ in ROBOT_MARGINS)  # joints on the canvas, rounding aside
        fitted = _fit(fitted, eased_hips, half_pixel, size, 1.0, max(1, frames // 4))
    keypoints[:, :, :2] = np.where(present[..., None], fitted, keypoints[:, :, :2])
    return keypoints


def output_scale(size: tuple[int, int], max_side: int = MAX_SIDE) -> tuple[float, tuple[int, int]]:
    """Scale factor and even-sided output size with the long side at most `max_side`."""
    factor = min(1.0, max_side / max(size))
    return factor, (int(size[0] * factor) // 2 * 2, int(size[1] * factor) // 2 * 2)


def _scaled(keypoints: np.ndarray, factor: float) -> np.ndarray:
    out = keypoints.copy()
    out[:, :, :2] *= factor
    return out


def video_frames(user: UserDance, count: int, size: tuple[int, int]) -> Iterator[np.ndarray]:
    """`count` frames of the user's video at 20 fps and `size`, holding the last frame past its end:
    the frames kept from extraction, or else the video decoded again (ahead, in a thread)."""
    from .ahead import read_ahead
    from .video import decode_frames

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
    its beats carry on at its tempo. With a `song`, in the `continue` layout the clip keeps its own
    sound and the song starts with the new dance, or (`song_from_start`) the song plays from the
    start and the new dance picks it up where the clip ends; in the other layouts, where the new
    dance starts with the video, the song plays from the start.
    """
    before = len(user.sequence.keypoints) / CORPUS_FPS if layout == "continue" else 0.0
    if song is None:
        if user.audio is None or not audio_rate(user.audio):
            return None, []
        return Music(Path(user.audio), user.audio_offset + before), [AudioPiece(user.audio, user.audio_offset)]
    song = Path(song)
    if layout != "continue" or song_from_start:
        return Music(song, before), [AudioPiece(song)]
    under_clip = AudioPiece(user.audio, user.audio_offset, before) if user.audio else AudioPiece(None, 0.0, before)
    return Music(song, 0.0), [under_clip, AudioPiece(song)]


def dance(model: Choreographer | ModelProcess, user: UserDance, output: str | os.PathLike,
          seconds: float | None = 10.0, sampling: Sampling = Sampling(), layout: str = "continue", gif: bool = False,
          save_poses: bool = False, song: str | os.PathLike | None = None,
          song_from_start: bool = False, progress: bool = False) -> DanceResult:
    """Continue `user`'s dance (`read_user_dance`, or `primer_dance`) and write it to `output`, with a
    GIF made from the same frames and the new poses if asked. The new dance follows the music of
    `soundtrack` (with a `song`, `seconds` None is the rest of it). With `progress`, a bar counts
    the frames drawn (a 600 s dance draws for minutes).

    `model` is a loaded Choreographer, or a ModelProcess that may still be loading: it is asked for
    the new dance only when that is first drawn, after the user's part of a `continue` video has
    been drawn and encoded.
    """
    if layout not in LAYOUTS:
        raise BopBotError(None, f"--layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    output = Path(output)
    if seconds is not None and not seconds > 0:
        raise BopBotError(None, f"--seconds must be above 0, got {seconds:g}")
    music, audio = soundtrack(user, layout, song, song_from_start)
    written: list[NewDance] = []

    def new_keypoints() -> np.ndarray:
        if isinstance(model, Choreographer):
            written.append(choreograph(model, user, seconds, sampling, music))
        else:
            written.append(model.choreograph(user, seconds, sampling, music))
        return written[0].keypoints

    frames = tqdm(layout_frames(layout, user, new_keypoints), desc="dancing", unit="frame",
                  disable=not progress, leave=False)
    gif_path = output.with_suffix(".gif") if gif else None
    with GifWriter(gif_path, CORPUS_FPS) if gif else contextlib.nullcontext() as gif_writer:
        count = write_mp4(_into(frames, gif_writer) if gif else frames, output, CORPUS_FPS, audio=audio)
    new = written[0]
    poses_path = None
    if save_poses:
        poses_path = output.with_suffix(".npz")
        meta = {"generator": new.generator, "words": " ".join(new.words)}
        PoseSequence(new.keypoints, CORPUS_FPS, user.sequence.size, f"bopbot dance of {user.sequence.source}",
                     meta).save(poses_path)
    return DanceResult(output, gif_path, poses_path, new.context_words, len(new.keypoints), new.words, count,
                       music.path if music is not None else None, new.tempo, new.beats)


def _into(frames: Iterator[np.ndarray], gif: GifWriter) -> Iterator[np.ndarray]:
    """`frames` passed on, each also written into the GIF."""
    for frame in frames:
        gif.add(frame)
        yield frame
