"""Generation speed: words per second of `continue_words` against a hand-written cached sampling loop.

Same model (the embedded default unless --model), same context, same number of words, same
sliding window (when the window is full, the latest three quarters of it prime the next one).
BopBot samples with Hugging Face `generate()`; the baseline is the loop anyone would write by hand
with the model's key/value cache: one forward pass per word on the new word alone, the cache
carrying the rest. (The earlier baseline re-ran the whole window for every word, a loop nobody
uses; that comparison flattered `generate()` by an order of magnitude.) Each is timed over
`--repeats` runs and the best is kept. At 20 words a second of dance, the last line says how
many seconds of dance a second of sampling makes.

Run: .venv/bin/python benchmarks/generation.py [--model DIR] [--words N] [--repeats R]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from bopbot.models.model_folder import Choreographer
from bopbot.models.sampling import Sampling, continue_words


def cached_loop(model, context: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Sample `count` words one forward pass at a time, reusing the key/value cache."""
    torch.manual_seed(seed)
    window = model.config.n_positions
    keep = window * 3 // 4
    banned = [model.config.eos_token_id, model.config.pad_token_id, model.config.vocab_size - 1]
    words = [int(w) for w in context]
    start = len(words)
    with torch.no_grad():
        while len(words) - start < count:
            output = model(torch.tensor([words[-keep:]]), use_cache=True)
            cache, filled = output.cache, min(keep, len(words))
            logits = output.logits[0, -1]
            while len(words) - start < count:
                logits[banned] = -float("inf")
                words.append(int(torch.multinomial(torch.softmax(logits, -1), 1)))
                filled += 1
                if filled >= window:
                    break
                output = model(torch.tensor([[words[-1]]]), cache=cache, use_cache=True)
                cache, logits = output.cache, output.logits[0, -1]
    return np.array(words[start:start + count])


def best_of(repeats: int, run) -> float:
    """The fastest of `repeats` timed runs, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--words", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    choreographer = Choreographer.load(args.model)
    model = choreographer.generator.model
    context = choreographer.vocabulary.ids_of(choreographer.info["primer"]["words"].split())
    continue_words(model, context, 20, Sampling(seed=0))  # warm up
    cached_loop(model, context, 20, seed=0)
    timings = {
        "BopBot continue_words (generate())": best_of(
            args.repeats, lambda: continue_words(model, context, args.words, Sampling(seed=0, top_p=1.0))),
        "hand-written loop with the KV cache": best_of(
            args.repeats, lambda: cached_loop(model, context, args.words, seed=0)),
    }
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.words} words, GPT-2 of {params / 1e6:.2f}M parameters, context window {model.config.n_positions}, "
          f"best of {args.repeats}")
    print(f"{'':40}{'seconds':>10}{'words/s':>10}")
    for name, seconds in timings.items():
        print(f"{name:40}{seconds:10.2f}{args.words / seconds:10.0f}")
    ours = args.words / timings["BopBot continue_words (generate())"]
    print(f"BopBot writes {ours / 20:.1f} s of dance per second of sampling")


if __name__ == "__main__":
    main()
