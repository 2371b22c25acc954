"""Writing with the language model: continue a dance's words as the sampling settings ask.

The user's dance is encoded into pose words; its last words (as many as the model's context
holds) prime the GPT-2, which writes the continuation. Continuations longer than the context
window slide it: each step keeps the latest three quarters of the window as the prompt. The
music-aware GPT-2 is sampled by its own loop, each word hearing the music of its frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.pose_sequence import CORPUS_FPS
from ..errors import BopBotError

#: Temperatures below this are taken as it: the likeliest word wins either way, and dividing a
#: float32 logit by 1e-300 overflows to infinity (no probabilities are left to draw from).
MIN_TEMPERATURE = 1e-6


@dataclass
class Sampling:
    """How the next word is drawn.

    `echo` favours the user's own pose words: every word of the context gets `echo` nats added to
    its log-probability, fading with a time constant of `echo_seconds` into the new dance, so the
    dancer starts with the user's moves and then finds its own. The moves carry on, the recording
    does not: no run of the new words repeats the context word for word for longer than
    `max_copy_seconds` (the word that would make it longer is never drawn). That is counted as the
    dance is shown: where each dance is played at a rate (`played_rates`: written frames per shown
    frame, one per dance; 1 when None), its words are held against the context sped up by that rate.

    `repeats` dances phrases again: each (first, end, lag) favours, for the new words `first` to
    `end` (counted from the new dance's first word), the word written `lag` words before, by
    `repeat` nats; the model still chooses, so the phrase comes back varied (see
    `choreograph.phrase_repeats`).
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None
    echo: float = 2.0
    echo_seconds: float = 4.0
    max_copy_seconds: float = 1.5
    played_rates: tuple[float, ...] | None = None
    repeats: tuple[tuple[int, int, int], ...] = ()
    repeat: float = 8.0

    def check(self) -> None:
        if not self.temperature > 0:
            raise BopBotError(None, f"the temperature must be above 0, got {self.temperature}")
        if not (self.echo >= 0 and self.echo_seconds > 0):
            raise BopBotError(None, f"the echo must be 0 or more and its fade above 0 s, got {self.echo}, {self.echo_seconds}")
        if self.top_k < 0:
            raise BopBotError(None, f"top-k must be 0 (off) or more, got {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise BopBotError(None, f"top-p must be in (0, 1], got {self.top_p}")
        if not self.max_copy_seconds > 0:
            raise BopBotError(None, f"the longest copy of the context must be above 0 s, got {self.max_copy_seconds}")
        if self.played_rates is not None and not all(np.isfinite(r) and r > 0 for r in self.played_rates):
            raise BopBotError(None, f"each dance's rate must be above 0, got {self.played_rates}")
        if not (self.repeat >= 0 and all(0 < lag <= first < end for first, end, lag in self.repeats)):
            raise BopBotError(None, f"each repeat favours words written before it, by 0 nats or more; got "
                                    f"{self.repeats} by {self.repeat}")


def continue_words(model, context: np.ndarray, count: int, sampling: Sampling = Sampling(),
                   music: np.ndarray | None = None) -> np.ndarray:
    """`count` new word ids continuing `context`, by the GPT-2 `model` (`runtime.GPT2Runtime`).

    `context` is (T,) ids, or (B, T) for B dances written at once (one batch, one seed: much
    faster than B calls); the result is (count,) or (B, count). A music-aware GPT-2 takes `music`:
    the music token of every frame, context and new dance, (T + count,) or (B, T + count)
    (`language_model.music_input_ids`).
    """
    sampling.check()
    contexts = np.atleast_2d(np.asarray(context, dtype=np.int64))
    config = model.config
    words = contexts if contexts.shape[1] else np.full((len(contexts), 1), config.bos_token_id, dtype=np.int64)
    familiar = np.zeros((len(contexts), config.vocab_size), dtype=bool)
    familiar[np.arange(len(contexts))[:, None], contexts] = True
    heard = None
    if config.music_inputs:
        heard = np.atleast_2d(np.asarray(music, dtype=np.int64)) if music is not None else None
        if heard is None or heard.shape != (len(contexts), contexts.shape[1] + count):
            raise ValueError(f"a music-aware GPT-2 needs the music of all {contexts.shape[1] + count} frames")
        if not contexts.shape[1]:  # the <eod> that starts a dance hears its first frame
            heard = np.concatenate([heard[:, :1], heard], axis=1)
        heard = np.concatenate([heard[:, 1:], heard[:, -1:]], axis=1)  # position t hears frame t + 1
    written = _continue(model, words, heard, count, sampling, familiar)
    return written if np.ndim(context) == 2 else written[0]


def copies_too_long(context: np.ndarray, written: np.ndarray, rate: float, sampling: Sampling) -> bool:
    """Whether the new words `written` after the (T,) `context`, played at `rate` written frames a
    shown frame, repeat the context word for word for longer than `sampling.max_copy_seconds` as
    shown: whether writing them with `played_rates=(rate,)` would have banned one of them."""
    ban = _NoLongCopy(np.asarray(context)[None], sampling.max_copy_seconds * CORPUS_FPS, (rate,))
    return ban.broken_by(np.asarray(written)[None])


def _continue(model, words: np.ndarray, heard: np.ndarray | None, count: int, sampling: Sampling,
              familiar: np.ndarray) -> np.ndarray:
    """The sampling loop: each word is drawn from the model's next-word distribution, favoured
    towards the user's words (echo) and a phrase's repeat, with the long copies banned, then
    tempered, top-k and top-p cut as transformers' warpers cut. The model reads a window of
    `n_positions` words through its key/value cache; when the window is full, a fresh one starts
    from the latest three quarters of it. Position t hears frame t + 1's music, the frame its word
    predicts."""
    from .language_model import word_count

    config = model.config
    window = config.n_positions
    keep = max(1, window * 3 // 4)
    last_word = word_count(config)  # <eod>, <pad>, <unk> and the music are never written
    rng = np.random.default_rng(sampling.seed)
    start = words.shape[1]
    out = np.empty((len(words), start + count), dtype=np.int64)
    out[:, :start] = words
    no_copy = _NoLongCopy(words, sampling.max_copy_seconds * CORPUS_FPS, sampling.played_rates)
    repeat = _Repeat(sampling.repeats, sampling.repeat)
    cache = None
    for n in range(start, start + count):
        if cache is None or cache.length >= window:  # a fresh window: the latest `keep` words
            first = max(0, n - keep)
            cache = model.new_cache(len(words))
        else:
            first = n - 1
        logits = model.next_logits(out[:, first:n], cache, heard[:, first:n] if heard is not None else None)
        scores = logits.astype(np.float64)
        scores[:, last_word:] = -np.inf
        written = out[:, start:n]
        if sampling.echo > 0:
            scores += familiar * (sampling.echo * np.exp(-(n - start) / (sampling.echo_seconds * CORPUS_FPS)))
        scores = no_copy.ban(written, repeat.favour(written, scores))
        out[:, n] = _draw(_warped(scores, sampling), rng)
    return out[:, start:]


def _warped(scores: np.ndarray, sampling: Sampling) -> np.ndarray:
    """`scores` divided by the temperature, then cut to the `top_k` best and to the smallest set
    whose probability reaches `top_p` (the best word always kept), as transformers' warpers cut."""
    scores = scores / max(sampling.temperature, MIN_TEMPERATURE)
    if sampling.top_k:
        kth = np.sort(scores, axis=1)[:, -min(sampling.top_k, scores.shape[1])]
        scores = np.where(scores < kth[:, None], -np.inf, scores)
    if sampling.top_p < 1:
        order = np.argsort(scores, axis=1, kind="stable")
        ascending = np.take_along_axis(scores, order, axis=1)
        cut = np.cumsum(_softmax(ascending), axis=1) <= 1 - sampling.top_p
        cut[:, -1] = False
        removed = np.zeros_like(cut)
        np.put_along_axis(removed, order, cut, axis=1)
        scores = np.where(removed, -np.inf, scores)
    return scores


def _softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _draw(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One word id per row, drawn with the probabilities of softmax(`scores`)."""
    cumulative = np.cumsum(_softmax(scores), axis=1)
    chosen = rng.random(len(scores)) * cumulative[:, -1]
    return np.minimum((cumulative <= chosen[:, None]).sum(axis=1), scores.shape[1] - 1)


class _Repeat:
    """Favours, for each new word inside a span (first, end, lag) of `spans`, the word written
    `lag` words before it, by `strength` nats: a phrase danced again (`Sampling.repeats`)."""

    def __init__(self, spans: tuple[tuple[int, int, int], ...], strength: float):
        self.spans, self.strength = spans, strength

    def favour(self, written: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """`scores` for the next word after the new words `written` (B, n), favoured where it repeats."""
        drawn = written.shape[1]
        for first, end, lag in self.spans:
            if self.strength > 0 and first <= drawn < end:
                scores = scores.copy()
                scores[np.arange(len(scores)), written[:, drawn - lag]] += self.strength
        return scores


class _NoLongCopy:
    """Bans the word that would make the new words repeat the context verbatim for more than
    `frames` shown frames: the context's every run of that many words, with the words that followed
    it. A dance played at rate r (written frames per shown frame) shows a word written for n frames
    for n / r frames, so its words are held against the context taken every 1 / r frames, and its
    runs are r times shorter."""

    def __init__(self, contexts: np.ndarray, frames: float, rates: tuple[float, ...] | None):
        contexts = np.atleast_2d(contexts)
        rates = rates if rates is not None else (1.0,) * len(contexts)
        self.longest, self.followers = [], []
        for context, rate in zip(contexts, rates):
            longest = max(1, round(frames * rate))
            context = context[np.round(np.arange(0, len(context) * rate) / rate).astype(int).clip(max=len(context) - 1)]
            runs: dict[tuple, list[int]] = {}
            for end in range(longest, len(context)):
                runs.setdefault(tuple(context[end - longest:end].tolist()), []).append(int(context[end]))
            self.longest.append(longest)
            self.followers.append(runs)

    def ban(self, written: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """`scores` with -inf for each row's banned next words; `written` holds that row's new words."""
        for row, (longest, followers) in enumerate(zip(self.longest, self.followers)):
            if written.shape[1] >= longest:
                banned = followers.get(tuple(written[row, written.shape[1] - longest:].tolist()))
                if banned:
                    scores[row, banned] = -np.inf
        return scores

    def broken_by(self, written: np.ndarray) -> bool:
        """Whether any row of the new words `written` (B, n) holds a word this ban would have banned:
        a copy of its context longer than allowed."""
        for row, (longest, followers) in enumerate(zip(self.longest, self.followers)):
            words = np.asarray(written[row]).tolist()
            if any(words[end] in followers.get(tuple(words[end - longest:end]), ()) for end in range(longest, len(words))):
                return True
        return False
