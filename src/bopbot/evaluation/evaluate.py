"""`bopbot evaluate`: score generated dances against real ones, every row alike, with its noise.

The test set is cut as `stretches.py` says: stretches of every held-out take, seen by a few cameras.

The rows
--------
* `real (held-out)`: the real continuations.
* `real (pool floor)`: real dances the models never trained on and the reference pool does not
  hold (the validation split of the corpus), cut into stretches the same way and seen from the
  same cameras. Two real sets of this size differ this much by chance: the floor every other
  row is read against.
* `oracle words`: the real continuation turned into pose words and back, moved through by the model
  folder's word decoder (`word_motion` without one), joined and smoothed
  exactly as `bopbot dance` joins a generator's words, at the real continuation's own timing (not
  played at the user's pace: it has the frames of the real next seconds only): the best any word
  generator can do with this vocabulary.
* one row per generator, `seeds` samples per stretch and camera, played at the user's pace
  (`choreography.pace`) as `bopbot dance` plays them; a generator named with `+beats`
  (`gpt2+beats`) writes `retime.MAX_STRETCH` times as much and plays it on the beat of the take's
  music (`retime.beat_warp`), at the pace the beat sets, each second eight-count dancing the first
  again (`choreograph.phrase_repeats`), as `bopbot dance` does with music (a take
  without music is played at the user's pace, as `bopbot dance` plays it). Every generator is given the
  take's music frame by frame (`beats.music_frames`); `gpt2-music` is the one that listens.

Every row is scored the same way against the same reference, the training pool (`pool_stretches`
`seconds`-long stretches of the training split): FID_k/FID_g say how far a set is from real
training dance, Div_k/Div_g how varied it is. Word counts and copies use the row's final poses
encoded with the vocabulary, jitter the final poses. The Beat Align Score is given only to
dances made with their music (the real rows, the oracle words at the real timing, `gpt2-music`
and the `+beats` rows, on takes that have music), beside the same dances scored against the
music shifted by 1 to 5 s (`bopbot.music.beats`). Perplexity is that of the real
continuations, each word given everything before it that the model's window holds.

Each figure comes with a 95% bootstrap interval over stretches (`bootstrap.py`), and rows scored
on the same stretches are compared pair by pair on the same resamples.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import asdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..choreography.choreograph import continue_on_canvas, phrase_repeats, write_at_pace
from ..choreography.pace import Pace, at_pace
from ..data.corpus import Corpus
from ..data.normalise import normalise
from ..data.pose_sequence import CORPUS_FPS
from ..errors import BopBotError
from ..evaluation import continuity, metrics
from ..models.generators import NAMES, load_generator
from ..models.sampling import Sampling
from ..models.travel import load_travel
from ..music.beats import TrackBeats, beat_alignment, motion_beats, music_beats, music_frames, shift_curve
from ..music.retime import beat_warp, play
from ..vocabulary.vocabulary import PoseVocabulary
from ..models.decoder import WordMover, load_decoder
from .bootstrap import RowScores, cluster_mean, compare_rows, keep_stretches, summarise
from .rhythm import music_figures
from .settings import EvalSettings
from .stretches import Test, cut_stretches, floor_views, held_out_views, training_pool
from .word_metrics import CopyIndex, unique_words_per

REAL = "real (held-out)"
#: Held-out videos (the view phone users film) get a table of their own from this many stretches.
MIN_PHONE_STRETCHES = 3
#: The user's moves are the words of the context's last this many seconds (the `user_words` figure).
USER_SECONDS = 10.0
#: Music shifts, in seconds, at which the real dances' Beat Align Score is drawn as a curve.
CURVE_SHIFTS = np.round(np.arange(-5.0, 5.0001, 0.05), 2)
FLOOR = "real (pool floor)"
ORACLE = "oracle words"
#: A generator's name with this after it: its dances played on the beat of the take's music.
ON_THE_BEAT = "+beats"
#: The generator that hears the take's music as it writes (its rows get a Beat Align Score).
HEARS_MUSIC = "gpt2-music"


class Scorer:
    """Turns a row's final dances into the per-dance figures the table is made of."""

    def __init__(self, vocabulary: PoseVocabulary, training_ids: np.ndarray):
        self.vocabulary = vocabulary
        self.copies = CopyIndex(training_ids)
        self.music: dict[str, TrackBeats] = {}

    def score(self, name: str, shown: list[np.ndarray], tests: list[Test], with_music: bool,
              test_set: str = "held-out") -> RowScores:
        """`shown[i]`, pixel keypoints as the viewer sees them, continues `tests[i]`, a test of `test_set`."""
        dances = [normalise(keypoints)[0] for keypoints in shown]
        row = RowScores(name, test_set, np.array([t.stretch for t in tests]),
                        np.stack([metrics.kinetic_features(d, CORPUS_FPS) for d in dances]),
                        np.stack([metrics.geometric_features(d, CORPUS_FPS) for d in dances]))
        ids = [self.vocabulary.encode(d) for d in dances]
        before = [self.vocabulary.encode(t.context[-round(USER_SECONDS * CORPUS_FPS):]) for t in tests]
        row.per_dance["user_words"] = np.array([np.isin(i, b).mean() for i, b in zip(ids, before)])
        row.per_dance["unique_words_15s"] = np.array([unique_words_per(i, CORPUS_FPS) for i in ids])
        row.per_dance["copy_seconds"] = np.array([self.copies.longest_copy(i) / CORPUS_FPS for i in ids])
        row.per_dance["jitter"] = np.array([metrics.jitter(d, CORPUS_FPS) for d in dances])
        contexts = [t.context_keypoints() for t in tests]
        row.per_dance["join"] = np.array([continuity.join_ratio(c, k) for c, k in zip(contexts, shown)])
        row.per_dance["side_on"] = np.array([continuity.side_on_fraction(k) for k in shown])
        row.per_dance["view_shift"] = np.array([continuity.view_shift(c, k, CORPUS_FPS) for c, k in zip(contexts, shown)])
        row.per_dance["speed_ratio"] = np.array([continuity.motion_ratio(c, k) for c, k in zip(contexts, shown)])
        row.per_dance["acceleration_ratio"] = np.array([continuity.motion_ratio(c, k, 2) for c, k in zip(contexts, shown)])
        row.per_dance["hip_excursion"] = np.array([continuity.hip_excursion(c, k) for c, k in zip(contexts, shown)])
        row.per_dance["root_speed"] = np.array([continuity.root_speed(c, k, CORPUS_FPS) for c, k in zip(contexts, shown)])
        row.per_dance["inside_frame"] = np.array([continuity.inside_frame(k, t.size) for k, t in zip(shown, tests)])
        if with_music and any(t.audio for t in tests):
            aligned = [self._beats(d, t) for d, t in zip(dances, tests)]
            row.per_dance["BAS"] = np.array([np.nan if a is None else a[0] for a in aligned])
            row.per_dance["BAS_null"] = np.array([np.nan if a is None or a[1] is None else a[1] for a in aligned])
            rhythm = [music_figures(k, CORPUS_FPS, self.track(t.audio), t.audio_start) if t.audio else {}
                      for k, t in zip(shown, tests)]
            for key in next(r for r in rhythm if r):
                row.per_dance[key] = np.array([r.get(key, np.nan) for r in rhythm])
        return row

    def track(self, audio: str) -> TrackBeats:
        if audio not in self.music:
            self.music[audio] = music_beats(audio)
        return self.music[audio]

    def _beats(self, poses: np.ndarray, test: Test) -> tuple[float, float | None] | None:
        if test.audio is None:
            return None
        return beat_alignment(motion_beats(poses, CORPUS_FPS), self.track(test.audio), test.audio_start,
                              len(poses) / CORPUS_FPS)

    def shift_curve(self, tests: list[Test], resamples: int) -> dict | None:
        """The real continuations' Beat Align Score against their music moved by `CURVE_SHIFTS`,
        averaged over the tests with music, with intervals over stretches."""
        tests = [t for t in tests if t.audio]
        if not tests:
            return None
        curves = np.stack([shift_curve(motion_beats(t.continuation, CORPUS_FPS), self.track(t.audio), t.audio_start,
                                       len(t.continuation) / CORPUS_FPS, CURVE_SHIFTS) for t in tests])
        return {"shifts": CURVE_SHIFTS.tolist(), "tests": len(tests),
                **cluster_mean(curves, np.array([t.stretch for t in tests]), resamples)}


def continuation_log_loss(name: str, generator, vocabulary: PoseVocabulary, test: Test) -> tuple[float, int] | None:
    """Summed negative log-likelihood (nats) and count of the real continuation's words, each given
    the words before it, under a word model; None for a generator without word probabilities."""
    context = vocabulary.encode(test.context)
    sentence = np.concatenate([context, vocabulary.encode(test.continuation)])
    if name == "gpt2":
        return _gpt2_log_loss(generator.model, sentence, len(context))
    if name in ("ngram", "random"):
        return generator.words.log_loss(sentence, len(context)), len(sentence) - len(context)
    return None


def _gpt2_log_loss(model, sentence: np.ndarray, first: int) -> tuple[float, int]:
    """Words `first..` of `sentence`, each scored with at least half the model's window before it
    (the summed negative log-likelihood and the count of words scored)."""
    window = model.config.n_positions
    total, count, position = 0.0, 0, first
    while position < len(sentence):
        stop = min(len(sentence), position + window // 2)
        start = max(0, stop - window)
        chunk = np.asarray(sentence[start:stop], dtype=np.int64)
        logits = model.logits(chunk[None])[0].astype(np.float64)
        scored = np.arange(max(position - start, 1), len(chunk))  # each predicted by the position before it
        predicting = logits[scored - 1]
        peak = predicting.max(axis=1)
        normaliser = peak + np.log(np.exp(predicting - peak[:, None]).sum(axis=1))
        total += float((normaliser - predicting[np.arange(len(scored)), chunk[scored]]).sum())
        count += len(scored)
        position = stop
    return total, count


def evaluate(model_folder: str | Path, corpus_folder: str | Path, heldout: list[str], generators: list[str],
             settings: EvalSettings = EvalSettings(), progress: bool = True) -> dict:
    """Score every row (see the module docs); returns the table, the comparisons and samples for the report."""
    unknown = [g for g in generators if g.removesuffix(ON_THE_BEAT) not in NAMES]
    if unknown:
        raise BopBotError(None, f"unknown generator(s) {', '.join(unknown)}; known: {', '.join(NAMES)}, "
                                f"each also with {ON_THE_BEAT} (gpt2{ON_THE_BEAT}: played on the beat)")
    vocabulary = PoseVocabulary.load(model_folder)
    corpus = Corpus(corpus_folder)
    travel = load_travel(model_folder)
    mover = WordMover(vocabulary, load_decoder(model_folder, vocabulary))
    # every generator loaded before the held-out dances are read: one the folder lacks is said at once
    loaded = {name: load_generator(name, model_folder, vocabulary, mover=mover)
              for name in dict.fromkeys(g.removesuffix(ON_THE_BEAT) for g in generators)}
    held_out = cut_stretches(held_out_views(heldout, settings), settings)
    if not held_out.tests:
        raise BopBotError(None, "no held-out input is long enough: " + "; ".join(held_out.skipped))
    if len(held_out.tests) < 2:  # a distance between sets of dances needs two of each at least
        raise BopBotError(None, f"the held-out dances give {len(held_out.tests)} stretch of {settings.seconds:g} s "
                                "after their context; the scores need at least 2: give more or longer held-out dances")
    floor = cut_stretches(floor_views(corpus, settings), settings)
    for note in held_out.skipped:
        warnings.warn(f"held-out take skipped: {note}")
    on_the_beat = [name for name in generators if name.endswith(ON_THE_BEAT)]
    if on_the_beat and not any(test.audio for test in held_out.tests):  # the rows would copy the plain ones
        warnings.warn(f"no held-out take has music: {', '.join(on_the_beat)} left out")
        generators = [name for name in generators if name not in on_the_beat]
    pool, training_ids = training_pool(corpus, vocabulary, settings)
    scorer = Scorer(vocabulary, training_ids)
    count = round(settings.seconds * CORPUS_FPS)
    tests = held_out.tests

    def carry_on(test: Test, keyframes: np.ndarray, low_pass: bool = True) -> np.ndarray:
        """Poses joined, travelling and kept on the canvas exactly as `bopbot dance` does."""
        return continue_on_canvas(vocabulary, travel, test.context, test.context_placement, keyframes, test.size,
                                  low_pass=low_pass)

    rows = {REAL: scorer.score(REAL, [t.continuation_keypoints() for t in tests], tests, with_music=True)}
    samples = {REAL: tests[0].continuation}
    if len(floor.tests) == 1:
        warnings.warn("the corpus gives one stretch for the pool floor, and a floor needs two: its row is left out")
    if len(floor.tests) >= 2:
        rows[FLOOR] = scorer.score(FLOOR, [t.continuation_keypoints() for t in floor.tests], floor.tests,
                                   with_music=True, test_set="floor")
    oracle = [carry_on(t, mover.move(vocabulary.encode(t.continuation), before=vocabulary.encode(t.context)),
                       mover.low_pass) for t in tests]
    rows[ORACLE] = scorer.score(ORACLE, oracle, tests, with_music=True)
    samples[ORACLE] = normalise(oracle[0])[0]
    bar = tqdm(total=len(generators) * len(tests) * settings.seeds, desc="generating", unit="dance",
               disable=not progress)
    for name in generators:
        on_beat = name.endswith(ON_THE_BEAT)
        generator = loaded[name.removesuffix(ON_THE_BEAT)]
        dances, dance_tests = [], []
        for stretch in range(held_out.stretches):  # a stretch's cameras and seeds as one batch
            batch = [t for t in tests if t.stretch == stretch for _ in range(settings.seeds)]
            # As `bopbot dance` plays it: on a song's beats the beat sets the pace; a take without
            # music (a phone clip, a CMU take) is played at the user's pace, `+beats` or not.
            music = scorer.track(batch[0].audio) if on_beat and batch[0].audio else None
            beats = music.between(batch[0].audio_start, settings.seconds) if music is not None else []
            pace = Pace(count, on_beat=len(beats) > 0)
            salt = int(hashlib.sha1(batch[0].name.encode()).hexdigest()[:6], 16)
            phrases = (music.phrase_starts(batch[0].audio_start, pace.written / CORPUS_FPS)
                       if len(beats) and generator.repeats_phrases else [])
            sampling = Sampling(settings.temperature, settings.top_k, settings.top_p, salt, settings.echo,
                                repeats=phrase_repeats(phrases, pace.written))
            heard = [music_frames(scorer.track(t.audio), t.audio_start - len(t.context) / CORPUS_FPS,
                                  len(t.context) + pace.written) if t.audio else None for t in batch]
            for test, (new, times) in zip(batch, write_at_pace(generator, [t.context for t in batch], pace, sampling, heard)):
                shown = carry_on(test, at_pace(new.poses, times), new.low_pass)
                loudness = music.loudness_between(batch[0].audio_start, count) if music is not None else None
                dances.append(play(shown, beat_warp(normalise(shown)[0], beats, count, CORPUS_FPS, loudness=loudness)))
                dance_tests.append(test)
            bar.update(len(batch))
        rows[name] = scorer.score(name, dances, dance_tests, with_music=on_beat or name.startswith(HEARS_MUSIC))
        samples[name] = normalise(dances[0])[0]
        losses = [] if on_beat else [continuation_log_loss(name, generator, vocabulary, t) for t in tests]
        if losses and all(loss is not None for loss in losses):
            rows[name].log_loss = np.array([loss[0] for loss in losses])
            rows[name].words = np.array([loss[1] for loss in losses])
            rows[name].loss_stretch = np.array([t.stretch for t in tests])
    bar.close()
    pool_kinetic = np.stack([metrics.kinetic_features(d, CORPUS_FPS) for d in pool])
    pool_geometric = np.stack([metrics.geometric_features(d, CORPUS_FPS) for d in pool])
    stretches = {"held-out": held_out.stretches, **({"floor": floor.stretches} if floor.tests else {})}
    phone = np.unique([t.stretch for t in tests if t.camera == "video"])
    for features in (pool_kinetic, pool_geometric):
        if held_out.stretches <= features.shape[1]:
            warnings.warn(f"FID from {held_out.stretches} independent held-out stretches of {features.shape[1]} "
                          "features is noisy and biased upwards; read it against the pool floor and the intervals")
    table, draws = summarise(rows, stretches, pool_kinetic, pool_geometric, settings.resamples)
    paired = [name for name in rows if name not in (REAL, FLOOR)]
    on_phone = {}
    if len(phone) >= MIN_PHONE_STRETCHES:
        phone_rows = {name: keep_stretches(row, phone) for name, row in rows.items() if name != FLOOR}
        on_phone = summarise(phone_rows, {"held-out": len(phone)}, pool_kinetic, pool_geometric, settings.resamples)[0]
    return {
        "settings": {**asdict(settings), "yaws": list(settings.yaws)},
        "stretches": held_out.stretches,
        "tests": len(tests),
        "floor_stretches": floor.stretches if FLOOR in rows else 0,
        "skipped": held_out.skipped,
        "pool_stretches": len(pool),
        "features": {"kinetic": pool_kinetic.shape[1], "geometric": pool_geometric.shape[1]},
        "quantisation_error": float(np.mean([vocabulary.quantisation_error(t.continuation) for t in tests])),
        "table": table,
        "comparisons": compare_rows(draws, paired + [REAL]),
        "phone_videos": on_phone,
        "beat_shift": scorer.shift_curve(tests, settings.resamples),
        "samples": samples,
        "sample_name": tests[0].name,
        "features_by_row": {"pool": {"kinetic": pool_kinetic, "geometric": pool_geometric},
                            **{name: {"kinetic": row.kinetic, "geometric": row.geometric, "stretch": row.stretch}
                               for name, row in rows.items() if row.test_set == "held-out"}},
    }
