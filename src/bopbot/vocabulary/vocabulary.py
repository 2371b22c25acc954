"""The pose vocabulary: k-means (faiss) over normalised frames; each cluster's mean pose is a word.

Behaves like a scikit-learn estimator: parameters in `__init__`, `fit` learns `centroids_`
(K, 17, 2) and `words_`, then `encode` turns poses into word ids and `decode` ids into poses.

Fitting streams the corpus, so it never holds it in memory: pass one keeps a uniform reservoir
sample of complete frames (all 17 joints present) and trains faiss k-means on it; pass two assigns
every frame to its nearest centroid and replaces each centroid by the exact mean of its frames,
accumulating the quantisation error on the way. Frames with missing joints are matched on the
joints they have (a masked distance); frames without a dancer hold the previous word.

A part-wise vocabulary (`parts=(U, L)`, as Bailando and X-Dancer split the body) clusters the upper
body (head, arms, shoulders) into U poses and the lower body (hips, legs) into L poses on the same
sample, and its U x L words are every upper pose put together with every lower pose: a word is a
pair, so arms and legs can be combined in ways no single training frame showed. Everything after
the k-means (assignment, the exact means, encode, decode, the generators) is the same as for whole
poses: the nearest pair on all joints is the nearest upper pose with the nearest lower pose.
"""

from __future__ import annotations

import os
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import faiss
import numpy as np

from ..data.skeleton import INDEX, NUM_JOINTS
from ..errors import BopBotError
from ..files import write_tensors
from ..reading import read_tensors
from .words import made_up_words

DIMS = NUM_JOINTS * 2
FILENAME = "vocabulary.safetensors"
#: k-means trains on at most this many frames per word. faiss warns below 39; measured on 1M real
#: frames x 8,192 words, 64 a word reaches the quantisation error of 122 a word (0.076 against
#: 0.075 torso lengths) in a quarter of the time, and the assignment pass still sees every frame.
FRAMES_PER_CENTROID = 64
#: Below this many training frames a word, faiss prints a warning of its own; BopBot says it instead.
FAISS_FRAMES_PER_WORD = 39
CHUNK = 65_536
#: The lower body of a part-wise vocabulary; every other joint is the upper body.
LOWER_BODY = [INDEX[f"{side}_{part}"] for part in ("hip", "knee", "ankle") for side in ("left", "right")]
#: No word pose's joint lies farther from the hips than this many torso lengths (a real one, a few):
#: a damaged file's might, and the squared distances to it overflow float32 (no frame finds a word).
MAX_REACH = 1000.0


def features(poses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 17, 3) normalised poses -> (N, 34) float32 coordinates and (N, 17) present-joint mask."""
    poses = np.asarray(poses, dtype=np.float32)
    return np.ascontiguousarray(poses[:, :, :2].reshape(len(poses), DIMS)), poses[:, :, 2] > 0


def gpu_count() -> int:
    """GPUs faiss can use: 0 with faiss-cpu (this project's lock), the CUDA devices with faiss-gpu."""
    return faiss.get_num_gpus() if hasattr(faiss, "get_num_gpus") else 0


@dataclass
class FitReport:
    """What fitting measured over the whole corpus."""

    frames: int
    training_frames: int
    #: Mean distance between a joint and the same joint of its frame's word pose, in torso lengths.
    quantisation_error: float
    empty_words: int
    #: Seconds spent in k-means on the sample, and in the assignment pass over every frame.
    kmeans_seconds: float = 0.0
    assign_seconds: float = 0.0


class PoseVocabulary:
    """K pose words learnt by k-means over normalised COCO-17 frames."""

    def __init__(self, k: int = 1024, niter: int = 20, seed: int = 0, max_training_frames: int | None = None,
                 parts: tuple[int, int] | None = None):
        if parts is not None:
            if min(parts) < 2:
                raise ValueError(f"each part needs at least 2 poses, not {parts}")
            k = parts[0] * parts[1]
        if k < 2:
            raise ValueError(f"a vocabulary needs at least 2 words, not {k}")
        self.k = k
        self.parts = parts
        self.niter = niter
        self.seed = seed
        self.max_training_frames = max_training_frames or k * FRAMES_PER_CENTROID

    # ----------------------------------------------------------------- fitting
    def fit(self, chunks: Callable[[], Iterable[np.ndarray]], progress: Callable[[str, int], None] | None = None) -> FitReport:
        """Learn the words from a corpus streamed twice by `chunks()`, each chunk (N, 17, 3) poses."""
        from scipy import sparse  # here, not at the top: a dance reads words and needs no scipy (`data/filters.py`)

        sample, seen = self._reservoir(chunks(), progress)
        if len(sample) < self.k:
            raise BopBotError(None, f"{len(sample)} complete frames cannot make {self.k} words; lower {self._words_option} "
                                    "or add data")
        started = time.perf_counter()
        self.centroids_ = self._part_centroids(sample) if self.parts else self._kmeans(sample, self.k)
        kmeans_seconds = time.perf_counter() - started
        started = time.perf_counter()
        self._faiss_index = None
        self.words_ = made_up_words(self.k)
        sums = np.zeros((self.k, NUM_JOINTS, 2))
        joint_counts = np.zeros((self.k, NUM_JOINTS))
        counts = np.zeros(self.k, dtype=np.int64)
        error_sum, joints = 0.0, 0
        for poses in chunks():
            ids = self._nearest(poses)
            keep = ids >= 0
            poses, ids = poses[keep], ids[keep]
            present = (poses[:, :, 2] > 0).astype(np.float64)
            # one sparse (words x frames) membership matrix sums every word's frames at once
            members = sparse.csr_matrix((np.ones(len(ids)), (ids, np.arange(len(ids)))), shape=(self.k, len(ids)))
            sums += (members @ (poses[:, :, :2] * present[..., None]).reshape(len(ids), DIMS)).reshape(sums.shape)
            joint_counts += members @ present
            counts += np.bincount(ids, minlength=self.k)
            error_sum += self._joint_errors(poses, ids).sum()
            joints += int(present.sum())
            if progress:
                progress("assign", len(keep))
        # each word's pose becomes the exact mean of its frames, joint by joint over the frames that
        # have that joint; a word no frame chose keeps its k-means centroid
        seen_joint = joint_counts > 0
        means = sums / np.maximum(joint_counts, 1)[..., None]
        self.centroids_ = np.where(seen_joint[..., None], means, self.centroids_).astype(np.float32)
        self._faiss_index = None  # built from the k-means centroids: rebuild from the means
        self.counts_ = counts
        return FitReport(int(counts.sum()), len(sample), error_sum / max(joints, 1), int((counts == 0).sum()),
                         kmeans_seconds, time.perf_counter() - started)

    @property
    def _words_option(self) -> str:
        """The option of `bopbot vocab` that asked for the words: -k, or --parts for a part-wise vocabulary."""
        return "--parts" if self.parts else "-k"

    def _kmeans(self, sample: np.ndarray, k: int) -> np.ndarray:
        """(k, dims) faiss k-means centroids of the (N, dims) sample, on every GPU faiss sees (a
        faiss-gpu install), else on the CPU: the same code path either way."""
        if len(sample) < FAISS_FRAMES_PER_WORD * k:  # said in BopBot's words, in place of faiss's own line
            warnings.warn(f"{len(sample):,} frames for {k:,} words: k-means places its words better with "
                          f"{FAISS_FRAMES_PER_WORD} frames a word or more ({FAISS_FRAMES_PER_WORD * k:,}); "
                          f"give more dance or a smaller {self._words_option}")
        kmeans = faiss.Kmeans(sample.shape[1], k, niter=self.niter, seed=self.seed, max_points_per_centroid=10**9,
                              min_points_per_centroid=1, verbose=False, gpu=gpu_count() > 0)
        kmeans.train(np.ascontiguousarray(sample))
        return kmeans.centroids.reshape(k, -1, 2).copy()

    def _part_centroids(self, sample: np.ndarray) -> np.ndarray:
        """(U x L, 17, 2): the upper-body and the lower-body poses clustered apart, every pair joined."""
        upper_count, lower_count = self.parts
        poses = sample.reshape(len(sample), NUM_JOINTS, 2)
        upper_joints = [j for j in range(NUM_JOINTS) if j not in LOWER_BODY]
        upper = self._kmeans(poses[:, upper_joints].reshape(len(poses), -1), upper_count)
        lower = self._kmeans(poses[:, LOWER_BODY].reshape(len(poses), -1), lower_count)
        centroids = np.empty((upper_count, lower_count, NUM_JOINTS, 2), dtype=np.float32)
        centroids[:, :, upper_joints] = upper[:, None]
        centroids[:, :, LOWER_BODY] = lower[None, :]
        return centroids.reshape(self.k, NUM_JOINTS, 2)

    def _reservoir(self, chunks: Iterable[np.ndarray], progress) -> tuple[np.ndarray, int]:
        """A uniform sample of at most `max_training_frames` complete frames (Algorithm R, in blocks)."""
        rng = np.random.default_rng(self.seed)
        capacity = self.max_training_frames
        sample = np.empty((0, DIMS), dtype=np.float32)
        seen = 0
        for poses in chunks:
            x, mask = features(poses)
            x = x[mask.all(axis=1)]
            if progress:
                progress("sample", len(poses))
            if len(sample) < capacity:
                take = x[: capacity - len(sample)]
                sample = np.concatenate([sample, take])
                x = x[len(take):]
                seen += len(take)
            if len(x):
                # each later frame i (1-based count seen+j) replaces a random slot with prob capacity/i
                slots = (rng.random(len(x)) * (seen + 1 + np.arange(len(x)))).astype(np.int64)
                replace = slots < capacity
                sample[slots[replace]] = x[replace]  # later frames win ties, as in the sequential form
                seen += len(x)
        return np.ascontiguousarray(sample), seen

    # ----------------------------------------------------------------- encode / decode
    def _check_fitted(self) -> None:
        if not hasattr(self, "centroids_"):
            raise RuntimeError("this vocabulary is not fitted yet: call fit() or load()")

    def _nearest(self, poses: np.ndarray) -> np.ndarray:
        """Nearest word per frame on the joints it has; -1 for frames without a dancer."""
        self._check_fitted()
        x, mask = features(poses)
        ids = np.full(len(poses), -1, dtype=np.int64)
        full = mask.all(axis=1)
        if full.any():
            index = self._index()
            ids[full] = index.search(x[full], 1)[1][:, 0]
        partial = np.flatnonzero(~full & mask.any(axis=1))
        for start in range(0, len(partial), 1024):
            rows = partial[start:start + 1024]
            ids[rows] = self._masked_nearest(x[rows], mask[rows])
        return ids

    def _index(self) -> faiss.Index:
        """The exact nearest-word index over the centroids, on the GPUs where faiss has them."""
        if getattr(self, "_faiss_index", None) is None:
            index = faiss.IndexFlatL2(DIMS)
            self._faiss_index = faiss.index_cpu_to_all_gpus(index) if gpu_count() > 0 else index
            self._faiss_index.add(np.ascontiguousarray(self.centroids_.reshape(self.k, DIMS), dtype=np.float32))
        return self._faiss_index

    def _masked_nearest(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """argmin over words of the squared distance on present joints only (three matmuls)."""
        m = np.repeat(mask, 2, axis=1).astype(np.float32)
        c = self.centroids_.reshape(self.k, DIMS)
        distance = -2.0 * (m * x) @ c.T + m @ (c * c).T
        return distance.argmin(axis=1)

    def _joint_errors(self, poses: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Distance of every present joint to its word pose's joint, in torso lengths (flat)."""
        distance = np.linalg.norm(poses[:, :, :2] - self.centroids_[ids], axis=2)
        return distance[poses[:, :, 2] > 0]

    def encode(self, poses: np.ndarray) -> np.ndarray:
        """(T, 17, 3) normalised poses -> (T,) word ids; a frame without a dancer holds the last word."""
        ids = self._nearest(poses)
        if (ids < 0).all():
            raise ValueError("no frame has a dancer: nothing to encode")
        first = int(np.flatnonzero(ids >= 0)[0])
        ids[:first] = ids[first]
        for t in range(first + 1, len(ids)):
            if ids[t] < 0:
                ids[t] = ids[t - 1]
        return ids

    def decode(self, ids: Iterable[int]) -> np.ndarray:
        """Word ids -> (T, 17, 3) normalised poses of those words (confidence 1)."""
        self._check_fitted()
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids, dtype=np.int64)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.k):
            raise ValueError(f"word ids must lie in 0..{self.k - 1}")
        poses = np.ones((len(ids), NUM_JOINTS, 3), dtype=np.float32)
        poses[:, :, :2] = self.centroids_[ids]
        return poses

    def quantisation_error(self, poses: np.ndarray) -> float:
        """Mean joint distance between frames and their words' poses, in torso lengths."""
        ids = self._nearest(poses)
        keep = ids >= 0
        return float(self._joint_errors(poses[keep], ids[keep]).mean())

    # ----------------------------------------------------------------- files
    def save(self, folder: str | os.PathLike) -> Path:
        """Write `vocabulary.safetensors` (centroids, counts; words in its metadata) into `folder`."""
        self._check_fitted()
        path = Path(folder) / FILENAME
        write_tensors(path, {"centroids": self.centroids_.astype(np.float32), "counts": self.counts_.astype(np.int64)},
                      metadata={"words": " ".join(self.words_), "niter": str(self.niter), "seed": str(self.seed),
                                **({"parts": "x".join(map(str, self.parts))} if self.parts else {})})
        return path

    @classmethod
    def load(cls, folder: str | os.PathLike) -> "PoseVocabulary":
        """Read a vocabulary written by `save` (safetensors: no pickle), refused in one line naming
        the file (and the field) where any of it is not what `save` writes."""
        from safetensors import safe_open

        path = Path(folder) / FILENAME
        tensors = read_tensors(path, "pose vocabulary", ("centroids",))
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
        centroids = tensors["centroids"]
        k = len(centroids)
        if "words" not in metadata:
            raise BopBotError(path, "unreadable pose vocabulary: its metadata has no 'words'")
        words = metadata["words"].split()
        if centroids.ndim != 3 or centroids.shape[1:] != (NUM_JOINTS, 2) or len(words) != k or k < 2:
            raise BopBotError(path, f"centroids {centroids.shape} and {len(words)} words do not match "
                                    f"(a vocabulary has 2 or more words, each a pose of {NUM_JOINTS} joints)")
        if np.abs(centroids).max() > MAX_REACH:
            raise BopBotError(path, f"damaged pose vocabulary: 'centroids' holds joints past {MAX_REACH:g} torso "
                                    "lengths from the hips")
        counts = tensors.get("counts", np.zeros(k, dtype=np.int64))
        if counts.shape != (k,) or counts.dtype.kind not in "iu" or counts.min() < 0:
            raise BopBotError(path, f"damaged pose vocabulary: 'counts' should be {k} whole numbers of 0 or more, "
                                    f"not {counts.dtype} {list(counts.shape)}")
        parts = metadata.get("parts")
        if parts is not None:
            shape = re.fullmatch(r"(\d+)x(\d+)", parts)
            if not (shape and min(int(shape[1]), int(shape[2])) >= 2 and int(shape[1]) * int(shape[2]) == k):
                raise BopBotError(path, f"damaged pose vocabulary: its metadata's 'parts' {parts!r} are not two "
                                        f"numbers of 2 or more making its {k} words (UxL)")
            parts = (int(shape[1]), int(shape[2]))
        vocabulary = cls(k=k, niter=_metadata_number(path, metadata, "niter", 20, 1),
                         seed=_metadata_number(path, metadata, "seed", 0, 0), parts=parts)
        vocabulary.centroids_ = centroids
        vocabulary.counts_ = counts
        vocabulary.words_ = words
        return vocabulary

    def words_of(self, ids: Iterable[int]) -> list[str]:
        return [self.words_[i] for i in ids]

    def ids_of(self, words: Iterable[str]) -> np.ndarray:
        lookup = {word: i for i, word in enumerate(self.words_)}
        try:
            return np.array([lookup[w] for w in words], dtype=np.int64)
        except KeyError as exc:
            raise ValueError(f"{exc.args[0]!r} is not a word of this vocabulary") from None


def _metadata_number(path: Path, metadata: dict[str, str], name: str, default: int, least: int) -> int:
    """The whole number `name` of a vocabulary file's metadata (`default` where it has none), or a
    BopBotError naming the file and the field where it is not one from `least` to 2**31 - 1."""
    text = metadata.get(name, str(default))
    if not (re.fullmatch(r"\d{1,10}", text) and least <= int(text) < 2**31):
        raise BopBotError(path, f"damaged pose vocabulary: its metadata's '{name}' is {text!r}, not a whole number "
                                f"from {least} to {2**31 - 1:,}")
    return int(text)


def chunked(arrays: Iterable[np.ndarray], size: int = CHUNK) -> Iterator[np.ndarray]:
    """Regroup a stream of (n, 17, 3) arrays into chunks of about `size` frames."""
    buffer: list[np.ndarray] = []
    held = 0
    for array in arrays:
        if not len(array):  # a shard the extraction kept nothing of
            continue
        buffer.append(array)
        held += len(array)
        if held >= size:
            yield np.concatenate(buffer)
            buffer, held = [], 0
    if buffer:
        yield np.concatenate(buffer)
