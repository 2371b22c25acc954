"""The generators behind one interface: each continues a dance given as normalised poses.

| name | what it is | trained by `bopbot train --generator NAME` into the model folder |
|---|---|---|
| `gpt2` | GPT-2 over pose words (the main model) | `config.json`, `model.safetensors`, `tokenizer.json` |
| `gpt2-music` | the GPT-2 that also hears the music's beat phase and onsets | the same, in `music/` |
| `lstm` | LSTM with a mixture-density output over continuous poses (the original system's second) | `lstm.safetensors`, `lstm.json` |
| `random` | words drawn by corpus frequency | nothing: it reads the vocabulary's word counts |
| `ngram` | trigram Markov model over words | `ngram.safetensors`, `sentences.safetensors` |
| `nearest` | retrieve the most similar training dance and continue it | `sentences.safetensors` |

Every generator returns poses (and its words, where it has words). A word generator's words
become movement by the model folder's `WordMover` (`models.decoder`: the learned decoder, or
`word_motion`'s keyframe curve without one); `motion.smooth` low-passes keyframes, the LSTM's
and `word_motion`'s, the same way for all of them, and only speed-limits the decoder's movement. Every generator is given what the
music sounds like frame by frame (`beats.music_frames`, or None), and only `gpt2-music` listens.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import BopBotError

if TYPE_CHECKING:
    from ..vocabulary.vocabulary import PoseVocabulary
    from .sampling import Sampling

NAMES = ("gpt2", "gpt2-music", "lstm", "random", "ngram", "nearest")
#: The sampling settings each generator reads, beside the seed: the GPT-2s every one; the LSTM, `random`
#: and `ngram` the temperature; `nearest` (which continues a training dance) none. One it does not
#: read is refused (`bopbot dance`, `Dancer.dance`: `check_reads`) rather than silently ignored.
READS = {"gpt2": ("temperature", "top_k", "top_p", "echo"), "gpt2-music": ("temperature", "top_k", "top_p", "echo"),
         "lstm": ("temperature",), "random": ("temperature",), "ngram": ("temperature",), "nearest": ()}


def check_reads(generator: str | None, given, named) -> None:
    """Raise a BopBotError where the sampling settings `given` (their names) hold one `generator`
    does not read, each said as `named(name)` says it ("--top-k", "top_k="): `nearest` with a
    temperature danced as without one, without a word."""
    unread = [named(name) for name in given if generator in READS and name not in READS[generator]]
    if unread:
        them = "it" if len(unread) == 1 else "them"
        raise BopBotError(None, f"{', '.join(unread)}: the {generator} generator does not read {them}; leave {them} out")


def check_read_by_any(generators: list[str], given, named) -> None:
    """`check_reads` for a run of several `generators` (`bopbot evaluate`): a setting that one of them
    reads is theirs, and one that none reads is refused; a name not in READS is passed over (its
    run says it is unknown)."""
    known = list(dict.fromkeys(name for name in generators if name in READS))
    if len(known) == 1:
        check_reads(known[0], given, named)
    unread = [named(name) for name in given if known and not any(name in READS[generator] for generator in known)]
    if unread:
        them = "it" if len(unread) == 1 else "them"
        raise BopBotError(None, f"{', '.join(unread)}: none of the generators {', '.join(known)} reads {them}; "
                                f"leave {them} out")


#: Where in a model folder the music-aware GPT-2 lives.
MUSIC_FOLDER = "music"
#: What `bopbot train --generator NAME` leaves in a model folder for the generators a folder may go without
#: (`lstm.WEIGHTS`, `lstm.DESCRIPTION`, `baselines.NGRAM`, `baselines.SENTENCES`; named here so as not to load torch).
TRAINED_FILES = {"gpt2-music": (MUSIC_FOLDER,), "lstm": ("lstm.safetensors", "lstm.json"),
                 "ngram": ("ngram.safetensors",), "nearest": ("sentences.safetensors",)}


def trained_generators(folder: str | Path) -> list[str]:
    """The generators the model folder `folder` has, in `NAMES`' order: the GPT-2 always (a folder
    without it is not whole, and loading it says so), `random` always (it reads only the
    vocabulary), and the others where any of their files is there (a damaged one is then loaded, and
    said to be damaged, rather than passed over)."""
    return [name for name in NAMES if name not in TRAINED_FILES
            or any(os.path.lexists(Path(folder) / file) for file in TRAINED_FILES[name])]


@dataclass
class Continuation:
    """New dance from a generator: (count, 17, 3) normalised keyframe poses, and word ids if it has words."""

    poses: np.ndarray
    ids: np.ndarray | None
    #: Whether `poses` are keyframes for `motion.smooth` to low-pass, or movement already (the decoder's).
    low_pass: bool = True


class Generator(ABC):
    """Continues a dance; `context` is (T, 17, 3) normalised poses of the dance so far, and `music`
    None or the (T + count, 2) beat phase and onset of its frames and the new ones (`beats.music_frames`)."""

    name = ""
    #: Whether its sampling dances a phrase again where `Sampling.repeats` asks (the GPT-2s only).
    repeats_phrases = False

    def __init__(self, vocabulary: PoseVocabulary, mover=None):
        from .decoder import WordMover

        self.vocabulary = vocabulary
        #: How this generator's words become movement (`decoder.WordMover`).
        self.mover = mover if mover is not None else WordMover(vocabulary)

    def _moved(self, ids: np.ndarray, context_ids: np.ndarray) -> Continuation:
        """The new words `ids` as poses, moved on from the context's words."""
        return Continuation(self.mover.move(ids, before=context_ids), ids, self.mover.low_pass)

    @abstractmethod
    def continue_dance(self, context: np.ndarray, count: int, sampling: Sampling,
                       music: np.ndarray | None = None) -> Continuation:
        """`count` new frames that carry on from `context`."""

    def copies_too_long(self, context: np.ndarray, new: Continuation, rate: float, sampling: Sampling) -> bool:
        """Whether `new`, played at `rate` written frames a shown frame, shows a copy of `context`
        longer than `sampling.max_copy_seconds`, where this generator's sampling bans those (the
        GPT-2s'; the others never do, and writing again would not change that)."""
        return False

    def continue_dances(self, contexts: list[np.ndarray], count: int, sampling: Sampling,
                        music: list[np.ndarray | None] | None = None) -> list[Continuation]:
        """`count` new frames for each context: several dances, each sampled with its own seed
        (`sampling.seed` + its index). Generators that can write a batch at once override this."""
        from dataclasses import replace

        music = music or [None] * len(contexts)
        return [self.continue_dance(context, count, replace(sampling, seed=None if sampling.seed is None
                                                           else sampling.seed + i), heard)
                for i, (context, heard) in enumerate(zip(contexts, music))]


class WordGenerator(Generator):
    """A generator over pose words: encode the context, continue the words, move through them (`mover`)."""

    def __init__(self, vocabulary: PoseVocabulary, words, mover=None):
        super().__init__(vocabulary, mover)
        self.words = words
        self.name = words.name

    def continue_dance(self, context: np.ndarray, count: int, sampling: Sampling,
                       music: np.ndarray | None = None) -> Continuation:
        sampling.check()
        context_ids = self.vocabulary.encode(context)
        ids = self.words.continue_words(context_ids, count, sampling.temperature, np.random.default_rng(sampling.seed))
        return self._moved(ids, context_ids)


class GPT2Generator(Generator):
    """The GPT-2 over pose words, its context as much of the dance as its window takes. A music-aware
    GPT-2 hears each frame's music (silence where `music` is None)."""

    repeats_phrases = True

    def __init__(self, vocabulary: PoseVocabulary, model, name: str = "gpt2", mover=None):
        super().__init__(vocabulary, mover)
        self.model = model
        self.name = name

    def _words(self, context: np.ndarray, count: int, music: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """The context's last words (as many as the window takes) and, for a music-aware GPT-2, the
        music token of each of them and of the `count` new frames."""
        from .language_model import music_input_ids, word_count

        words = self.vocabulary.encode(context)[-(self.model.config.n_positions * 3 // 4):]
        if not getattr(self.model.config, "music_inputs", 0):
            return words, None
        if music is None:
            music = np.full((len(context) + count, 2), [np.nan, 0.0])
        return words, music_input_ids(music[len(context) - len(words):], word_count(self.model.config))

    def continue_dance(self, context: np.ndarray, count: int, sampling: Sampling,
                       music: np.ndarray | None = None) -> Continuation:
        from .sampling import continue_words

        words, heard = self._words(context, count, music)
        return self._moved(continue_words(self.model, words, count, sampling, heard), words)

    def copies_too_long(self, context: np.ndarray, new: Continuation, rate: float, sampling: Sampling) -> bool:
        from .sampling import copies_too_long

        return copies_too_long(self._words(context, len(new.ids), None)[0], new.ids, rate, sampling)

    def continue_dances(self, contexts: list[np.ndarray], count: int, sampling: Sampling,
                        music: list[np.ndarray | None] | None = None) -> list[Continuation]:
        """Contexts of one length are written as one batch, with the one seed."""
        from .sampling import continue_words

        if len({len(context) for context in contexts}) != 1:
            return super().continue_dances(contexts, count, sampling, music)
        music = music or [None] * len(contexts)
        pairs = [self._words(context, count, heard) for context, heard in zip(contexts, music)]
        words = np.stack([w for w, _ in pairs])
        heard = np.stack([h for _, h in pairs]) if pairs[0][1] is not None else None
        return [self._moved(ids, before) for ids, before in zip(continue_words(self.model, words, count, sampling, heard), words)]


class LSTMGenerator(Generator):
    """The mixture-density LSTM over continuous poses."""

    name = "lstm"

    def __init__(self, vocabulary: PoseVocabulary, loaded, mover=None):
        super().__init__(vocabulary, mover)
        self.loaded = loaded

    def continue_dance(self, context: np.ndarray, count: int, sampling: Sampling,
                       music: np.ndarray | None = None) -> Continuation:
        from .lstm import sample_poses

        sampling.check()
        poses = sample_poses(self.loaded, context, count, sampling.temperature, sampling.seed)
        return Continuation(poses, None)


def load_generator(name: str, folder: str | Path, vocabulary: PoseVocabulary, mover=None) -> Generator:
    """The generator `name` from a model folder (the folder's `decoder.WordMover` may be passed in
    when already loaded)."""
    from ..models import baselines

    folder = Path(folder)
    if mover is None:
        from .decoder import WordMover, load_decoder

        mover = WordMover(vocabulary, load_decoder(folder, vocabulary))
    if name in ("gpt2", "gpt2-music"):
        from .language_model import load_gpt2_runtime, word_count

        where = folder if name == "gpt2" else folder / MUSIC_FOLDER
        if name == "gpt2-music" and not where.is_dir():
            said = "is a file, not the music-aware GPT-2's folder" if os.path.lexists(where) else \
                "missing: train the music-aware GPT-2 with `bopbot train --generator gpt2-music`"
            raise BopBotError(where, said)
        gpt2, tokens = load_gpt2_runtime(where)
        if tokens[:vocabulary.k] != list(vocabulary.words_):
            raise BopBotError(Path(where) / "tokenizer.json", "its words are not the pose vocabulary's")
        if word_count(gpt2.config) != vocabulary.k:
            raise BopBotError(where, f"the GPT-2 knows {word_count(gpt2.config)} words, the vocabulary {vocabulary.k}")
        if (name == "gpt2-music") != bool(getattr(gpt2.config, "music_inputs", 0)):
            raise BopBotError(where, "the GPT-2 " + ("does not hear music" if name == "gpt2-music" else "is the music-aware one"))
        return GPT2Generator(vocabulary, gpt2, name, mover)
    if name == "lstm":
        from .lstm import load_lstm

        return LSTMGenerator(vocabulary, load_lstm(folder), mover)
    if name == "random":
        return WordGenerator(vocabulary, baselines.RandomWords(vocabulary), mover)
    if name == "ngram":
        words = baselines.NgramWords.load(folder)
        if len(words.unigrams) != vocabulary.k or any(max(key) >= vocabulary.k for key in words.next_of):
            raise BopBotError(folder / baselines.NGRAM, f"the n-grams are not over this vocabulary's {vocabulary.k} words")
        return WordGenerator(vocabulary, words, mover)
    if name == "nearest":
        sentences = baselines.load_sentences(folder)
        if len(sentences) and not 0 <= sentences.min() <= sentences.max() <= vocabulary.k:
            raise BopBotError(folder / baselines.SENTENCES, f"the sentences are not in this vocabulary's {vocabulary.k} words")
        nearest = baselines.NearestDance(vocabulary, sentences)
        if not len(nearest.ends):
            raise BopBotError(folder / baselines.SENTENCES, f"damaged training sentences: no dance in them lasts "
                                                            f"{baselines.NEAREST_SECONDS:g} s, the least `nearest` matches")
        return WordGenerator(vocabulary, nearest, mover)
    raise BopBotError(None, f"unknown generator {name!r}; known: {', '.join(NAMES)}")
