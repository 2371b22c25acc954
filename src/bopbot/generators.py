"""The generators behind one interface: each continues a dance given as normalised poses.

| name | what it is | trained by `bopbot train --generator NAME` into the model folder |
|---|---|---|
| `gpt2` | GPT-2 over pose words (the main model) | `config.json`, `model.safetensors`, `tokenizer.json` |
| `lstm` | LSTM with a mixture-density output over continuous poses (the original system's second) | `lstm.safetensors`, `lstm.json` |
| `random` | words drawn by corpus frequency | `sentences.safetensors` |
| `ngram` | trigram Markov model over words | `ngram.safetensors`, `sentences.safetensors` |
| `nearest` | retrieve the most similar training dance and continue it | `sentences.safetensors` |

Every generator returns keyframe poses (and its words, where it has words); `choreograph.smooth`
turns keyframes into movement the same way for all of them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .errors import BopBotError

if TYPE_CHECKING:
    from .choreograph import Sampling
    from .vocabulary import PoseVocabulary

NAMES = ("gpt2", "lstm", "random", "ngram", "nearest")


@dataclass
class Continuation:
    """New dance from a generator: (count, 17, 3) normalised keyframe poses, and word ids if it has words."""

    poses: np.ndarray
    ids: np.ndarray | None


class Generator(ABC):
    """Continues a dance; `context` is (T, 17, 3) normalised poses of the dance so far."""

    name = ""

    def __init__(self, vocabulary: PoseVocabulary):
        self.vocabulary = vocabulary

    @abstractmethod
    def continue_dance(self, context: np.ndarray, count: int, sampling: Sampling) -> Continuation:
        """`count` new frames that carry on from `context`."""

    def continue_dances(self, contexts: list[np.ndarray], count: int, sampling: Sampling) -> list[Continuation]:
        """`count` new frames for each context: several dances, each sampled with its own seed
        (`sampling.seed` + its index). Generators that can write a batch at once override this."""
        from dataclasses import replace

        return [self.continue_dance(context, count, replace(sampling, seed=None if sampling.seed is None
                                                           else sampling.seed + i))
                for i, context in enumerate(contexts)]


class WordGenerator(Generator):
    """A generator over pose words: encode the context, continue the words, move through them (`word_motion`)."""

    def __init__(self, vocabulary: PoseVocabulary, words):
        super().__init__(vocabulary)
        self.words = words
        self.name = words.name

    def continue_dance(self, context: np.ndarray, count: int, sampling: Sampling) -> Continuation:
        from .choreograph import word_motion

        sampling.check()
        ids = self.words.continue_words(self.vocabulary.encode(context), count, sampling.temperature,
                                        np.random.default_rng(sampling.seed))
        return Continuation(word_motion(self.vocabulary, ids), ids)


class GPT2Generator(Generator):
    """The GPT-2 over pose words, its context as much of the dance as its window takes."""

    name = "gpt2"

    def __init__(self, vocabulary: PoseVocabulary, model):
        super().__init__(vocabulary)
        self.model = model

    def continue_dance(self, context: np.ndarray, count: int, sampling: Sampling) -> Continuation:
        from .choreograph import continue_words, word_motion

        words = self.vocabulary.encode(context)[-(self.model.config.n_positions * 3 // 4):]
        ids = continue_words(self.model, words, count, sampling)
        return Continuation(word_motion(self.vocabulary, ids), ids)

    def continue_dances(self, contexts: list[np.ndarray], count: int, sampling: Sampling) -> list[Continuation]:
        """Contexts of one length are written as one batch, with the one seed."""
        from .choreograph import continue_words, word_motion

        if len({len(context) for context in contexts}) != 1:
            return super().continue_dances(contexts, count, sampling)
        words = np.stack([self.vocabulary.encode(c)[-(self.model.config.n_positions * 3 // 4):] for c in contexts])
        return [Continuation(word_motion(self.vocabulary, ids), ids) for ids in continue_words(self.model, words, count, sampling)]


class LSTMGenerator(Generator):
    """The mixture-density LSTM over continuous poses."""

    name = "lstm"

    def __init__(self, vocabulary: PoseVocabulary, loaded):
        super().__init__(vocabulary)
        self.loaded = loaded

    def continue_dance(self, context: np.ndarray, count: int, sampling: Sampling) -> Continuation:
        from .lstm import sample_poses

        sampling.check()
        poses = sample_poses(self.loaded, context, count, sampling.temperature, sampling.seed)
        return Continuation(poses, None)


def load_generator(name: str, folder: str | Path, vocabulary: PoseVocabulary, gpt2=None) -> Generator:
    """The generator `name` from a model folder (`gpt2` may be passed in when already loaded)."""
    from . import baselines

    folder = Path(folder)
    if name == "gpt2":
        if gpt2 is None:
            from .language_model import load_gpt2

            gpt2 = load_gpt2(folder)[0]
        return GPT2Generator(vocabulary, gpt2)
    if name == "lstm":
        from .lstm import load_lstm

        return LSTMGenerator(vocabulary, load_lstm(folder))
    if name == "random":
        return WordGenerator(vocabulary, baselines.RandomWords(vocabulary))
    if name == "ngram":
        return WordGenerator(vocabulary, baselines.NgramWords.load(folder))
    if name == "nearest":
        return WordGenerator(vocabulary, baselines.NearestDance(vocabulary, baselines.load_sentences(folder)))
    raise BopBotError(None, f"unknown generator {name!r}; known: {', '.join(NAMES)}")
