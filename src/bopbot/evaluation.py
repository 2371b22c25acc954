"""`bopbot evaluate`: score generated dances against real held-out dances, every generator alike.

For each held-out take (filmed by a few virtual cameras), every non-overlapping stretch of
`context_seconds` + `seconds` gives one test: the generator sees the real context and writes
`seconds` of new dance, joined and smoothed exactly as `bopbot dance` does. The real continuation
of the same stretch is the real-against-real reference row.

Every row is scored against the same reference, the training pool: `seconds`-long stretches of the
training split of the corpus. So FID_k/FID_g say how far a set of dances is from real training
dancing, Div_k/Div_g how varied it is (features z-scored with the pool's statistics), and the
reference row gives each number its scale. The Beat Align Score uses the held-out take's music at
the continuation's time. Word counts and copy lengths use a generator's own words (the LSTM's
poses and the real dances are encoded with the vocabulary); jitter is measured on the final poses.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import metrics
from .choreograph import Sampling
from .corpus import Corpus
from .dance import join_smoothly
from .errors import BopBotError
from .extract import ExtractOptions, expand_inputs, extract
from .generators import NAMES, load_generator
from .normalise import normalise
from .pose_sequence import CORPUS_FPS
from .train import is_validation
from .vocabulary import PoseVocabulary

REAL = "real (held-out)"


@dataclass(frozen=True)
class EvalSettings:
    """What is generated and how it is sampled."""

    context_seconds: float = 8.0
    seconds: float = 10.0
    yaws: tuple[float, ...] = (0.0, 90.0, 180.0, 270.0)
    seeds: tuple[int, ...] = (0,)
    pool_stretches: int = 400
    temperature: float = 1.0
    top_p: float = 0.95
    validation_fraction: float = 0.1
    split_seed: int = 0


@dataclass
class Test:
    """One held-out stretch: the real context and continuation, and the music under it."""

    name: str
    context: np.ndarray
    continuation: np.ndarray
    audio: str | None
    audio_offset: float


@dataclass
class Scored:
    """The dances one row of the table is made of."""

    poses: list[np.ndarray] = field(default_factory=list)
    ids: list[np.ndarray] = field(default_factory=list)
    beats: list[float] = field(default_factory=list)


def held_out_tests(inputs: list[str], settings: EvalSettings) -> list[Test]:
    """Every (context, continuation) stretch of the held-out inputs, from each camera."""
    options = ExtractOptions(yaws=settings.yaws)
    length = round((settings.context_seconds + settings.seconds) * CORPUS_FPS)
    context = round(settings.context_seconds * CORPUS_FPS)
    tests = []
    for path in expand_inputs(inputs):
        for sequence in extract(path, options):
            poses, _ = normalise(sequence.keypoints)
            audio = sequence.meta.get("audio") or None
            view = f"{Path(path).stem} yaw {sequence.meta.get('yaw', 0):g}"
            for start in range(0, len(poses) - length + 1, length):
                stretch = poses[start:start + length]
                offset = float(sequence.meta.get("audio_offset", 0.0)) + (start + context) / CORPUS_FPS
                tests.append(Test(f"{view} @{start / CORPUS_FPS:.0f}s", stretch[:context], stretch[context:], audio, offset))
    if not tests:
        raise BopBotError(None, f"no held-out input is {settings.context_seconds + settings.seconds:g} s long")
    return tests


def training_pool(corpus: Corpus, vocabulary: PoseVocabulary, settings: EvalSettings) -> tuple[list[np.ndarray], np.ndarray]:
    """Stretches of real training dance (the reference set) and the training id stream."""
    length = round(settings.seconds * CORPUS_FPS)
    stretches, ids = [], []
    for info, sequences in corpus.shards():
        if is_validation(info["input"], settings.validation_fraction, settings.split_seed):
            continue
        for sequence in sequences:
            if not (sequence.poses[:, :, 2] > 0).any():
                continue
            ids.append(np.append(vocabulary.encode(sequence.poses), vocabulary.k))
            stretches.extend(sequence.poses[s:s + length] for s in range(0, len(sequence.poses) - length + 1, length))
    if len(stretches) < 2:
        raise BopBotError(corpus.folder, "too little training dance for a reference set")
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(stretches), size=min(settings.pool_stretches, len(stretches)), replace=False)
    return [stretches[i] for i in sorted(chosen)], np.concatenate(ids)


def _features(dances: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    kinetic = np.stack([metrics.kinetic_features(d, CORPUS_FPS) for d in dances])
    geometric = np.stack([metrics.geometric_features(d, CORPUS_FPS) for d in dances])
    return kinetic, geometric


def _beat_score(poses: np.ndarray, test: Test, music_cache: dict) -> float | None:
    if test.audio is None:
        return None
    key = (test.audio, round(test.audio_offset, 3))
    if key not in music_cache:
        music_cache[key] = metrics.music_beats(test.audio, test.audio_offset, len(poses) / CORPUS_FPS)
    return metrics.beat_align_score(metrics.motion_beats(poses, CORPUS_FPS), music_cache[key])


def held_out_perplexity(name: str, generator, tests: list[Test], vocabulary: PoseVocabulary) -> float | None:
    """Per-word perplexity of the real held-out continuations under a word model (None if it has none)."""
    ids = [vocabulary.encode(np.concatenate([t.context, t.continuation])) for t in tests]
    if name == "gpt2":
        import torch

        model = generator.model
        window = model.config.n_positions
        losses, counts = 0.0, 0
        with torch.no_grad():
            for sentence in ids:
                for start in range(0, len(sentence) - 1, window):
                    chunk = torch.tensor(sentence[start:start + window + 1])[None]
                    if chunk.shape[1] < 2:
                        continue
                    loss = model(input_ids=chunk[:, :-1], labels=chunk[:, 1:]).loss.item()
                    losses += loss * (chunk.shape[1] - 1)
                    counts += chunk.shape[1] - 1
        return math.exp(losses / counts)
    if name in ("ngram", "random"):
        return float(np.exp(np.mean([np.log(generator.words.perplexity(s)) for s in ids])))
    return None


def evaluate(model_folder: str | Path, corpus_folder: str | Path, heldout: list[str], generators: list[str],
             settings: EvalSettings = EvalSettings(), progress: bool = True) -> dict:
    """Score each generator and the real held-out dances; returns the table and samples for the report."""
    unknown = [g for g in generators if g not in NAMES]
    if unknown:
        raise BopBotError(None, f"unknown generator(s) {', '.join(unknown)}; known: {', '.join(NAMES)}")
    vocabulary = PoseVocabulary.load(model_folder)
    corpus = Corpus(corpus_folder)
    tests = held_out_tests(heldout, settings)
    pool, training_ids = training_pool(corpus, vocabulary, settings)
    pool_kinetic, pool_geometric = _features(pool)
    count = round(settings.seconds * CORPUS_FPS)
    music: dict = {}
    rows: dict[str, Scored] = {REAL: Scored()}
    for test in tests:
        rows[REAL].poses.append(test.continuation)
        rows[REAL].ids.append(vocabulary.encode(test.continuation))
        score = _beat_score(test.continuation, test, music)
        if score is not None:
            rows[REAL].beats.append(score)
    perplexities: dict[str, float | None] = {REAL: None}
    jobs = len(generators) * len(tests) * len(settings.seeds)
    bar = tqdm(total=jobs, desc="generating", unit="dance", disable=not progress)
    for name in generators:
        generator = load_generator(name, model_folder, vocabulary)
        rows[name] = scored = Scored()
        for test in tests:
            for seed in settings.seeds:
                salt = int(hashlib.sha1(test.name.encode()).hexdigest()[:6], 16)
                sampling = Sampling(settings.temperature, 0, settings.top_p, seed * 1_000_003 + salt)
                new = generator.continue_dance(test.context, count, sampling)
                poses = join_smoothly(vocabulary, test.context, new.poses)
                scored.poses.append(poses)
                scored.ids.append(new.ids if new.ids is not None else vocabulary.encode(poses))
                score = _beat_score(poses, test, music)
                if score is not None:
                    scored.beats.append(score)
                bar.update(1)
        perplexities[name] = held_out_perplexity(name, generator, tests, vocabulary)
    bar.close()
    table = {name: _row(scored, pool_kinetic, pool_geometric, training_ids, perplexities[name]) for name, scored in rows.items()}
    return {
        "settings": {**settings.__dict__, "yaws": list(settings.yaws), "seeds": list(settings.seeds)},
        "tests": len(tests),
        "pool_stretches": len(pool),
        "quantisation_error": float(np.mean([vocabulary.quantisation_error(t.continuation) for t in tests])),
        "table": table,
        "samples": {name: rows[name].poses[0] for name in rows},
        "context": tests[0].context,
        "sample_name": tests[0].name,
    }


def _row(scored: Scored, pool_kinetic: np.ndarray, pool_geometric: np.ndarray, training_ids: np.ndarray,
         perplexity: float | None) -> dict:
    kinetic, geometric = _features(scored.poses)
    return {
        "FID_k": metrics.frechet_distance(pool_kinetic, kinetic),
        "FID_g": metrics.frechet_distance(pool_geometric, geometric),
        "Div_k": metrics.diversity(kinetic, pool_kinetic),
        "Div_g": metrics.diversity(geometric, pool_geometric),
        "BAS": float(np.mean(scored.beats)) if scored.beats else None,
        "perplexity": perplexity,
        "unique_words_15s": float(np.mean([metrics.unique_words_per(i, CORPUS_FPS) for i in scored.ids])),
        "copy_seconds": float(np.mean([metrics.longest_copy_seconds(i, training_ids, CORPUS_FPS) for i in scored.ids])),
        "jitter": float(np.mean([metrics.jitter(p, CORPUS_FPS) for p in scored.poses])),
        "dances": len(scored.poses),
    }
