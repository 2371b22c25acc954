"""Generation speed: words per second of BopBot's sampling (the GPT-2 in NumPy, `runtime.GPT2Runtime`)
against the same GPT-2 sampled by Hugging Face `generate()` on PyTorch, the path it replaced.

Same model (the embedded default unless --model), same context, same number of words, same sliding
window (when the window is full, the latest three quarters of it prime the next one), both with the
model's key/value cache. Each is timed over `--repeats` runs and the best is kept; the time to import
and load each (in a fresh interpreter) is printed beside it, since a run that dances once pays it
once. At 20 words a second of dance, the last line says how many seconds of dance a second of
sampling makes.

Run: .venv/bin/python benchmarks/generation.py [--model DIR] [--words N] [--repeats R]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

from bopbot.models.model_folder import DEFAULT_MODEL
from bopbot.models.sampling import Sampling, continue_words

LOAD = {
    "BopBot (NumPy runtime)": "from bopbot.models.language_model import load_gpt2_runtime; load_gpt2_runtime({folder!r})",
    "transformers generate()": "from bopbot.models.language_model import load_gpt2; load_gpt2({folder!r})",
}


def generate_loop(model, context: np.ndarray, count: int, seed: int) -> np.ndarray:
    """`count` words by `generate()`, a window at a time (the sampler BopBot used until issue 25)."""
    import torch

    torch.manual_seed(seed)
    config = model.config
    window, keep = config.n_positions, config.n_positions * 3 // 4
    words = torch.from_numpy(np.asarray(context, dtype=np.int64))[None]
    start = words.shape[1]
    with torch.no_grad():
        while words.shape[1] - start < count:
            prompt = words[:, -keep:]
            new = min(window - prompt.shape[1], count - (words.shape[1] - start))
            output = model.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=new,
                                    min_new_tokens=new, do_sample=True, pad_token_id=config.pad_token_id,
                                    suppress_tokens=[config.eos_token_id, config.pad_token_id, config.vocab_size - 1])
            words = torch.cat([words, output[:, prompt.shape[1]:]], dim=1)
    return words[0, start:start + count].numpy()


def best_of(repeats: int, run) -> float:
    """The fastest of `repeats` timed runs, in seconds."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def load_seconds(code: str) -> float:
    """Wall seconds of a fresh interpreter that imports and loads the model (`code`)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--words", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from bopbot.models.language_model import load_gpt2, load_gpt2_runtime

    runtime, _ = load_gpt2_runtime(args.model)
    model, _ = load_gpt2(args.model)
    context = np.random.default_rng(0).integers(0, runtime.config.vocab_size - 3 - runtime.config.music_inputs, 120)
    sampling = Sampling(seed=0, echo=0.0, max_copy_seconds=1000.0)
    runs = {"BopBot (NumPy runtime)": lambda: continue_words(runtime, context, args.words, sampling),
            "transformers generate()": lambda: generate_loop(model, context, args.words, seed=0)}
    for run in runs.values():  # warm up
        run()
    timings = {name: best_of(args.repeats, run) for name, run in runs.items()}
    loads = {name: min(load_seconds(code.format(folder=args.model)) for _ in range(args.repeats))
             for name, code in LOAD.items()}
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.words} words, GPT-2 of {params / 1e6:.2f}M parameters, context window {runtime.config.n_positions}, "
          f"best of {args.repeats}")
    print(f"{'':28}{'sampling s':>12}{'words/s':>10}{'import+load s':>15}")
    for name, seconds in timings.items():
        print(f"{name:28}{seconds:12.2f}{args.words / seconds:10.0f}{loads[name]:15.2f}")
    ours = args.words / timings["BopBot (NumPy runtime)"]
    print(f"BopBot writes {ours / 20:.1f} s of dance per second of sampling "
          f"({timings['transformers generate()'] / timings['BopBot (NumPy runtime)']:.1f}x generate()'s speed)")


if __name__ == "__main__":
    main()
