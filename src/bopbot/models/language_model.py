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
from ..reading import check_shapes, file_problem, read_json, read_tensors, tensor_shapes

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
#: What `GPT2Config` assumes for a field config.json leaves out.
CONFIG_DEFAULTS = {"vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12, "n_inner": None,
                   "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "bos_token_id": 50256,
                   "eos_token_id": 50256, "pad_token_id": None, "scale_attn_weights": True,
                   "scale_attn_by_inverse_layer_idx": False, "reorder_and_upcast_attn": False,
                   "add_cross_attention": False, "tie_word_embeddings": True, "model_type": "gpt2"}
#: Settings a GPT-2 must have for `runtime.GPT2Runtime` to compute what transformers computes.
RUNTIME_SETTINGS = {"scale_attn_weights": True, "scale_attn_by_inverse_layer_idx": False,
                    "reorder_and_upcast_attn": False, "add_cross_attention": False, "tie_word_embeddings": True,
                    "model_type": "gpt2"}


def read_gpt2_shape(folder: str | os.PathLike):
    """The GPT-2's `runtime.GPT2Shape` from `folder`'s config.json, read as JSON (nothing is built),
    refused unless its sizes are within MAX_SIZE and fit together."""
    from .runtime import ACTIVATIONS, GPT2Shape

    path = os.path.join(folder, "config.json")
    try:
        config = read_json(path, "GPT-2 config")
    except BopBotError as exc:
        raise BopBotError(path, f"unreadable GPT-2 config ({exc.problem})") from None
    if not isinstance(config, dict):
        raise BopBotError(path, "unreadable GPT-2 config (not a JSON object)")
    config = {**CONFIG_DEFAULTS, **config}
    for name, limit in MAX_SIZE.items():
        value = config[name]
        if not (value is None and name == "n_inner") and not (type(value) is int and 0 < value <= limit):
            raise BopBotError(path, f"{name} = {value!r}: BopBot loads a GPT-2 of 1 to {limit:,}")
    unusable = [f"{name} = {config[name]!r} (BopBot runs {wanted!r})" for name, wanted in RUNTIME_SETTINGS.items()
                if config[name] != wanted]
    if config["n_embd"] % config["n_head"]:
        unusable.append(f"n_embd {config['n_embd']} is not a multiple of n_head {config['n_head']}")
    if config["activation_function"] not in ACTIVATIONS:
        unusable.append(f"activation_function {config['activation_function']!r} (BopBot runs {', '.join(ACTIVATIONS)})")
    epsilon = config["layer_norm_epsilon"]
    if not (type(epsilon) in (int, float) and 0 < epsilon < 1):
        unusable.append(f"layer_norm_epsilon = {epsilon!r}")
    specials = [config[name] for name in ("bos_token_id", "eos_token_id", "pad_token_id")]
    music = config.get("music_inputs", 0)
    if not all(type(token) is int and 0 <= token < config["vocab_size"] for token in specials):
        unusable.append(f"special tokens {specials} outside the vocabulary of {config['vocab_size']}")
    if not (type(music) is int and 0 <= music < config["vocab_size"]):
        unusable.append(f"music_inputs = {music!r}")
    if unusable:
        raise BopBotError(path, f"unusable GPT-2 config ({'; '.join(unusable)})")
    return GPT2Shape(config["vocab_size"], config["n_positions"], config["n_embd"], config["n_layer"], config["n_head"],
                     config["n_inner"] or 4 * config["n_embd"], float(epsilon), config["activation_function"],
                     *specials, music)


def _tokens(folder: str | os.PathLike) -> list[str]:
    """The tokenizer's tokens in id order, read from tokenizer.json (a WordLevel vocabulary)."""
    path = os.path.join(folder, "tokenizer.json")
    try:
        vocab = read_json(path, "tokenizer")["model"]["vocab"]
        if not (isinstance(vocab, dict) and sorted(vocab.values()) == list(range(len(vocab)))):
            raise ValueError("its word ids are not 0 to n - 1")
    except (BopBotError, KeyError, TypeError, ValueError) as exc:
        said = exc.problem if isinstance(exc, BopBotError) else f"{type(exc).__name__}: {exc}"
        raise BopBotError(path, f"unreadable tokenizer ({' '.join(said.split())[:200]})") from None
    return sorted(vocab, key=vocab.__getitem__)


def check_gpt2_folder(folder: str | os.PathLike):
    """The GPT-2's shape and its tokens, refused unless every file is there and readable, every
    weight matches config.json (from the weights file's header, before anything is allocated) and
    the tokenizer has the model's tokens."""
    from .runtime import gpt2_weight_shapes

    from .training import required_model_file

    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        required_model_file(os.path.join(folder, name))
    weights = os.path.join(folder, "model.safetensors")
    try:
        tensor_shapes(weights)
    except Exception as exc:  # a truncated or empty file: safetensors reads its header first
        raise BopBotError(weights, f"unreadable GPT-2 weights ({_one_line(exc)})") from None
    shape = read_gpt2_shape(folder)
    settings = os.path.join(folder, "generation_config.json")
    if os.path.lexists(settings):
        try:
            if not isinstance(read_json(settings, "generation settings"), dict):
                raise BopBotError(settings, "not a JSON object")
        except BopBotError as exc:
            raise BopBotError(settings, f"unreadable generation settings ({exc.problem})") from None
    check_shapes(weights, gpt2_weight_shapes(shape), "GPT-2 weights", "config.json")
    tokens = _tokens(folder)
    if len(tokens) != shape.vocab_size:
        raise BopBotError(os.path.join(folder, "tokenizer.json"), f"has {len(tokens)} tokens, config.json {shape.vocab_size}")
    return shape, tokens


def load_gpt2_runtime(folder: str | os.PathLike):
    """The GPT-2 in a model folder as `runtime.GPT2Runtime` (what a dance runs, without torch) and its
    tokens in id order, refused as `check_gpt2_folder` refuses."""
    from .runtime import GPT2Runtime

    shape, tokens = check_gpt2_folder(folder)
    weights = read_tensors(os.path.join(folder, "model.safetensors"), "GPT-2 weights", ())
    return GPT2Runtime(shape, weights, os.path.join(folder, "model.safetensors")), tokens


def load_gpt2(folder: str | os.PathLike):
    """The GPT-2 and tokenizer saved in a model folder as transformers loads them, `GPT2LMHeadModel`
    and `PreTrainedTokenizerFast` (what the runtime is held to in the tests, and what any GPT-2
    user's code reads; a dance runs `load_gpt2_runtime`), refused as `check_gpt2_folder` refuses."""
    from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

    quiet_transformers()
    check_gpt2_folder(folder)
    for entry in os.scandir(folder):  # transformers opens what it looks for there: a pipe would be waited on forever
        problem = None if entry.is_dir() else file_problem(entry.path)
        if problem:
            raise BopBotError(entry.path, f"is {problem}")
    try:
        model, info = GPT2LMHeadModel.from_pretrained(folder, use_safetensors=True, output_loading_info=True)
    except Exception as exc:  # transformers raises many kinds for a damaged folder
        raise BopBotError(folder, f"unreadable GPT-2 model ({_one_line(exc)})") from None
    # transformers only logs weights it could not match, and starts them at random: refuse instead
    unmatched = {kind: list(info.get(kind) or []) for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    said = "; ".join(f"{len(keys)} {kind.split('_')[0]} (e.g. {keys[0]})" for kind, keys in unmatched.items() if keys)
    if said:
        raise BopBotError(os.path.join(folder, "model.safetensors"), f"does not match config.json: {said}")
    try:
        tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    except Exception as exc:
        raise BopBotError(os.path.join(folder, "tokenizer.json"), f"unreadable tokenizer ({_one_line(exc)})") from None
    model.eval()
    return model, tokenizer
