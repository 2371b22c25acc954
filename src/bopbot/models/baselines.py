"""Honest baselines over pose words, to measure the GPT-2 against.

- `random`: every frame an independent word, drawn by how often each word occurs in the corpus the
  vocabulary was fitted on (its k-means' counts, `vocabulary.counts_`): it needs no training;
- `ngram`: a Markov model over words (trigram, backing off to bigram and unigram); it samples from
  the counts of the longest context it knows, and scores words (perplexity) with interpolated
  absolute discounting, a fair smoothing for a baseline;
- `nearest`: retrieval, no learning at all: find the stretches of training dance whose poses are
  closest to the end of the context, play on from one of the `NEAREST_CHOICES` best (picked by the
  seed), and retrieve again where it ends.

`ngram` and `nearest` learn from the training split of the corpus as sentences (the same split
`bopbot train` uses), stored in the model folder as `sentences.safetensors` (and `ngram.safetensors`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import BopBotError
from ..files import write_tensors
from ..reading import read_tensors
from ..vocabulary.vocabulary import PoseVocabulary

SENTENCES = "sentences.safetensors"
NGRAM = "ngram.safetensors"
#: `nearest` matches this many seconds of the context's end, every `NEAREST_STRIDE`th frame.
NEAREST_SECONDS = 2.0
NEAREST_STRIDE = 2
#: `nearest` picks at random among this many best matches, at least `NEAREST_APART` frames apart.
NEAREST_CHOICES = 4
NEAREST_APART = 20
FPS = 20
#: What each n-gram order takes off every count for the order below (absolute discounting).
DISCOUNT = 0.75


def save_sentences(folder: Path, train_ids: np.ndarray) -> None:
    """The training split as one id stream, `<eod>` (= K) between dances."""
    write_tensors(folder / SENTENCES, {"ids": train_ids.astype(np.int32)})


def load_sentences(folder: Path) -> np.ndarray:
    path = Path(folder) / SENTENCES
    if not os.path.lexists(path):
        raise BopBotError(path, "missing: train it with `bopbot train CORPUS --model DIR --generator nearest`")
    ids = read_tensors(path, "training sentences", ("ids",))["ids"]
    if ids.ndim != 1 or ids.dtype.kind not in "iu":
        raise BopBotError(path, f"damaged training sentences: 'ids' is {ids.dtype} {list(ids.shape)}, not one row of word ids")
    return ids.astype(np.int64)


def _weights(counts: np.ndarray, temperature: float) -> np.ndarray:
    """Counts turned into sampling probabilities, sharpened or flattened by the temperature."""
    logits = np.log(np.maximum(counts.astype(np.float64), 1e-12)) / temperature
    probabilities = np.exp(logits - logits.max())
    return probabilities / probabilities.sum()


class RandomWords:
    """Words drawn independently by their corpus frequency."""

    name = "random"

    def __init__(self, vocabulary: PoseVocabulary):
        self.counts = np.maximum(vocabulary.counts_.astype(np.float64), 0)

    def continue_words(self, context: np.ndarray, count: int, temperature: float, rng: np.random.Generator) -> np.ndarray:
        return rng.choice(len(self.counts), size=count, p=_weights(self.counts + 1e-9, temperature))

    def log_loss(self, ids: np.ndarray, start: int = 0) -> float:
        """Summed negative log-probability (nats) of `ids[start:]`, with add-one smoothing."""
        probabilities = (self.counts + 1) / (self.counts + 1).sum()
        return float(-np.log(probabilities[np.asarray(ids)[start:]]).sum())


class NgramWords:
    """A trigram Markov model over words, backing off to bigrams and unigrams."""

    name = "ngram"

    def __init__(self, trigrams: np.ndarray, bigrams: np.ndarray, unigrams: np.ndarray):
        self.unigrams = unigrams.astype(np.float64)
        self.next_of: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
        for table in (bigrams, trigrams):
            context = table[:, :-2]
            order = np.lexsort(context.T[::-1])
            table, context = table[order], context[order]
            starts = np.flatnonzero(np.r_[True, (np.diff(context, axis=0) != 0).any(axis=1)])
            for begin, end in zip(starts, np.r_[starts[1:], len(table)]):
                self.next_of[tuple(int(v) for v in table[begin, :-2])] = (table[begin:end, -2], table[begin:end, -1])

    @classmethod
    def fit(cls, ids: np.ndarray, words: int) -> "NgramWords":
        """Count uni-, bi- and trigrams of the id stream that do not cross `<eod>` (= `words`)."""
        return cls(*cls.count(ids, words))

    @staticmethod
    def count(ids: np.ndarray, words: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tables = []
        for order in (3, 2):
            grams = np.stack([ids[i:len(ids) - order + 1 + i] for i in range(order)], axis=1)
            grams = grams[(grams < words).all(axis=1)]
            unique, counts = np.unique(grams, axis=0, return_counts=True)
            tables.append(np.column_stack([unique, counts]).astype(np.int64))
        unigrams = np.bincount(ids[ids < words], minlength=words)
        return tables[0], tables[1], unigrams

    def save(self, folder: Path, trigrams: np.ndarray, bigrams: np.ndarray) -> None:
        write_tensors(folder / NGRAM, {"trigrams": trigrams.astype(np.int32), "bigrams": bigrams.astype(np.int32),
                                       "unigrams": self.unigrams.astype(np.int64)})

    @classmethod
    def load(cls, folder: Path) -> "NgramWords":
        path = Path(folder) / NGRAM
        if not os.path.lexists(path):
            raise BopBotError(path, "missing: train it with `bopbot train CORPUS --model DIR --generator ngram`")
        tables = read_tensors(path, "n-gram tables", ("trigrams", "bigrams", "unigrams"))
        if tables["trigrams"].ndim != 2 or tables["trigrams"].shape[1:] != (4,) or tables["bigrams"].ndim != 2 \
                or tables["bigrams"].shape[1:] != (3,) or tables["unigrams"].ndim != 1:
            raise BopBotError(path, "damaged n-gram tables: their shapes are not (n, 4), (n, 3) and (words,)")
        return cls(tables["trigrams"].astype(np.int64), tables["bigrams"].astype(np.int64), tables["unigrams"])

    def _next(self, history: list[int]) -> tuple[np.ndarray, np.ndarray]:
        for order in (2, 1):
            if len(history) >= order and tuple(history[-order:]) in self.next_of:
                return self.next_of[tuple(history[-order:])]
        return np.arange(len(self.unigrams)), self.unigrams

    def continue_words(self, context: np.ndarray, count: int, temperature: float, rng: np.random.Generator) -> np.ndarray:
        history = [int(w) for w in context[-2:]]
        for _ in range(count):
            candidates, counts = self._next(history)
            history.append(int(rng.choice(candidates, p=_weights(counts, temperature))))
        return np.array(history[-count:], dtype=np.int64)

    def probability(self, history: list[int], word: int) -> float:
        """P(word | the two words before it), interpolated absolute discounting (Ney et al. 1994):
        each order keeps its counts less `DISCOUNT` and hands the rest to the order below, down to
        add-one unigrams, so an unseen continuation is unlikely but never impossible."""
        probability = (self.unigrams[word] + 1) / (self.unigrams.sum() + len(self.unigrams))
        for order in (1, 2):
            if len(history) < order or tuple(history[-order:]) not in self.next_of:
                break
            candidates, counts = self.next_of[tuple(history[-order:])]
            total = counts.sum()
            seen = counts[candidates == word].sum()
            probability = max(seen - DISCOUNT, 0) / total + DISCOUNT * len(counts) / total * probability
        return float(probability)

    def log_loss(self, ids: np.ndarray, start: int = 0) -> float:
        """Summed negative log-probability (nats) of the words of `ids[start:]`, each given the (up to)
        two words before it in its dance; `<eod>` (= K) ends a dance and is not scored."""
        words = len(self.unigrams)
        total = 0.0
        for t in range(start, len(ids)):
            if ids[t] >= words:
                continue
            history = [int(w) for w in ids[max(0, t - 2):t]]
            if words in history:  # the dance began after that <eod>
                history = history[len(history) - history[::-1].index(words):]
            total -= np.log(self.probability(history, int(ids[t])))
        return float(total)


class NearestDance:
    """Retrieval: continue the training dance that best matches the context's last seconds."""

    name = "nearest"

    def __init__(self, vocabulary: PoseVocabulary, sentences: np.ndarray):
        self.poses = vocabulary.centroids_.reshape(vocabulary.k, -1).astype(np.float32)
        self.squares = (self.poses**2).sum(axis=1)
        self.sentences = sentences
        self.k = vocabulary.k
        span = int(NEAREST_SECONDS * FPS)
        self.offsets = np.arange(0, -span, -NEAREST_STRIDE)[::-1]  # ..., -4, -2, 0: ends on the last frame
        # a match must lie inside one dance: the window and the frame after it are free of <eod>
        boundary = np.cumsum(sentences == self.k)
        ends = np.arange(span, len(sentences) - 1)
        self.ends = ends[boundary[ends + 1] == boundary[ends - span]]

    def match(self, context: np.ndarray, rng: np.random.Generator | None = None) -> int:
        """A training position whose last seconds are nearest to the context's last seconds: the best,
        or with `rng` one of the `NEAREST_CHOICES` best that lie `NEAREST_APART` frames apart."""
        window = context[-len(self.offsets) * NEAREST_STRIDE:][::-1][::NEAREST_STRIDE][::-1]
        window = np.concatenate([np.full(len(self.offsets) - len(window), window[0]), window])
        # squared distance of every word pose to each window word's pose: (window, K), then looked up
        to_window = self.squares[None, :] - 2 * self.poses[window] @ self.poses.T + self.squares[window][:, None]
        distance = np.zeros(len(self.ends), dtype=np.float32)
        for offset, row in zip(self.offsets, to_window):
            distance += row[self.sentences[self.ends + offset]]
        if rng is None:
            return int(self.ends[distance.argmin()])
        shortlist = np.argsort(distance)[: NEAREST_CHOICES * NEAREST_APART * 2]
        chosen: list[int] = []
        for index in shortlist:
            if all(abs(int(self.ends[index]) - int(self.ends[c])) >= NEAREST_APART for c in chosen):
                chosen.append(index)
                if len(chosen) == NEAREST_CHOICES:
                    break
        return int(self.ends[chosen[rng.integers(len(chosen))]])

    def continue_words(self, context: np.ndarray, count: int, temperature: float, rng: np.random.Generator) -> np.ndarray:
        words = [int(w) for w in context]
        start = len(words)
        while len(words) - start < count:
            position = self.match(np.array(words), rng) + 1
            while len(words) - start < count and position < len(self.sentences) and self.sentences[position] != self.k:
                words.append(int(self.sentences[position]))
                position += 1
        return np.array(words[start:start + count], dtype=np.int64)


def train_baseline(name: str, train_ids: np.ndarray, folder: str | os.PathLike, words: int) -> None:
    """Store what `ngram` or `nearest` needs: the training sentences, and n-gram counts for `ngram`."""
    folder = Path(folder)
    save_sentences(folder, train_ids)
    if name == "ngram":
        trigrams, bigrams, unigrams = NgramWords.count(train_ids, words)
        NgramWords(trigrams, bigrams, unigrams).save(folder, trigrams, bigrams)
