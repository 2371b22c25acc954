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
            raise BopBotError(None, f"--temperature must be above 0, got {self.temperature}")
        if not (self.echo >= 0 and self.echo_seconds > 0):
            raise BopBotError(None, f"--echo must be 0 or more and its fade above 0 s, got {self.echo}, {self.echo_seconds}")
        if self.top_k < 0:
            raise BopBotError(None, f"--top-k must be 0 (off) or more, got {self.top_k}")
        if not 0 < self.top_p <= 1:
            raise BopBotError(None, f"--top-p must be in (0, 1], got {self.top_p}")
        if not self.max_copy_seconds > 0:
            raise BopBotError(None, f"the longest copy of the context must be above 0 s, got {self.max_copy_seconds}")
        if self.played_rates is not None and not all(np.isfinite(r) and r > 0 for r in self.played_rates):
            raise BopBotError(None, f"each dance's rate must be above 0, got {self.played_rates}")
        if not (self.repeat >= 0 and all(0 < lag <= first < end for first, end, lag in self.repeats)):
            raise BopBotError(None, f"each repeat favours words written before it, by 0 nats or more; got "
                                    f"{self.repeats} by {self.repeat}")


def continue_words(model, context: np.ndarray, count: int, sampling: Sampling = Sampling(),
                   music: np.ndarray | None = None) -> np.ndarray:
    """`count` new word ids continuing `context`, sliding the model's window as needed.

    `context` is (T,) ids, or (B, T) for B dances written at once (one batch, one seed: much
    faster than B calls); the result is (count,) or (B, count). A music-aware GPT-2 takes `music`:
    the music token of every frame, context and new dance, (T + count,) or (B, T + count)
    (`language_model.music_input_ids`).
    """
    import torch

    sampling.check()
    contexts = np.atleast_2d(np.asarray(context, dtype=np.int64))
    config = model.config
    if sampling.seed is not None:
        torch.manual_seed(sampling.seed)
    words = torch.from_numpy(contexts) if contexts.shape[1] else torch.full((len(contexts), 1), config.bos_token_id)
    familiar = torch.zeros((len(contexts), config.vocab_size), dtype=torch.bool)
    familiar[torch.arange(len(contexts))[:, None], torch.from_numpy(contexts)] = True
    if getattr(config, "music_inputs", 0):
        heard = np.atleast_2d(np.asarray(music, dtype=np.int64)) if music is not None else None
        if heard is None or heard.shape != (len(contexts), contexts.shape[1] + count):
            raise ValueError(f"a music-aware GPT-2 needs the music of all {contexts.shape[1] + count} frames")
        if not contexts.shape[1]:  # the <eod> that starts a dance hears its first frame
            heard = np.concatenate([heard[:, :1], heard], axis=1)
        written = _continue_to_music(model, words, torch.from_numpy(heard), count, sampling, familiar)
    else:
        written = _continue(model, words, count, sampling, familiar)
    return written if np.ndim(context) == 2 else written[0]


def _continue(model, words, count: int, sampling: Sampling, familiar) -> np.ndarray:
    """`generate()` in windows: each keeps the latest three quarters of the last as its prompt."""
    import torch

    config = model.config
    window = config.n_positions
    keep = max(1, window * 3 // 4)
    banned = [config.eos_token_id, config.pad_token_id, config.vocab_size - 1]  # <eod>, <pad>, <unk>
    start = words.shape[1]
    no_copy = _NoLongCopy(words.numpy(), sampling.max_copy_seconds * CORPUS_FPS, sampling.played_rates)
    with torch.no_grad():
        while words.shape[1] - start < count:
            prompt = words[:, -keep:]
            new = min(window - prompt.shape[1], count - (words.shape[1] - start))
            written = words.shape[1] - start
            echo = _Echo(familiar, sampling.echo, sampling.echo_seconds * CORPUS_FPS, prompt.shape[1], written)
            processors = [echo] if sampling.echo > 0 else []
            if sampling.repeats and sampling.repeat > 0:
                processors.append(_Repeat(sampling.repeats, sampling.repeat).processor(words[:, start:], prompt.shape[1]))
            output = model.generate(
                prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new, min_new_tokens=new,
                do_sample=True, temperature=max(sampling.temperature, MIN_TEMPERATURE), top_k=sampling.top_k or None,
                top_p=sampling.top_p, suppress_tokens=banned, pad_token_id=config.pad_token_id,
                logits_processor=processors + [no_copy.processor(prompt.shape[1], written)],
            )
            words = torch.cat([words, output[:, prompt.shape[1]:]], dim=1)
    return words[:, start:start + count].numpy()


def _continue_to_music(model, words, heard, count: int, sampling: Sampling, familiar) -> np.ndarray:
    """The same sampling as `_continue` (echo, temperature, top-k, top-p, the same windows), in a
    loop of our own: `generate()` can only repeat a prompt's last token type, and each new word
    must hear its own frame's music. Position t hears frame t + 1, the frame its word predicts."""
    import torch
    from transformers import LogitsProcessorList, TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    from .language_model import word_count

    config = model.config
    window = config.n_positions
    keep = max(1, window * 3 // 4)
    heard = torch.cat([heard[:, 1:], heard[:, -1:]], dim=1)
    warpers = LogitsProcessorList([TemperatureLogitsWarper(max(sampling.temperature, MIN_TEMPERATURE))]
                                  + ([TopKLogitsWarper(sampling.top_k)] if sampling.top_k else [])
                                  + ([TopPLogitsWarper(sampling.top_p)] if sampling.top_p < 1 else []))
    last_word = word_count(config)  # everything after the words is never written
    start, cached, past = words.shape[1], 0, None
    no_copy = _NoLongCopy(words.numpy(), sampling.max_copy_seconds * CORPUS_FPS, sampling.played_rates)
    repeat = _Repeat(sampling.repeats, sampling.repeat)
    with torch.no_grad():
        while words.shape[1] - start < count:
            if past is None or cached >= window:  # a fresh window: the latest `keep` words
                first = max(0, words.shape[1] - keep)
                output = model(input_ids=words[:, first:], token_type_ids=heard[:, first:words.shape[1]], use_cache=True)
                cached = words.shape[1] - first
            else:
                output = model(input_ids=words[:, -1:], token_type_ids=heard[:, words.shape[1] - 1:words.shape[1]],
                               cache=past, use_cache=True)
                cached += 1
            past = output.cache
            scores = output.logits[:, -1, :].float()
            scores[:, last_word:] = -float("inf")
            if sampling.echo > 0:
                fade = np.exp(-(words.shape[1] - start) / (sampling.echo_seconds * CORPUS_FPS))
                scores = scores + familiar.to(scores.dtype) * (sampling.echo * fade)
            scores = repeat.favour(words[:, start:], scores)
            scores = no_copy.ban(words[:, start:], scores)
            scores = warpers(words, scores)
            words = torch.cat([words, torch.multinomial(torch.softmax(scores, dim=-1), 1)], dim=1)
    return words[:, start:start + count].numpy()


class _Echo:
    """A logits processor for `generate()`: `strength` nats for the `familiar` words, fading as
    exp(-written / `frames`); `written` counts the new words, across sliding windows."""

    def __init__(self, familiar, strength: float, frames: float, prompt: int, written_before: int):
        self.familiar, self.strength, self.frames = familiar, strength, frames
        self.prompt, self.written_before = prompt, written_before

    def __call__(self, input_ids, scores):
        written = self.written_before + input_ids.shape[1] - self.prompt
        return scores + self.familiar.to(scores.dtype) * (self.strength * np.exp(-written / self.frames))


class _Repeat:
    """Favours, for each new word inside a span (first, end, lag) of `spans`, the word written
    `lag` words before it, by `strength` nats: a phrase danced again (`Sampling.repeats`)."""

    def __init__(self, spans: tuple[tuple[int, int, int], ...], strength: float):
        self.spans, self.strength = spans, strength

    def favour(self, written, scores):
        """`scores` for the next word after the new words `written` (B, n), favoured where it repeats."""
        import torch

        drawn = written.shape[1]
        for first, end, lag in self.spans:
            if self.strength > 0 and first <= drawn < end:
                scores = scores.clone()
                scores[torch.arange(len(scores)), written[:, drawn - lag]] += self.strength
        return scores

    def processor(self, written_before, prompt: int):
        """The favour as a logits processor for `generate()` called with a `prompt` of that many
        words after the new words `written_before` (B, n)."""
        import torch

        def favouring(input_ids, scores):
            return self.favour(torch.cat([written_before, input_ids[:, prompt:]], dim=1), scores)
        return favouring


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

    def ban(self, written, scores):
        """`scores` with -inf for each row's banned next words; `written` holds that row's new words."""
        for row, (longest, followers) in enumerate(zip(self.longest, self.followers)):
            if written.shape[1] >= longest:
                banned = followers.get(tuple(written[row, written.shape[1] - longest:].tolist()))
                if banned:
                    scores[row, banned] = -float("inf")
        return scores

    def processor(self, prompt: int, written_before: int):
        """The ban as a logits processor for `generate()` called with a `prompt` of that many words
        after `written_before` new words."""
        def banning(input_ids, scores):
            written = written_before + input_ids.shape[1] - prompt
            return self.ban(input_ids[:, max(0, input_ids.shape[1] - written):], scores)
        return banning
