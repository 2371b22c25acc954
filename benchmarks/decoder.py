"""Words into movement: the cost of the learned word decoder against `word_motion`'s curve.

For 10 s of new dance (200 words after the context's last `LEAD_WORDS`, as `bopbot dance` moves
them), each way of moving is timed over `--repeats` runs on the same words, sampled by the model's
n-gram baseline from a real primer; the median and range are printed side by side. The target is
under 0.5 s per 10 s of dance on 2 cores.

Run: .venv/bin/python benchmarks/decoder.py [--model DIR] [--seconds S] [--repeats R]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bopbot.choreography.user_dance import primer_dance
from bopbot.models.decoder import WordMover, load_decoder
from bopbot.models.generators import load_generator
from bopbot.models.model_folder import DEFAULT_MODEL
from bopbot.vocabulary.vocabulary import PoseVocabulary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    vocabulary = PoseVocabulary.load(args.model)
    decoder = load_decoder(args.model, vocabulary)
    if decoder is None:
        raise SystemExit(f"{args.model} has no word decoder: train one with `bopbot train --decoder`")
    context = vocabulary.encode(primer_dance(args.model).poses)
    words = load_generator("ngram", args.model, vocabulary).words
    ids = words.continue_words(context, round(args.seconds * 20), 1.0, np.random.default_rng(0))
    print(f"{args.seconds:g} s of dance ({len(ids)} words after {min(len(context), 40)} of context), "
          f"{args.repeats} runs each, {sum(p.numel() for p in decoder.parameters()) / 1e6:.2f}M decoder parameters")
    print(f"{'':28}{'median s':>10}{'range':>20}")
    for mover in (WordMover(vocabulary), WordMover(vocabulary, decoder)):
        mover.movement(ids, before=context)  # warm up
        times = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            mover.movement(ids, before=context)
            times.append(time.perf_counter() - started)
        print(f"{mover.name:28}{np.median(times):10.3f}{f'[{min(times):.3f}, {max(times):.3f}]':>20}")


if __name__ == "__main__":
    main()
