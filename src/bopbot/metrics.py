"""Dance quality metrics for 2D COCO-17 poses, adapted from AIST++, Bailando and EDGE.

Inputs are normalised poses as BopBot passes them on: (T, 17, 3) arrays whose x and y are in
torso lengths centred on the mid-hip, y pointing down as in images, and whose third column is a
confidence (0 = missing joint), together with the frame rate `fps`. Every window and threshold is
given in seconds or in torso lengths, never in frames or pixels, so a score means the same at 20,
30 or 60 frames per second and for a dancer filmed large or small.

Adapting the papers' 3D metrics to 2D
-------------------------------------
AIST++ (Li et al. 2021), Bailando (Siyao et al. 2022) and EDGE (Tseng et al. 2023) compute their
features on 3D SMPL joints in metres at 60 fps. BopBot has image-plane COCO-17 keypoints, so:

* Only x and y exist. Kinetic features keep the horizontal/vertical split of AIST++'s kinetic
  energy (horizontal = image x, vertical = image y) and drop the depth axis.
* Units are torso lengths (mid-shoulder to mid-hip), the skeleton's own scale, instead of metres:
  speeds are torso lengths/s and accelerations torso lengths/s². Finite differences are scaled by
  `fps`, so they estimate the same derivatives at any frame rate.
* Geometric (relational) features follow Müller et al.'s boolean relations as AIST++ uses them, but
  only relations that are meaningful in the image plane: "above" compares image heights, "apart"
  compares image distances, and crossing is judged against the shoulders' (or hips') own left-right
  order, so it holds whichever way the dancer faces. Relations that need depth (a hand in front of
  the body, a plane through three 3D joints) are left out. Joint angles are the projected angles,
  which foreshortening can open or close; the thresholds leave room for that.
* Every threshold is in torso lengths (torso = 1), set against a standing dancer: nose about 0.4
  above the shoulders, shoulders about 0.6–0.8 wide facing the camera, arm about 1.1, hips to
  ankles about 1.6–2.0.

Geometric features (`GEOMETRIC_FEATURES`, in this order)
---------------------------------------------------------
Each is measured in the frames where its joints are present and counts only while it holds for
at least `MIN_HOLD_SECONDS` (0.1 s). Per-side features come left side (`_l`) first, then right
(`_r`), 18 in all, then 11 whole-body ones: 29 features. Distances are in torso lengths.

========================  ======================================================================
feature                   holds when (y down, so "above" means a smaller y)
========================  ======================================================================
wrist_above_head_l/r      the wrist is above the nose
wrist_above_shoulder_l/r  the wrist is above its shoulder
elbow_above_shoulder_l/r  the elbow is above its shoulder
arm_out_l/r               the wrist is more than 0.8 out from its shoulder horizontally
elbow_bent_l/r            the shoulder-elbow-wrist angle is below 120°
hand_at_head_l/r          the wrist is within 0.4 of the nose
knee_bent_l/r             the hip-knee-ankle angle is below 150°
foot_raised_l/r           the ankle is more than 0.3 above the other ankle
knee_raised_l/r           the knee is less than 0.6 below its hip (thigh lifted well past 45°)
wrists_apart              the wrists are more than 2.0 apart (arms spread)
wrists_together           the wrists are less than 0.3 apart (hands joined, a clap)
hands_crossed             the wrists' left-right order is the shoulders' reversed, each by > 0.1
wide_stance               the ankles are more than 0.8 apart horizontally
feet_crossed              the ankles' left-right order is the hips' reversed, each by > 0.1
lean_image_left           the mid-shoulder is more than 0.25 left of the mid-hip (about 15°)
lean_image_right          the mid-shoulder is more than 0.25 right of the mid-hip
bending                   the mid-shoulder is less than 0.7 above the mid-hip (a bow, past ~45°)
crouching                 the ankles' mean is less than 1.3 below the mid-hip
head_down                 the nose is below the mid-shoulder
side_on                   the shoulders are less than 0.25 apart horizontally (seen in profile)
========================  ======================================================================

Other choices are documented where they are made: the Fréchet distance and diversity z-score with
the real set's statistics (as Bailando's FID_k/FID_g and Div_k/Div_g do); motion beats are dips of
the smoothed mean joint speed (AIST++), and the Beat Align Score's σ is 0.1 s (see
`BEAT_SIGMA_SECONDS`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import linalg, ndimage, signal
from scipy.spatial.distance import pdist

from .errors import BopBotError
from .skeleton import INDEX, NUM_JOINTS

#: Width of the Beat Align Score's Gaussian, in seconds. AIST++ used 3 frames at 60 fps (0.05 s);
#: BopBot's corpus runs at 20 fps, where 0.05 s is a single frame and one frame of quantisation
#: (±0.025 s) would already cost up to 12 % of the score, so we take 0.1 s: two frames at 20 fps,
#: still well under a beat (0.5 s at 120 BPM), so a motion beat half a beat off scores under 0.05.
BEAT_SIGMA_SECONDS = 0.1
#: A speed minimum is a motion beat only if it dips by this fraction of the speed's range...
BEAT_PROMINENCE = 0.1
#: ...and by at least this many torso lengths per second (a frozen or steady dance has no beats).
MIN_DIP_SPEED = 0.05
#: A geometric relation must hold this long to count, so single-frame pose-estimator flicker does not.
MIN_HOLD_SECONDS = 0.1
#: Standard deviations below this (a feature the real set never varies) are replaced by 1.
STD_FLOOR = 1e-6
#: Ridge added to covariances, so a handful of samples still gives a usable Gaussian.
COVARIANCE_RIDGE = 1e-6
#: Sample rate audio is decoded at for beat tracking (librosa's default).
AUDIO_RATE = 22050


# ------------------------------------------------------------------ motion derivatives
def _present(poses: np.ndarray) -> np.ndarray:
    """(T, 17) True where a joint is present (confidence above 0)."""
    return np.asarray(poses)[:, :, 2] > 0


def _velocities(poses: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(T-1, 17, 2) velocities in torso lengths/s between consecutive frames, and where both ends exist."""
    xy = np.asarray(poses, dtype=np.float64)[:, :, :2]
    ok = _present(poses)
    return np.diff(xy, axis=0) * fps, ok[1:] & ok[:-1]


def _accelerations(poses: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """(T-2, 17) acceleration magnitudes in torso lengths/s², and where all three frames exist."""
    xy = np.asarray(poses, dtype=np.float64)[:, :, :2]
    ok = _present(poses)
    second = xy[2:] - 2 * xy[1:-1] + xy[:-2]
    return np.linalg.norm(second, axis=2) * fps**2, ok[2:] & ok[1:-1] & ok[:-2]


def _masked_mean(values: np.ndarray, mask: np.ndarray, axis: int | None = None) -> np.ndarray:
    """Mean of `values` where `mask`, 0 where nothing is masked in."""
    count = mask.sum(axis=axis)
    return np.where(mask, values, 0.0).sum(axis=axis) / np.maximum(count, 1)


def kinetic_features(poses: np.ndarray, fps: float) -> np.ndarray:
    """(51,) per joint: mean squared horizontal speed, mean squared vertical speed, mean acceleration."""
    velocity, moving = _velocities(poses, fps)
    acceleration, accelerating = _accelerations(poses, fps)
    horizontal = _masked_mean(velocity[:, :, 0] ** 2, moving, axis=0)
    vertical = _masked_mean(velocity[:, :, 1] ** 2, moving, axis=0)
    energy = _masked_mean(acceleration, accelerating, axis=0)
    return np.stack([horizontal, vertical, energy], axis=1).reshape(NUM_JOINTS * 3)


def jitter(poses: np.ndarray, fps: float) -> float:
    """Mean joint acceleration magnitude in torso lengths/s² over present joints (0 if none)."""
    acceleration, accelerating = _accelerations(poses, fps)
    return float(_masked_mean(acceleration, accelerating))


# ------------------------------------------------------------------ geometric features
@dataclass(frozen=True)
class _Relation:
    """A boolean relation between joints: its name, the joints it needs, and its per-frame test."""

    name: str
    joints: tuple[str, ...]
    test: Callable[[np.ndarray], np.ndarray]


def _point(xy: np.ndarray, *names: str) -> np.ndarray:
    """(T, 2) position of a joint, or the mean of several (a mid-point)."""
    return xy[:, [INDEX[name] for name in names]].mean(axis=1)


def _above(name: str, a: tuple[str, ...], b: tuple[str, ...], margin: float = 0.0) -> _Relation:
    """`a` is more than `margin` above `b` in the image."""
    return _Relation(name, a + b, lambda xy: _point(xy, *a)[:, 1] < _point(xy, *b)[:, 1] - margin)


def _below_by_less(name: str, a: tuple[str, ...], b: tuple[str, ...], extent: float) -> _Relation:
    """`a` is less than `extent` lower than `b` (or above it)."""
    return _Relation(name, a + b, lambda xy: _point(xy, *a)[:, 1] - _point(xy, *b)[:, 1] < extent)


def _left_of(name: str, a: tuple[str, ...], b: tuple[str, ...], margin: float) -> _Relation:
    """`a` is more than `margin` left of `b` in the image."""
    return _Relation(name, a + b, lambda xy: _point(xy, *a)[:, 0] < _point(xy, *b)[:, 0] - margin)


def _horizontal_gap(name: str, a: str, b: str, wider: float = np.inf, narrower: float = -np.inf) -> _Relation:
    """The horizontal gap between `a` and `b` is above `wider` or below `narrower`."""
    def test(xy: np.ndarray) -> np.ndarray:
        gap = np.abs(_point(xy, a)[:, 0] - _point(xy, b)[:, 0])
        return (gap > wider) | (gap < narrower)
    return _Relation(name, (a, b), test)


def _distance(name: str, a: str, b: str, farther: float = np.inf, nearer: float = -np.inf) -> _Relation:
    """The distance between `a` and `b` is above `farther` or below `nearer`."""
    def test(xy: np.ndarray) -> np.ndarray:
        gap = np.linalg.norm(_point(xy, a) - _point(xy, b), axis=1)
        return (gap > farther) | (gap < nearer)
    return _Relation(name, (a, b), test)


def _angle_below(name: str, a: str, vertex: str, c: str, degrees: float) -> _Relation:
    """The angle a-vertex-c, as projected on the image, is below `degrees`."""
    def test(xy: np.ndarray) -> np.ndarray:
        u = _point(xy, a) - _point(xy, vertex)
        v = _point(xy, c) - _point(xy, vertex)
        cosine = (u * v).sum(axis=1) / np.maximum(np.linalg.norm(u, axis=1) * np.linalg.norm(v, axis=1), 1e-9)
        return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))) < degrees
    return _Relation(name, (a, vertex, c), test)


def _crossed(name: str, part: str, reference: str, margin: float = 0.1) -> _Relation:
    """The left/right `part`s are in the opposite left-right order to the left/right `reference`s."""
    joints = (f"left_{part}", f"right_{part}", f"left_{reference}", f"right_{reference}")

    def test(xy: np.ndarray) -> np.ndarray:
        parts = _point(xy, joints[0])[:, 0] - _point(xy, joints[1])[:, 0]
        references = _point(xy, joints[2])[:, 0] - _point(xy, joints[3])[:, 0]
        return (parts * references < 0) & (np.abs(parts) > margin) & (np.abs(references) > margin)
    return _Relation(name, joints, test)


def _per_side(side: str) -> list[_Relation]:
    """The relations of one side's limbs."""
    other = "right" if side == "left" else "left"
    s = side[0]
    wrist, elbow, shoulder = f"{side}_wrist", f"{side}_elbow", f"{side}_shoulder"
    ankle, knee, hip = f"{side}_ankle", f"{side}_knee", f"{side}_hip"
    return [
        _above(f"wrist_above_head_{s}", (wrist,), ("nose",)),
        _above(f"wrist_above_shoulder_{s}", (wrist,), (shoulder,)),
        _above(f"elbow_above_shoulder_{s}", (elbow,), (shoulder,)),
        _horizontal_gap(f"arm_out_{s}", wrist, shoulder, wider=0.8),
        _angle_below(f"elbow_bent_{s}", shoulder, elbow, wrist, 120.0),
        _distance(f"hand_at_head_{s}", wrist, "nose", nearer=0.4),
        _angle_below(f"knee_bent_{s}", hip, knee, ankle, 150.0),
        _above(f"foot_raised_{s}", (ankle,), (f"{other}_ankle",), margin=0.3),
        _below_by_less(f"knee_raised_{s}", (knee,), (hip,), 0.6),
    ]


_SHOULDERS = ("left_shoulder", "right_shoulder")
_HIPS = ("left_hip", "right_hip")
_ANKLES = ("left_ankle", "right_ankle")

_RELATIONS: tuple[_Relation, ...] = (
    *_per_side("left"),
    *_per_side("right"),
    _distance("wrists_apart", "left_wrist", "right_wrist", farther=2.0),
    _distance("wrists_together", "left_wrist", "right_wrist", nearer=0.3),
    _crossed("hands_crossed", "wrist", "shoulder"),
    _horizontal_gap("wide_stance", "left_ankle", "right_ankle", wider=0.8),
    _crossed("feet_crossed", "ankle", "hip"),
    _left_of("lean_image_left", _SHOULDERS, _HIPS, 0.25),
    _left_of("lean_image_right", _HIPS, _SHOULDERS, 0.25),
    _below_by_less("bending", _HIPS, _SHOULDERS, 0.7),
    _below_by_less("crouching", _ANKLES, _HIPS, 1.3),
    _above("head_down", _SHOULDERS, ("nose",)),
    _horizontal_gap("side_on", "left_shoulder", "right_shoulder", narrower=0.25),
)

#: Names of the geometric features, in the order `geometric_features` returns them.
GEOMETRIC_FEATURES: tuple[str, ...] = tuple(relation.name for relation in _RELATIONS)


def _held(holds: np.ndarray, frames: int) -> np.ndarray:
    """`holds` with every run shorter than `frames` frames removed."""
    if frames <= 1:
        return holds
    return ndimage.binary_opening(holds, structure=np.ones(frames, dtype=bool))


def geometric_features(poses: np.ndarray, fps: float, min_hold_seconds: float = MIN_HOLD_SECONDS) -> np.ndarray:
    """(G,) fraction of the frames with the needed joints in which each relation holds for `min_hold_seconds`."""
    poses = np.asarray(poses, dtype=np.float64)
    xy = poses[:, :, :2]
    ok = _present(poses)
    hold_frames = int(round(min_hold_seconds * fps))
    fractions = []
    for relation in _RELATIONS:
        seen = ok[:, [INDEX[name] for name in relation.joints]].all(axis=1)
        holds = _held(relation.test(xy) & seen, hold_frames)
        fractions.append(holds.sum() / max(seen.sum(), 1))
    return np.array(fractions)


# ------------------------------------------------------------------ distribution metrics
def _z_scorer(real: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A function that z-scores feature vectors with the real set's mean and standard deviation."""
    mean = real.mean(axis=0)
    std = real.std(axis=0, ddof=1) if len(real) > 1 else np.ones(real.shape[1])
    std = np.where(std < STD_FLOOR, 1.0, std)
    return lambda features: (features - mean) / std


def _feature_set(features: np.ndarray, what: str, minimum: int) -> np.ndarray:
    """`features` as a float64 (N, D) array, checked to hold at least `minimum` rows."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < minimum:
        raise ValueError(f"{what} must be an (N, D) array with N >= {minimum}, got shape {features.shape}")
    return features


def frechet_distance(real: np.ndarray, generated: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to the real and generated sets, z-scored by the real set."""
    real = _feature_set(real, "real", 2)
    generated = _feature_set(generated, "generated", 2)
    if real.shape[1] != generated.shape[1]:
        raise ValueError(f"feature sizes differ: real {real.shape[1]}, generated {generated.shape[1]}")
    z_score = _z_scorer(real)
    real, generated = z_score(real), z_score(generated)
    ridge = COVARIANCE_RIDGE * np.eye(real.shape[1])
    cov_real = np.cov(real, rowvar=False).reshape(ridge.shape) + ridge
    cov_generated = np.cov(generated, rowvar=False).reshape(ridge.shape) + ridge
    cross = np.real(linalg.sqrtm(cov_real @ cov_generated))
    shift = real.mean(axis=0) - generated.mean(axis=0)
    distance = shift @ shift + np.trace(cov_real + cov_generated - 2 * cross)
    return float(max(distance, 0.0))


def diversity(generated: np.ndarray, real: np.ndarray) -> float:
    """Mean pairwise Euclidean distance between generated feature vectors, z-scored by the real set."""
    generated = _feature_set(generated, "generated", 2)
    real = _feature_set(real, "real", 1)
    return float(pdist(_z_scorer(real)(generated)).mean())


# ------------------------------------------------------------------ beats
def _mean_speed(poses: np.ndarray, fps: float) -> np.ndarray:
    """(T,) mean joint speed at each frame (central differences), NaN where no joint can be measured."""
    xy = np.asarray(poses, dtype=np.float64)[:, :, :2]
    ok = _present(poses)
    speed = np.linalg.norm(np.gradient(xy, axis=0), axis=2) * fps
    measured = ok & np.vstack([ok[1:], ok[-1:]]) & np.vstack([ok[:1], ok[:-1]])
    count = measured.sum(axis=1)
    return np.where(count > 0, np.where(measured, speed, 0.0).sum(axis=1) / np.maximum(count, 1), np.nan)


def motion_beats(poses: np.ndarray, fps: float, smoothing_seconds: float = 0.1,
                 min_gap_seconds: float = 0.2) -> np.ndarray:
    """Times in seconds where the dancer's smoothed mean joint speed dips: AIST++'s motion beats."""
    if len(poses) < 3:
        return np.zeros(0)
    speed = _mean_speed(poses, fps)
    measured = ~np.isnan(speed)
    if not measured.any():
        return np.zeros(0)
    frames = np.arange(len(speed))
    speed = np.interp(frames, frames[measured], speed[measured])
    speed = ndimage.gaussian_filter1d(speed, smoothing_seconds * fps, mode="nearest")
    prominence = max(BEAT_PROMINENCE * np.ptp(speed), MIN_DIP_SPEED)
    dips, _ = signal.find_peaks(-speed, prominence=prominence, distance=max(1, round(min_gap_seconds * fps)))
    return dips / fps


def _decode_audio(path: str | os.PathLike, offset_seconds: float, duration_seconds: float | None) -> np.ndarray:
    """Mono float32 samples at `AUDIO_RATE` of the file's first audio stream, from the offset on."""
    import av

    skip = int(round(offset_seconds * AUDIO_RATE))
    end = None if duration_seconds is None else skip + int(round(duration_seconds * AUDIO_RATE))
    resampler = av.AudioResampler(format="flt", layout="mono", rate=AUDIO_RATE)
    pieces: list[np.ndarray] = []
    decoded = 0
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise BopBotError(path, "has no audio stream")
            for frame in container.decode(container.streams.audio[0]):
                for chunk in resampler.resample(frame):
                    pieces.append(chunk.to_ndarray().reshape(-1))
                    decoded += pieces[-1].size
                if end is not None and decoded >= end:
                    break
            pieces.extend(chunk.to_ndarray().reshape(-1) for chunk in resampler.resample(None))
    except av.FFmpegError as exc:
        raise BopBotError(path, f"unreadable audio ({exc})") from None
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    return samples[skip:end]


def music_beats(audio_path: str | os.PathLike, offset_seconds: float = 0.0,
                duration_seconds: float | None = None) -> np.ndarray:
    """Beat times in seconds (relative to `offset_seconds`) that librosa's beat tracker finds in the audio.

    The audio is decoded with PyAV, which reads mp3 and the audio of mp4/webm videos alike, and
    only the beat tracking is librosa's.
    """
    import librosa

    samples = _decode_audio(audio_path, offset_seconds, duration_seconds)
    if samples.size < AUDIO_RATE // 10:
        return np.zeros(0)
    _, beats = librosa.beat.beat_track(y=samples, sr=AUDIO_RATE, units="time")
    return np.asarray(beats, dtype=np.float64)


def beat_align_score(motion: np.ndarray, music: np.ndarray, sigma_seconds: float = BEAT_SIGMA_SECONDS) -> float:
    """AIST++'s Beat Align Score: mean over motion beats of exp(-d² / 2σ²), d the gap to the nearest music beat."""
    motion = np.asarray(motion, dtype=np.float64).reshape(-1)
    music = np.asarray(music, dtype=np.float64).reshape(-1)
    if motion.size == 0 or music.size == 0:
        return 0.0
    nearest = np.abs(motion[:, None] - music[None, :]).min(axis=1)
    return float(np.exp(-(nearest**2) / (2 * sigma_seconds**2)).mean())


# ------------------------------------------------------------------ word statistics
def unique_words_per(ids: np.ndarray, fps: float, seconds: float = 15.0) -> float:
    """Mean number of distinct words in each non-overlapping `seconds`-long window of the sentence.

    The trailing part shorter than a window is left out. A sentence shorter than one window counts
    as one window and its distinct words are scaled by `seconds / duration`, the rate it shows;
    that extrapolates (repeats in the unseen rest would lower it), so prefer sentences of at
    least `seconds`.
    """
    ids = np.asarray(ids).reshape(-1)
    if ids.size == 0:
        return 0.0
    window = max(1, int(round(seconds * fps)))
    if ids.size < window:
        return len(np.unique(ids)) * window / ids.size
    windows = ids[: ids.size // window * window].reshape(-1, window)
    return float(np.mean([len(np.unique(row)) for row in windows]))


_HASH_BASE = 0x9E3779B97F4A7C15  # odd, so it has an inverse modulo 2**64
_HASH_MIX = np.uint64(0xBF58476D1CE4E5B9)


def _powers(base: int, count: int) -> np.ndarray:
    """base**0 .. base**(count-1) modulo 2**64 (uint64 arithmetic wraps around)."""
    factors = np.full(count, base, dtype=np.uint64)
    factors[:1] = 1
    return np.cumprod(factors, dtype=np.uint64)


class _WindowHashes:
    """Polynomial hashes modulo 2**64 of every window of an id stream, for any window length L.

    With prefix sums P[i] = sum_{k<i} x_k B^-k, the window starting at i hashes to
    (P[i+L] - P[i]) B^i = sum_{k<L} x_{i+k} B^-k, which does not depend on where the window is.
    Hashes can collide, so matches are always checked against the ids themselves.
    """

    def __init__(self, ids: np.ndarray):
        self.ids = np.asarray(ids).reshape(-1).astype(np.int64)
        count = self.ids.size
        self.powers = _powers(_HASH_BASE, count)
        values = self.ids.astype(np.uint64) * _HASH_MIX + np.uint64(1)
        weighted = values * _powers(pow(_HASH_BASE, -1, 2**64), count)
        self.prefix = np.concatenate([np.zeros(1, dtype=np.uint64), np.cumsum(weighted, dtype=np.uint64)])

    def of_length(self, length: int) -> np.ndarray:
        """Hashes of the windows of `length` ids, indexed by where they start."""
        return (self.prefix[length:] - self.prefix[:-length]) * self.powers[: self.ids.size - length + 1]


def _shares_window(generated: _WindowHashes, training: _WindowHashes, length: int) -> bool:
    """Whether some `length` consecutive generated ids appear verbatim in the training stream."""
    generated_hashes = generated.of_length(length)
    order = np.argsort(generated_hashes)
    ranked = generated_hashes[order]
    training_hashes = training.of_length(length)
    slots = np.minimum(np.searchsorted(ranked, training_hashes), len(ranked) - 1)
    hits = np.flatnonzero(ranked[slots] == training_hashes)
    ends = np.searchsorted(ranked, training_hashes[hits], side="right")
    for start, first, end in zip(hits, slots[hits], ends):
        excerpt = training.ids[start: start + length]
        if any(np.array_equal(generated.ids[g: g + length], excerpt) for g in order[first:end]):
            return True
    return False


def longest_copy_seconds(generated: np.ndarray, training: np.ndarray, fps: float) -> float:
    """Seconds of the longest run of generated ids that appears verbatim in the training id stream.

    Binary search on the run length (a copy of L ids contains one of L-1), each step comparing
    rolling hashes of all windows; about log2(len(generated)) passes over the training stream, so
    a million training ids take seconds. Separate training sequences with an id the model never
    writes (e.g. -1) to keep copies from spanning two of them.
    """
    generated_hashes = _WindowHashes(generated)
    training_hashes = _WindowHashes(training)
    low, high = 0, min(generated_hashes.ids.size, training_hashes.ids.size)
    while low < high:
        middle = (low + high + 1) // 2
        if _shares_window(generated_hashes, training_hashes, middle):
            low = middle
        else:
            high = middle - 1
    return low / fps
