"""The held-out test set of `bopbot evaluate`, and the pool it is scored against.

Every held-out take is filmed by a few virtual cameras (`EvalSettings.yaws`) and cut into
**stretches**: `context_seconds` of real dance, then `seconds` to continue, one stretch every
`seconds` (so the scored continuations never overlap). A take too short for the full context is
tested once with a shorter one (down to `min_context_seconds`); shorter takes are skipped and
named. A stretch seen from all its cameras is one independent sample: the cameras of a stretch
are not independent dances, so every interval resamples whole stretches.

The reference pool (`training_pool`) is made of stretches of the training split, and the floor
(`floor_views`) of the validation split: dances the models never trained on and the pool does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.corpus import Corpus
from ..data.normalise import denormalise, normalise
from ..data.pose_sequence import CORPUS_FPS
from ..errors import BopBotError
from ..ingest.extract import ExtractOptions, expand_inputs, extract, kind_of
from ..models.training import is_validation
from ..vocabulary.vocabulary import PoseVocabulary
from .settings import EvalSettings


@dataclass
class View:
    """One camera's view of a whole dance: normalised poses and their placement on a canvas of
    `size`, and the music under them."""

    take: str
    camera: str
    poses: np.ndarray
    placement: np.ndarray
    size: tuple[int, int]
    audio: str | None = None
    audio_offset: float = 0.0


@dataclass
class Test:
    """One camera's view of one stretch: the real context and continuation (normalised poses and
    placements), its canvas, and the music under it."""

    name: str
    stretch: int
    context: np.ndarray
    continuation: np.ndarray
    context_placement: np.ndarray
    continuation_placement: np.ndarray
    size: tuple[int, int]
    audio: str | None
    #: Where the continuation starts in the music, in seconds.
    audio_start: float
    #: "video" for a filmed dance, else the virtual camera ("yaw 90").
    camera: str = "video"

    def context_keypoints(self) -> np.ndarray:
        return denormalise(self.context, self.context_placement)

    def continuation_keypoints(self) -> np.ndarray:
        return denormalise(self.continuation, self.continuation_placement)


@dataclass
class TestSet:
    tests: list[Test]
    stretches: int
    skipped: list[str] = field(default_factory=list)


def cut_stretches(views: list[View], settings: EvalSettings) -> TestSet:
    """Every stretch of every view (see the module docs); a stretch's cameras share its number."""
    frames = round(settings.seconds * CORPUS_FPS)
    full_context = round(settings.context_seconds * CORPUS_FPS)
    shortest = round(settings.min_context_seconds * CORPUS_FPS)
    tests, skipped, numbers = [], [], {}
    for view in views:
        context = min(full_context, len(view.poses) - frames)
        if context < shortest:
            note = (f"{view.take}: {len(view.poses) / CORPUS_FPS:.1f} s, shorter than "
                    f"{settings.min_context_seconds:g} s of context + {settings.seconds:g} s to continue")
            if note not in skipped:
                skipped.append(note)
            continue
        for start in range(0, len(view.poses) - context - frames + 1, frames):
            key = (view.take, start)
            number = numbers.setdefault(key, len(numbers))
            poses = view.poses[start:start + context + frames]
            placement = view.placement[start:start + context + frames]
            tests.append(Test(f"{view.take} {view.camera} @{start / CORPUS_FPS:.0f}s", number, poses[:context],
                              poses[context:], placement[:context], placement[context:], view.size, view.audio,
                              view.audio_offset + (start + context) / CORPUS_FPS, view.camera))
    return TestSet(tests, len(numbers), skipped)


def held_out_views(inputs: list[str], settings: EvalSettings) -> list[View]:
    """The held-out inputs, 3D ones filmed by the settings' cameras. Each is checked to be an input
    before any is read: one that is missing or unreadable is said at once (with the list and line
    it came from, where it was read from a list), not after minutes of the others."""
    listed: dict[Path, str] = {}
    paths = expand_inputs(inputs, listed)
    for path in paths:
        kind_of(path, listed.get(path))
    views = []
    for path in paths:
        for sequence in extract(path, ExtractOptions(yaws=settings.yaws, follow=settings.follow)):
            poses, placement = normalise(sequence.keypoints)
            camera = camera_name(sequence.meta)
            views.append(View(Path(path).stem, camera, poses, placement, tuple(sequence.size),
                              sequence.meta.get("audio") or None, float(sequence.meta.get("audio_offset", 0.0))))
    return views


def camera_name(meta: dict) -> str:
    """"video" for a filmed dance, else the virtual camera: "yaw 90", or "yaw 30 following"."""
    if "yaw" not in meta:
        return "video"
    return f"yaw {float(meta['yaw']):g}" + (" following" if meta.get("follow") else "")


def floor_views(corpus: Corpus, settings: EvalSettings) -> list[View]:
    """The corpus's validation split (never trained on, never in the pool), seen by the same cameras
    (the same yaws, following the dancer or not as the settings say)."""
    views = []
    for info, sequences in corpus.shards():
        if not is_validation(info["input"], settings.validation_fraction, settings.split_seed):
            continue
        for sequence in sequences:
            yaw, mirrored = sequence.meta.get("yaw"), sequence.meta.get("mirror", False)
            if mirrored or (yaw is not None and (float(yaw) not in settings.yaws
                                                 or bool(sequence.meta.get("follow")) != settings.follow)):
                continue
            if (sequence.poses[:, :, 2] > 0).any():
                views.append(View(Path(info["input"]).stem, camera_name(sequence.meta),
                                  sequence.poses, sequence.placement, sequence.size,
                                  sequence.meta.get("audio") or None, float(sequence.meta.get("audio_offset", 0.0))))
    return views


def training_pool(corpus: Corpus, vocabulary: PoseVocabulary, settings: EvalSettings) -> tuple[list[np.ndarray], np.ndarray]:
    """Stretches of real training dance (the reference set) and the training sentences as one id stream."""
    length = round(settings.seconds * CORPUS_FPS)
    stretches, ids = [], []
    for info, sequences in corpus.shards():
        if is_validation(info["input"], settings.validation_fraction, settings.split_seed):
            continue
        for sequence in sequences:
            if not (sequence.poses[:, :, 2] > 0).any():
                continue
            ids.append(np.append(vocabulary.encode(sequence.poses), -1))
            stretches.extend(sequence.poses[s:s + length] for s in range(0, len(sequence.poses) - length + 1, length))
    if len(stretches) < 2:
        raise BopBotError(corpus.folder, "too little training dance for a reference set")
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(stretches), size=min(settings.pool_stretches, len(stretches)), replace=False)
    return [stretches[i] for i in sorted(chosen)], np.concatenate(ids)
