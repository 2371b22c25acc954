"""Generation speed: words per second of `continue_words` against a naive sampling loop.

Same model (the embedded default unless --model), same context, same number of words. BopBot
samples with Hugging Face `generate()` (key/value cache) in sliding windows; the baseline
re-runs the whole window for every word, as a plain autoregressive loop does without a cache.
At 20 words a second of dance, the last line says how many seconds of dance a second of
sampling makes.

Run: .venv/bin/python benchmarks/generation.py [--model DIR] [--words N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from bopbot.choreograph import Sampling, continue_words
from bopbot.model_folder import Choreographer


def naive(model, context: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Sample `count` words by re-running the model on the whole window for each one."""
    torch.manual_seed(seed)
    window = model.config.n_positions
    words = list(context)
    banned = [model.config.eos_token_id, model.config.pad_token_id, model.config.vocab_size - 1]
    with torch.no_grad():
        for _ in range(count):
            logits = model(torch.tensor([words[-window:]])).logits[0, -1]
            logits[banned] = -float("inf")
            words.append(int(torch.multinomial(torch.softmax(logits, -1), 1)))
    return np.array(words[len(context):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=None)
    parser.add_argument("--words", type=int, default=600)
    args = parser.parse_args()
    choreographer = Choreographer.load(args.model)
    model = choreographer.generator.model
    context = choreographer.vocabulary.ids_of(choreographer.info["primer"]["words"].split())
    continue_words(model, context, 20, Sampling(seed=0))  # warm up
    timings = {}
    start = time.perf_counter()
    continue_words(model, context, args.words, Sampling(seed=0, top_p=1.0))
    timings["BopBot continue_words (KV cache, sliding)"] = time.perf_counter() - start
    start = time.perf_counter()
    naive(model, context, args.words, seed=0)
    timings["naive loop (whole window per word)"] = time.perf_counter() - start
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.words} words, GPT-2 of {params / 1e6:.2f}M parameters, context window {model.config.n_positions}")
    print(f"{'':44}{'seconds':>10}{'words/s':>10}")
    for name, seconds in timings.items():
        print(f"{name:44}{seconds:10.2f}{args.words / seconds:10.0f}")
    ours = args.words / timings["BopBot continue_words (KV cache, sliding)"]
    print(f"BopBot writes {ours / 20:.1f} s of dance per second of sampling")


if __name__ == "__main__":
    main()
