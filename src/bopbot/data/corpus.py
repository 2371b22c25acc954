"""The pose corpus: many normalised dances on disk in shards, read as a stream (`ingest.build_corpus` builds it).

Layout of a corpus folder:
- `shards/<key>.npz`, one per input: `poses` (N, 17, 3) normalised frames of all the input's
  sequences back to back, `placement` (N, 3) to put them back on a canvas, `lengths` (S,) frames
  per sequence, `sizes` (S, 2) source sizes, and `info`, a JSON text (input, kind, sources, meta);
- `failures/<key>.json` for inputs that could not be read, with the reason (retried next run);
- `corpus.json`, the summary of everything in the folder.

Every file is written atomically, so a reader finds only whole shards.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import BopBotError
from ..files import TMP_PREFIX, folder_problem, write_npz
from ..reading import read_json
from .normalise import denormalise, normalise
from .pose_sequence import CORPUS_FPS, PoseSequence
from .skeleton import JOINTS, NUM_JOINTS

SHARDS = "shards"
FAILURES = "failures"
SUMMARY = "corpus.json"


def write_shard(path: Path, input_path: Path, kind: str, sequences: list[PoseSequence],
                options: dict | None = None) -> dict:
    """Normalise `sequences` and write them as one shard; return the shard's info (the input as
    given, for the validation split, and resolved, for a later run to know it; the extraction
    `options`)."""
    normalised = [normalise(sequence.keypoints) for sequence in sequences]
    info = {
        "input": str(input_path),
        "resolved": os.path.realpath(input_path),
        "options": options,
        "kind": kind,
        "fps": CORPUS_FPS,
        "sequences": [
            {"source": s.source, "meta": s.meta, "frames": len(s), "frames_without_dancer": s.frames_without_dancer}
            for s in sequences
        ],
    }
    write_npz(
        path,  # no sequences: an input the extraction options kept nothing of (`extract.NothingKept`)
        poses=np.concatenate([poses for poses, _ in normalised]) if normalised else np.zeros((0, NUM_JOINTS, 3)),
        placement=np.concatenate([placement for _, placement in normalised]) if normalised else np.zeros((0, 3)),
        lengths=np.array([len(s) for s in sequences], dtype=np.int64),
        sizes=np.array([s.size for s in sequences], dtype=np.int32).reshape(-1, 2),
        info=np.array(json.dumps(info)),
    )
    return info


@dataclass
class CorpusSequence:
    """One dance of the corpus: normalised poses, their placement, and where they came from."""

    poses: np.ndarray
    placement: np.ndarray
    size: tuple[int, int]
    source: str
    meta: dict = field(default_factory=dict)

    def to_pose_sequence(self) -> PoseSequence:
        """Back on the canvas of its source, in pixels."""
        return PoseSequence(denormalise(self.poses, self.placement), CORPUS_FPS, self.size, self.source, self.meta)


def read_shard(path: Path, frames: bool = True) -> dict:
    """A shard's `info` (parsed) and `lengths`, and with `frames` its `poses`, `placement` and
    `sizes`, checked to be whole and consistent; a BopBotError naming the shard if it is not."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            shard = {"info": json.loads(str(stored["info"])), "lengths": stored["lengths"]}
            if frames:
                shard.update(poses=stored["poses"], placement=stored["placement"], sizes=stored["sizes"])
        described = shard["info"]["sequences"]
        if "input" not in shard["info"] or not all({"source", "meta", "frames_without_dancer"} <= set(d)
                                                   for d in described):
            raise KeyError("its info lacks the input, or a sequence's source, meta or frames without a dancer")
        sequences = len(described)
    except Exception as exc:  # numpy, zipfile and json raise many kinds for a damaged file
        raise BopBotError(path, f"damaged corpus shard ({type(exc).__name__}: {exc}); run the same `bopbot extract` "
                                "again to redo it") from None
    problem = None
    if shard["lengths"].ndim != 1 or len(shard["lengths"]) != sequences or (shard["lengths"] < 0).any():
        problem = f"{len(shard['lengths'])} sequence lengths for {sequences} sequences"
    elif frames and (len(shard["poses"]) != shard["lengths"].sum() or shard["poses"].shape[1:] != (NUM_JOINTS, 3)
                     or len(shard["placement"]) != len(shard["poses"]) or len(shard["sizes"]) != sequences):
        problem = f"poses {shard['poses'].shape} do not match its lengths and placement"
    elif frames and not (np.isfinite(shard["poses"]).all() and np.isfinite(shard["placement"]).all()):
        problem = "poses that are not finite numbers"
    if problem:
        raise BopBotError(path, f"damaged corpus shard ({problem}); run the same `bopbot extract` again to redo it")
    return shard


def shard_is_whole(path: Path) -> bool:
    """Whether `path` is a shard `read_shard` reads without complaint."""
    try:
        read_shard(path)
        return True
    except BopBotError:
        return False


class Corpus:
    """A corpus folder, read lazily: one shard in memory at a time."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        problem = folder_problem(self.folder)
        if problem == "missing":
            raise BopBotError(self.folder, "no such corpus folder; build one with `bopbot extract INPUTS -o FOLDER`")
        if problem is not None:  # a loop of symbolic links, a link to nothing, a file: said as such
            raise BopBotError(self.folder, f"the corpus folder is {problem}")
        if not (self.folder / SHARDS).is_dir():
            raise BopBotError(self.folder, "not a BopBot corpus (no shards/ folder); build one with `bopbot extract INPUTS -o FOLDER`")

    def shard_paths(self) -> list[Path]:
        """The whole shards (not the hidden temporaries of a run still writing, or killed)."""
        return sorted(p for p in (self.folder / SHARDS).glob("*.npz") if not p.name.startswith(TMP_PREFIX))

    def infos(self) -> Iterator[tuple[dict, np.ndarray]]:
        """Each shard's info and sequence lengths, without reading its frames."""
        for path in self.shard_paths():
            shard = read_shard(path, frames=False)
            yield shard["info"], shard["lengths"]

    def shards(self) -> Iterator[tuple[dict, list[CorpusSequence]]]:
        """Each shard's info and its dances, one shard in memory at a time."""
        for path in self.shard_paths():
            shard = read_shard(path)
            info, poses, placement, sizes = shard["info"], shard["poses"], shard["placement"], shard["sizes"]
            bounds = np.concatenate([[0], np.cumsum(shard["lengths"])])
            yield info, [
                CorpusSequence(poses[bounds[i]:bounds[i + 1]], placement[bounds[i]:bounds[i + 1]],
                               (int(sizes[i][0]), int(sizes[i][1])), described["source"], described["meta"])
                for i, described in enumerate(info["sequences"])
            ]

    def sequences(self) -> Iterator[CorpusSequence]:
        """Every dance in the corpus, shard by shard."""
        for _, sequences in self.shards():
            yield from sequences

    def frame_chunks(self) -> Iterator[np.ndarray]:
        """All normalised frames, (N, 17, 3) a shard at a time (for streaming passes)."""
        for path in self.shard_paths():
            yield read_shard(path)["poses"]

    def failures(self) -> list[dict]:
        """The inputs that could not be read, each {"input": ..., "reason": ...}; a file in `failures/`
        that is not such a record is named as damage (the corpus would otherwise report it as one)."""
        folder = self.folder / FAILURES
        records = []
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            record = read_json(path, "failure record")
            if not (isinstance(record, dict) and isinstance(record.get("input"), str)
                    and isinstance(record.get("reason"), str)):
                raise BopBotError(path, "is not a failure record of this corpus (its input and the reason): "
                                        "remove it, or extract into a new folder")
            records.append(record)
        return records

    def summary(self) -> dict:
        """Totals over the whole folder: inputs, sequences, frames, seconds, frames without a dancer, failures."""
        inputs = sequences = frames = missing = 0
        for info, lengths in self.infos():
            inputs += 1
            sequences += len(lengths)
            frames += int(lengths.sum())
            missing += sum(s["frames_without_dancer"] for s in info["sequences"])
        return {
            "fps": CORPUS_FPS,
            "joints": list(JOINTS),
            "inputs": inputs,
            "sequences": sequences,
            "frames": frames,
            "seconds": round(frames / CORPUS_FPS, 2),
            "frames_without_dancer": missing,
            "failures": self.failures(),
        }
