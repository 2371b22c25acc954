"""Statistics of a dance as a sentence of pose words: how many different words, and how much is copied.

`unique_words_per` counts the vocabulary a dance uses (the original system collapsed to 9 words
in 223). `CopyIndex` finds the longest stretch of a dance that appears word for word in the
training sentences: a model that plays back its training data scores long copies.
"""

from __future__ import annotations

import numpy as np


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


def suffix_array(ids: np.ndarray) -> np.ndarray:
    """Start positions of every suffix of `ids` in lexicographic order (prefix doubling with numpy sorts)."""
    ids = np.asarray(ids).reshape(-1)
    count = ids.size
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    rank = np.unique(ids, return_inverse=True)[1].astype(np.int64)
    step = 1
    while True:
        following = np.full(count, -1, dtype=np.int64)
        following[:-step] = rank[step:] if step < count else following[:0]
        order = np.lexsort((following, rank))
        changed = (np.diff(rank[order]) != 0) | (np.diff(following[order]) != 0)
        rank[order] = np.concatenate([[0], np.cumsum(changed)])
        if rank.max() == count - 1 or step >= count:
            return order
        step *= 2


class CopyIndex:
    """The training sentences, indexed once so each dance's longest verbatim copy is found in milliseconds.

    Separate training sentences with an id no dance holds (e.g. -1 or `<eod>`) so that a copy
    cannot span two of them.
    """

    def __init__(self, training: np.ndarray):
        self.training = np.asarray(training).reshape(-1).astype(np.int64)
        self.suffixes = suffix_array(self.training)

    def _compare(self, start: int, pattern: np.ndarray) -> int:
        """-1, 0 or 1 as the training suffix at `start` sorts before, begins with, or sorts after `pattern`."""
        suffix = self.training[start:start + len(pattern)]
        differ = np.flatnonzero(suffix != pattern[: len(suffix)])
        if differ.size:
            return -1 if suffix[differ[0]] < pattern[differ[0]] else 1
        return 0 if len(suffix) == len(pattern) else -1

    def occurs(self, pattern: np.ndarray) -> bool:
        """Whether `pattern` appears verbatim in the training sentences (binary search on the suffixes)."""
        low, high = 0, len(self.suffixes)
        while low < high:
            middle = (low + high) // 2
            order = self._compare(int(self.suffixes[middle]), pattern)
            if order == 0:
                return True
            if order < 0:
                low = middle + 1
            else:
                high = middle
        return False

    def longest_copy(self, generated: np.ndarray) -> int:
        """Length of the longest run of `generated` that appears verbatim in the training sentences.

        A run found at one start only needs to be beaten at the next, so the search grows one
        best length instead of measuring every start: about len(generated) lookups in all.
        """
        generated = np.asarray(generated).reshape(-1).astype(np.int64)
        best = 0
        for start in range(len(generated)):
            while start + best < len(generated) and self.occurs(generated[start:start + best + 1]):
                best += 1
        return best
