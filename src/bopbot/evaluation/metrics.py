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
Each is measured in the frames where its joints are present (for a speed, also in the frames
either side) and counts only while it holds for at least `MIN_HOLD_SECONDS` (0.1 s). Per-side
features come left side (`_l`) first, then right (`_r`), 30 in all, then 14 whole-body ones: 44
features. Distances are in torso lengths, speeds in torso lengths per second (central
differences), measured in the hip-centred frame, so they are the body's own movement, not its
travel.

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
wrist_fast_l/r            the wrist moves faster than 2.0/s (a quarter of real frames)
wrist_still_l/r           the wrist moves slower than 0.3/s
hand_rising_l/r           the wrist moves up faster than 1.0/s
hand_falling_l/r          the wrist moves down faster than 1.0/s
ankle_fast_l/r            the ankle moves faster than 1.5/s (a step)
foot_lifting_l/r          the ankle moves up faster than 0.6/s
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
head_moving               the nose moves faster than 0.5/s
body_still                the mean speed of the 12 limb joints is below 0.25/s (a hold)
body_fast                 the mean speed of the 12 limb joints is above 1.0/s
========================  ======================================================================

The velocity relations are Bailando's "fast", "moving" and "not moving" relations (after Müller
et al.) carried to the image plane; their thresholds sit near the quartiles of real dancing in
BopBot's corpus (wrist speed: median 0.9, upper quartile 2.1; ankle 0.7 and 1.5; nose 0.3 and
0.5; mean joint speed 0.6 and 1.0 torso lengths/s), so each holds for a real share of real dance.
Without them FID_g saw only poses, and generators that hold cluster-mean poses looked as real
as real dancing.

Other choices are documented where they are made: the Fréchet distance and diversity z-score with
the real set's statistics (as Bailando's FID_k/FID_g and Div_k/Div_g do). Beats are in
`bopbot.music.beats`, word statistics in `bopbot.evaluation.word_metrics`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import linalg, ndimage
from scipy.spatial.distance import pdist, squareform

from ..data.skeleton import INDEX, NUM_JOINTS

#: A geometric relation must hold this long to count, so single-frame pose-estimator flicker does not.
MIN_HOLD_SECONDS = 0.1
#: Standard deviations below this (a feature the real set never varies) are replaced by 1.
STD_FLOOR = 1e-6
#: Ridge added to covariances, so a handful of samples still gives a usable Gaussian.
COVARIANCE_RIDGE = 1e-6


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
    """A boolean relation between joints: its name, the joints it needs, and its per-frame test of
    (T, 17, 2) positions; a relation on speeds (`moving`) needs its joints in the frames either side too."""

    name: str
    joints: tuple[str, ...]
    test: Callable[..., np.ndarray]
    moving: bool = False


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


def _speeds(xy: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """(T, len(names)) speed of each joint in units per frame (central differences)."""
    return np.linalg.norm(np.gradient(xy[:, [INDEX[name] for name in names]], axis=0), axis=2)


def _faster(name: str, joints: tuple[str, ...], threshold: float, slower: bool = False) -> _Relation:
    """The mean speed of `joints` is above (or, `slower`, below) `threshold` torso lengths/s."""
    def test(xy: np.ndarray, fps: float) -> np.ndarray:
        speed = _speeds(xy, joints).mean(axis=1) * fps
        return speed < threshold if slower else speed > threshold
    return _Relation(name, joints, test, moving=True)


def _rising(name: str, joint: str, threshold: float, falling: bool = False) -> _Relation:
    """`joint` moves up (or, `falling`, down) the image faster than `threshold` torso lengths/s."""
    def test(xy: np.ndarray, fps: float) -> np.ndarray:
        vertical = np.gradient(xy[:, INDEX[joint], 1]) * fps  # y down: rising is negative
        return vertical > threshold if falling else vertical < -threshold
    return _Relation(name, (joint,), test, moving=True)


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
        _faster(f"wrist_fast_{s}", (wrist,), 2.0),
        _faster(f"wrist_still_{s}", (wrist,), 0.3, slower=True),
        _rising(f"hand_rising_{s}", wrist, 1.0),
        _rising(f"hand_falling_{s}", wrist, 1.0, falling=True),
        _faster(f"ankle_fast_{s}", (ankle,), 1.5),
        _rising(f"foot_lifting_{s}", ankle, 0.6),
    ]


_SHOULDERS = ("left_shoulder", "right_shoulder")
_HIPS = ("left_hip", "right_hip")
_ANKLES = ("left_ankle", "right_ankle")
_LIMB_JOINTS = tuple(f"{side}_{part}" for side in ("left", "right")
                     for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"))

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
    _faster("head_moving", ("nose",), 0.5),
    _faster("body_still", _LIMB_JOINTS, 0.25, slower=True),
    _faster("body_fast", _LIMB_JOINTS, 1.0),
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
        if relation.moving:
            seen = seen & np.r_[seen[1:], False] & np.r_[False, seen[:-1]]
            holds = relation.test(xy, fps)
        else:
            holds = relation.test(xy)
        holds = _held(holds & seen, hold_frames)
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


def _counts(weights: np.ndarray | None, rows: int) -> np.ndarray:
    """Integer weights per row (how many times a bootstrap drew it); all 1 when None."""
    return np.ones(rows, dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)


def frechet_distance(real: np.ndarray, generated: np.ndarray, weights: np.ndarray | None = None,
                     independent: int | None = None) -> float:
    """Fréchet distance between Gaussians fitted to the real and generated sets, z-scored by the real set.

    `weights` counts each generated row (a bootstrap resample without copying rows).
    `independent` is how many independent samples the generated rows stand for (default: the
    rows); below the feature count the covariance cannot be estimated, and a warning says so.
    """
    real = _feature_set(real, "real", 2)
    generated = _feature_set(generated, "generated", 2)
    if real.shape[1] != generated.shape[1]:
        raise ValueError(f"feature sizes differ: real {real.shape[1]}, generated {generated.shape[1]}")
    counts = _counts(weights, len(generated))
    samples = independent if independent is not None else int(counts.sum())
    if samples <= real.shape[1]:
        warnings.warn(f"Fréchet distance from {samples} independent samples of {real.shape[1]} features: the "
                      f"covariance is rank-deficient and the distance is biased upwards; compare it only with "
                      f"rows of the same number of samples", stacklevel=2)
    z_score = _z_scorer(real)
    real, generated = z_score(real), z_score(generated)
    ridge = COVARIANCE_RIDGE * np.eye(real.shape[1])
    cov_real = np.cov(real, rowvar=False).reshape(ridge.shape) + ridge
    cov_generated = np.cov(generated, rowvar=False, fweights=counts).reshape(ridge.shape) + ridge
    cross = np.real(linalg.sqrtm(cov_real @ cov_generated))
    shift = real.mean(axis=0) - np.average(generated, axis=0, weights=counts)
    distance = shift @ shift + np.trace(cov_real + cov_generated - 2 * cross)
    return float(max(distance, 0.0))


def pairwise_distances(generated: np.ndarray, real: np.ndarray) -> np.ndarray:
    """(N, N) Euclidean distances between generated feature vectors, z-scored by the real set."""
    generated = _feature_set(generated, "generated", 2)
    real = _feature_set(real, "real", 1)
    return squareform(pdist(_z_scorer(real)(generated)))


def mean_distance(distances: np.ndarray, weights: np.ndarray | None = None) -> float:
    """The mean of an (N, N) distance matrix over pairs of distinct rows, each pair weighted by the
    product of its rows' weights (a bootstrap resample, without the zero distances between copies)."""
    counts = _counts(weights, len(distances)).astype(np.float64)
    pairs = (counts.sum() ** 2 - (counts**2).sum()) / 2
    return float(counts @ distances @ counts / 2 / max(pairs, 1e-12))
