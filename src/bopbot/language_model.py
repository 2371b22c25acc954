"""The language model over pose words: a Hugging Face GPT-2 and its WordLevel tokenizer.

Token ids 0..K-1 are the pose words in vocabulary order (token id == word id), followed by three
special tokens: `<eod>` between dances (also the model's bos/eos), `<pad>` and `<unk>`.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

from .errors import BopBotError

END_OF_DANCE = "<eod>"
PAD = "<pad>"
UNKNOWN = "<unk>"
SPECIALS = (END_OF_DANCE, PAD, UNKNOWN)


def quiet_transformers() -> None:
    """Keep transformers' own progress bars and advice off BopBot's console."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


def make_tokenizer(words: list[str]):
    """A `PreTrainedTokenizerFast` (WordLevel, whitespace-split) over `words` plus the specials."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {word: i for i, word in enumerate(words)}
    for special in SPECIALS:
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


def new_gpt2(size: GPT2Size, words: int):
    """A freshly initialised `GPT2LMHeadModel` for `words` pose words plus the specials."""
    from transformers import GPT2Config, GPT2LMHeadModel

    eod = words
    config = GPT2Config(
        vocab_size=words + len(SPECIALS),
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
    )
    return GPT2LMHeadModel(config)


def load_gpt2(folder: str | os.PathLike):
    """The GPT-2 and tokenizer saved in a model folder (safetensors and JSON only)."""
    from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

    quiet_transformers()
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        if not os.path.isfile(os.path.join(folder, name)):
            raise BopBotError(os.path.join(folder, name), "missing: the model folder is incomplete")
    try:
        model, info = GPT2LMHeadModel.from_pretrained(folder, use_safetensors=True, output_loading_info=True)
        tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    except Exception as exc:  # transformers and safetensors raise many kinds for a damaged folder
        reason = " ".join(str(exc).split())  # one line, however many the library wrote
        raise BopBotError(folder, f"unreadable GPT-2 model ({type(exc).__name__}: {reason[:200]})") from None
    # transformers only logs weights it could not match, and starts them at random: refuse instead
    unmatched = {kind: info.get(kind) for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")}
    unmatched = {kind: list(keys) for kind, keys in unmatched.items() if keys}
    if unmatched:
        said = "; ".join(f"{len(keys)} {kind.split('_')[0]} (e.g. {keys[0]})" for kind, keys in unmatched.items())
        raise BopBotError(os.path.join(folder, "model.safetensors"), f"does not match config.json: {said}")
    model.eval()
    return model, tokenizer
