"""The language model over pose words: a Hugging Face GPT-2 and its WordLevel tokenizer.

Token ids 0..K-1 are the pose words in vocabulary order (token id == word id), followed by three
special tokens: `<eod>` between dances (also the model's bos/eos), `<pad>` and `<unk>`.

The music-aware GPT-2 (`bopbot train --generator gpt2-music`) has `MUSIC_INPUTS` more tokens after
those: what it hears. Each position's word comes with the music of the frame it predicts (the next
one) as GPT-2's `token_type_ids`, which the model embeds with its word embeddings and adds to the
word's: the beat phase in `PHASE_BINS` bins times a quiet or strong onset, or `<no-music>`. They
are never written: the sampler draws words only. Keeping the music in GPT-2's own inputs leaves
the model a plain `GPT2LMHeadModel` that saves and loads like the music-blind one.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from ..errors import BopBotError
from ..files import check_shapes, file_problem

END_OF_DANCE = "<eod>"
PAD = "<pad>"
UNKNOWN = "<unk>"
SPECIALS = (END_OF_DANCE, PAD, UNKNOWN)
#: What the music-aware GPT-2 hears: beat phase bins x onset levels, and no music.
PHASE_BINS = 8
ONSET_LEVELS = ("quiet", "strong")
#: Onset strength (0 to 1, `beats.music_frames`) from which an onset counts as strong.
STRONG_ONSET = 0.5
NO_MUSIC = "<no-music>"
MUSIC_INPUTS = PHASE_BINS * len(ONSET_LEVELS) + 1


def music_input_names() -> list[str]:
    """The music tokens, in id order after the specials."""
    return [f"<beat-{b}-{level}>" for b in range(PHASE_BINS) for level in ONSET_LEVELS] + [NO_MUSIC]


def word_count(config) -> int:
    """How many pose words a GPT-2 of `config` writes (its vocabulary less specials and music)."""
    return config.vocab_size - len(SPECIALS) - getattr(config, "music_inputs", 0)


def music_input_ids(heard, words: int):
    """The music token id of each frame of `heard` ((T, 2) beat phase and onset, `beats.music_frames`)
    for a model of `words` pose words; NaN phase is `<no-music>`."""
    import numpy as np

    first = words + len(SPECIALS)
    phase, onset = np.asarray(heard, dtype=np.float64).T
    bins = np.clip(np.nan_to_num(phase) * PHASE_BINS, 0, PHASE_BINS - 1).astype(np.int64)
    ids = first + bins * len(ONSET_LEVELS) + (onset >= STRONG_ONSET)
    return np.where(np.isnan(phase), first + MUSIC_INPUTS - 1, ids)


def quiet_transformers() -> None:
    """Keep transformers' own progress bars and advice off BopBot's console."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


def make_tokenizer(words: list[str], music: bool = False):
    """A `PreTrainedTokenizerFast` (WordLevel, whitespace-split) over `words` plus the specials (and
    the music tokens, for the music-aware GPT-2)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {word: i for i, word in enumerate(words)}
    for special in SPECIALS + (tuple(music_input_names()) if music else ()):
        vocab[special] = len(vocab)
    core = Tokenizer(models.WordLevel(vocab, unk_token=UNKNOWN))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token=END_OF_DANCE, eos_token=END_OF_DANCE, pad_token=PAD, unk_token=UNKNOWN
    )


@dataclass
class GPT2Size:
    """How big the GPT-2 is; the defaults train in minutes on 2 CPU cores."""

    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    n_positions: int = 256
    dropout: float = 0.1

    def to_json(self) -> dict:
        return asdict(self)


def new_gpt2(size: GPT2Size, words: int, music: bool = False):
    """A freshly initialised `GPT2LMHeadModel` for `words` pose words plus the specials (and the
    music it hears, if `music`)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    eod = words
    config = GPT2Config(
        vocab_size=words + len(SPECIALS) + (MUSIC_INPUTS if music else 0),
        n_positions=size.n_positions,
        n_embd=size.n_embd,
        n_layer=size.n_layer,
        n_head=size.n_head,
        resid_pdrop=size.dropout,
        embd_pdrop=size.dropout,
        attn_pdrop=size.dropout,
        bos_token_id=eod,
        eos_token_id=eod,
        pad_token_id=eod + 1,
        **({"music_inputs": MUSIC_INPUTS} if music else {}),
    )
    return GPT2LMHeadModel(config)


def _one_line(exc: Exception) -> str:
    """The exception's kind and text on one line, however many the library wrote."""
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


#: The largest GPT-2 BopBot loads, by config.json's fields: a config past these is refused before
#: anything is built (100,000 layers took minutes to refuse).
MAX_SIZE = {"n_layer": 128, "n_head": 128, "n_embd": 16384, "n_inner": 65536, "n_positions": 65536,
            "vocab_size": 10_000_000}


def _check_config(folder: str | os.PathLike):
    """The GPT-2 config in `folder`, refused unless its sizes are within MAX_SIZE and the weights
    file holds exactly the tensors it describes, each of its shape (read from the file's header,
    against the model built on PyTorch's meta device, where nothing is allocated)."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    path = os.path.join(folder, "config.json")
    try:
        config = GPT2Config.from_pretrained(folder)
    except Exception as exc:
        raise BopBotError(path, f"unreadable GPT-2 config ({_one_line(exc)})") from None
    for name, limit in MAX_SIZE.items():
        value = getattr(config, name, None)
        if value is not None and not (isinstance(value, int) and 0 < value <= limit):
            raise BopBotError(path, f"{name} = {value!r}: BopBot loads a GPT-2 of 1 to {limit:,}")
    try:
        with torch.device("meta"):
            skeleton = GPT2LMHeadModel(config)
    except Exception as exc:  # sizes that do not fit together (n_embd not a multiple of n_head)
        raise BopBotError(path, f"unusable GPT-2 config ({_one_line(exc)})") from None
    if os.path.lexists(os.path.join(folder, "generation_config.json")):
        from transformers import GenerationConfig

        try:
            GenerationConfig.from_pretrained(folder)
        except Exception as exc:
            raise BopBotError(os.path.join(folder, "generation_config.json"),
                              f"unreadable generation settings ({_one_line(exc)})") from None
    tied = {"lm_head.weight"} if config.tie_word_embeddings else set()
    expected = {name: tuple(tensor.shape) for name, tensor in skeleton.state_dict().items() if name not in tied}
    check_shapes(os.path.join(folder, "model.safetensors"), expected, "GPT-2 weights", "config.json")
    return config


def load_gpt2(folder: str | os.PathLike):
    """The GPT-2 and tokenizer saved in a model folder (safetensors and JSON only), refused unless
    every weight matches config.json and the tokenizer has the model's tokens."""
    from safetensors import safe_open
    from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

    quiet_transformers()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        problem = file_problem(os.path.join(folder, name))
        if problem:
            said = "missing: the model folder is incomplete" if problem == "missing" else f"is {problem}"
            raise BopBotError(os.path.join(folder, name), said)
    weights = os.path.join(folder, "model.safetensors")
    try:
        with safe_open(weights, framework="pt"):
            pass
    except Exception as exc:  # a truncated or empty file: safetensors reads its header first
        raise BopBotError(weights, f"unreadable GPT-2 weights ({_one_line(exc)})") from None
    config = _check_config(folder)
    try:
        model, info = GPT2LMHeadModel.from_pretrained(folder, config=config, use_safetensors=True,
                                                      output_loading_info=True)
    except Exception as exc:  # transformers raises many kinds for a damaged folder
        raise BopBotError(folder, f"unreadable GPT-2 model ({_one_line(exc)})") from None
    try:
        tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    except Exception as exc:
        raise BopBotError(os.path.join(folder, "tokenizer.json"), f"unreadable tokenizer ({_one_line(exc)})") from None
    if len(tokenizer) != model.config.vocab_size:
        raise BopBotError(os.path.join(folder, "tokenizer.json"),
                          f"has {len(tokenizer)} tokens, config.json {model.config.vocab_size}")
    # transformers only logs weights it could not match, and starts them at random: refuse instead
    unmatched = {kind: info.get(kind) for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    unmatched = {kind: list(keys) for kind, keys in unmatched.items() if keys}
    if unmatched:
        said = "; ".join(f"{len(keys)} {kind.split('_')[0]} (e.g. {keys[0]})" for kind, keys in unmatched.items())
        raise BopBotError(os.path.join(folder, "model.safetensors"), f"does not match config.json: {said}")
    model.eval()
    return model, tokenizer
