"""The trained networks run in NumPy: what a dance needs, without PyTorch or transformers.

Training stays on PyTorch and Hugging Face `transformers` (`train.py`, `train_decoder.py`,
`train_travel.py`); a run that only dances reads the same safetensors files into NumPy arrays and
runs the same arithmetic here. Why: the default GPT-2 has 0.96M parameters and writes a 10 s
dance in a fraction of a second, but importing torch and transformers took 3 to 5 s of every
`bopbot dance` and `bopbot demo` (issue 25's profile), and building a module on PyTorch's meta device
pulled in its compiler for 1.7 s more. An inference runtime such as ONNX Runtime would be a third
framework and an export step; these forward passes are a few matrix products each and are held to
PyTorch's by the tests (`tests/test_runtime.py`: the GPT-2's next-word log-probabilities within 1e-4,
with and without its key/value cache and its music inputs; the decoder's and travel model's outputs
within 1e-4).

- `GPT2Runtime`: Hugging Face's `GPT2LMHeadModel` forward (pre-norm blocks, causal attention
  scaled by 1/sqrt(head size), the tied word embeddings as the output layer, `token_type_ids`
  embedded with the words), with a key/value cache of the window.
- `decoder_forward`, `travel_forward`: the word decoder's residual dilated convolutions and the
  travel model's two-layer perceptron, as `train_decoder.WordDecoder` and `train_travel.TravelModel`
  compute them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from ..errors import BopBotError


def finite(values: np.ndarray, source: str | os.PathLike | None) -> np.ndarray:
    """`values`, what the network in the model file `source` gave, or a BopBotError naming the file
    where they hold NaN or infinity: weights that are finite can still be absurd (a damaged file)
    and overflow as they run. Its callers run the network under `np.errstate(all="ignore")`: this
    error says what numpy's warnings of the overflow would have."""
    if not np.isfinite(values).all():
        raise BopBotError(source, "gave non-finite values: is it damaged?")
    return values


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    """Over the last axis. The means are sums over the count, as `ndarray.mean` computes them (the
    same bits) without its Python wrapper, which was half the cost of a GPT-2 step's nine layer
    norms on one word (53 against 24 microseconds a call, measured once)."""
    count = x.shape[-1]
    centred = x - np.add.reduce(x, axis=-1, keepdims=True) / count
    variance = np.add.reduce(centred * centred, axis=-1, keepdims=True) / count
    return centred / np.sqrt(variance + eps) * weight + bias


def gelu(x: np.ndarray) -> np.ndarray:
    """PyTorch's exact GELU, x * Phi(x). scipy's `erf`, imported here rather than with the module:
    only the word decoder and the travel model use this GELU, in the model's process, and the
    process that reads the video then imports no scipy at all (`data/filters.py`). Python's
    `math.erf` element by element gives the same float32 numbers but cost 0.1 s a dance."""
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def gelu_tanh(x: np.ndarray) -> np.ndarray:
    """GPT-2's GELU (`gelu_new` in transformers): the tanh approximation."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x * x * x)))


#: The activations a GPT-2 config may name, as transformers spells them.
ACTIVATIONS = {"gelu_new": gelu_tanh, "gelu_pytorch_tanh": gelu_tanh, "gelu": gelu}


@dataclass
class GPT2Shape:
    """What the forward pass needs of a GPT-2's `config.json` (read and checked by `language_model.read_gpt2_shape`)."""

    vocab_size: int
    n_positions: int
    n_embd: int
    n_layer: int
    n_head: int
    n_inner: int
    layer_norm_epsilon: float
    activation_function: str
    bos_token_id: int
    eos_token_id: int
    pad_token_id: int
    #: How many of the last tokens are the music a music-aware GPT-2 hears (0: none).
    music_inputs: int = 0


class KeyValueCache:
    """Each layer's keys and values of the window so far: (layers, 2, batch, heads, positions, head size)."""

    def __init__(self, shape: GPT2Shape, batch: int):
        self.store = np.zeros((shape.n_layer, 2, batch, shape.n_head, shape.n_positions, shape.n_embd // shape.n_head),
                              dtype=np.float32)
        self.length = 0


class GPT2Runtime:
    """A GPT-2 language model's forward pass over safetensors weights (names as transformers saves them)."""

    def __init__(self, config: GPT2Shape, weights: dict[str, np.ndarray], path: str | os.PathLike):
        self.config = config
        #: The weights file, named where they give non-finite logits.
        self.path = path
        self.activation = ACTIVATIONS[config.activation_function]
        w = {name.removeprefix("transformer."): np.ascontiguousarray(value, dtype=np.float32) for name, value in weights.items()}
        self.words, self.positions = w["wte.weight"], w["wpe.weight"]
        self.output = np.ascontiguousarray(self.words.T)
        self.final = (w["ln_f.weight"], w["ln_f.bias"])
        self.layers = [{part: w[f"h.{i}.{part}"] for part in (
            "ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias", "attn.c_proj.weight", "attn.c_proj.bias",
            "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")}
            for i in range(config.n_layer)]

    def new_cache(self, batch: int) -> KeyValueCache:
        return KeyValueCache(self.config, batch)

    def next_logits(self, ids: np.ndarray, cache: KeyValueCache, token_types: np.ndarray | None = None) -> np.ndarray:
        """(batch, vocab) logits of the word after the (batch, T) `ids`, which follow the `cache.length`
        positions already in `cache` (and are added to it); `token_types` as GPT-2's `token_type_ids`."""
        return self.logits(ids, cache, token_types, last_only=True)

    def logits(self, ids: np.ndarray, cache: KeyValueCache | None = None, token_types: np.ndarray | None = None,
               last_only: bool = False) -> np.ndarray:
        """(batch, T, vocab) logits of the word after each of the (batch, T) `ids` (only the last's,
        (batch, vocab), where `last_only`), read after the positions in `cache` (a fresh window when None);
        a BopBotError naming the weights file where they are not finite (`finite`)."""
        with np.errstate(all="ignore"):
            return finite(self._logits(ids, cache, token_types, last_only), self.path)

    def _logits(self, ids: np.ndarray, cache: KeyValueCache | None, token_types: np.ndarray | None,
                last_only: bool) -> np.ndarray:
        cache = cache if cache is not None else self.new_cache(len(ids))
        config, eps = self.config, self.config.layer_norm_epsilon
        batch, new = ids.shape
        start = cache.length
        if start + new > config.n_positions:
            raise ValueError(f"{start + new} positions: the GPT-2 holds {config.n_positions}")
        x = self.words[ids] + self.positions[start:start + new]
        if token_types is not None:
            x = x + self.words[token_types]
        heads, size = config.n_head, config.n_embd // config.n_head
        end = start + new
        mask = np.triu(np.full((new, end), -np.inf, dtype=np.float32), k=start + 1)
        for keys_values, p in zip(cache.store, self.layers):
            h = layer_norm(x, p["ln_1.weight"], p["ln_1.bias"], eps) @ p["attn.c_attn.weight"] + p["attn.c_attn.bias"]
            q, k, v = (h[:, :, i * config.n_embd:(i + 1) * config.n_embd].reshape(batch, new, heads, size).transpose(0, 2, 1, 3)
                       for i in range(3))
            keys_values[0, :, :, start:end] = k
            keys_values[1, :, :, start:end] = v
            scores = q @ keys_values[0, :, :, :end].transpose(0, 1, 3, 2) * np.float32(size ** -0.5) + mask
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            attended = (scores / scores.sum(axis=-1, keepdims=True)) @ keys_values[1, :, :, :end]
            attended = attended.transpose(0, 2, 1, 3).reshape(batch, new, config.n_embd)
            x = x + attended @ p["attn.c_proj.weight"] + p["attn.c_proj.bias"]
            h = layer_norm(x, p["ln_2.weight"], p["ln_2.bias"], eps) @ p["mlp.c_fc.weight"] + p["mlp.c_fc.bias"]
            x = x + self.activation(h) @ p["mlp.c_proj.weight"] + p["mlp.c_proj.bias"]
        cache.length = end
        return layer_norm(x[:, -1] if last_only else x, *self.final, eps) @ self.output


def gpt2_weight_shapes(config: GPT2Shape) -> dict[str, tuple[int, ...]]:
    """Every tensor a GPT-2 of `config` saves (the output layer is tied to the word embeddings)."""
    e, inner = config.n_embd, config.n_inner
    shapes = {"transformer.wte.weight": (config.vocab_size, e), "transformer.wpe.weight": (config.n_positions, e),
              "transformer.ln_f.weight": (e,), "transformer.ln_f.bias": (e,)}
    for i in range(config.n_layer):
        shapes.update({f"transformer.h.{i}.{name}": shape for name, shape in (
            ("ln_1.weight", (e,)), ("ln_1.bias", (e,)), ("attn.c_attn.weight", (e, 3 * e)), ("attn.c_attn.bias", (3 * e,)),
            ("attn.c_proj.weight", (e, e)), ("attn.c_proj.bias", (e,)), ("ln_2.weight", (e,)), ("ln_2.bias", (e,)),
            ("mlp.c_fc.weight", (e, inner)), ("mlp.c_fc.bias", (inner,)), ("mlp.c_proj.weight", (inner, e)),
            ("mlp.c_proj.bias", (e,)))})
    return shapes


def _conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, dilation: int) -> np.ndarray:
    """(T + (kernel - 1) * dilation, C_in) -> (T, C_out): PyTorch's Conv1d over time, unpadded."""
    kernel = weight.shape[2]
    frames = len(x) - (kernel - 1) * dilation
    out = np.broadcast_to(bias, (frames, len(bias))).copy()
    for tap in range(kernel):
        out += x[tap * dilation:tap * dilation + frames] @ weight[:, :, tap].T
    return out


def decoder_forward(weights: dict[str, np.ndarray], centroids: np.ndarray, dilations: tuple[int, ...],
                    ids: np.ndarray, curve: np.ndarray, runs: np.ndarray) -> np.ndarray:
    """(T, 34) poses of one sentence: `train_decoder.WordDecoder`'s forward for (T,) `ids` with their
    (T, 34) `curve` and (T, 2) `runs` (`decoder.frame_inputs`)."""
    w = weights
    x = np.concatenate([centroids[ids], curve, w["words.weight"][ids], runs], axis=1) @ w["read.weight"].T + w["read.bias"]
    for i, dilation in enumerate(dilations):
        block = f"blocks.{i}."
        h = gelu(layer_norm(x, w[block + "norm.weight"], w[block + "norm.bias"], 1e-5))
        pad = (w[block + "spread.weight"].shape[2] - 1) // 2 * dilation
        h = np.concatenate([np.repeat(h[:1], pad, axis=0), h, np.repeat(h[-1:], pad, axis=0)])
        h = gelu(_conv1d(h, w[block + "spread.weight"], w[block + "spread.bias"], dilation))
        x = x + h @ w[block + "mix.weight"][:, :, 0].T + w[block + "mix.bias"]
    return curve + layer_norm(x, w["norm.weight"], w["norm.bias"], 1e-5) @ w["write.weight"].T + w["write.bias"]


def travel_forward(weights: dict[str, np.ndarray], features: np.ndarray) -> np.ndarray:
    """(T, 3) the expected next step after each (T, features) window, as `train_travel.TravelModel` reads it."""
    w = weights
    x = (np.asarray(features, dtype=np.float32) - w["feature_mean"]) / w["feature_std"]
    x = gelu(x @ w["net.0.weight"].T + w["net.0.bias"])
    x = gelu(x @ w["net.2.weight"].T + w["net.2.bias"])
    return (x @ w["net.4.weight"].T + w["net.4.bias"]) * w["step_std"]
