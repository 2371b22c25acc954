"""Words into movement, side by side: the real continuations turned into pose words and moved
back by `word_motion`'s curve and by word decoders, scored against the real dances.

The held-out takes of `training/holdout_inputs.txt` are filmed as `bopbot evaluate --follow`
films them (cameras following the dancer at the given yaws; phone clips as they are) and cut into
`--seconds` stretches; each stretch's real poses become words (the first model folder's
vocabulary) and are moved back every way below, with the 40 words before the stretch leading in
as `bopbot dance` does. Scored like `bopbot evaluate`'s rows against the training pool of
`--corpus`: FID_k and Div_k with 95% intervals over stretches, and the joint speed and
acceleration over the real continuation's (each stretch's ratio, averaged).

Rows: the real continuations; `word_motion` (keyframes, before `bopbot dance` smooths them) and
`word_motion, low-passed` (what the pipeline showed before the decoder); then for each model
folder's decoder, as it is shown (`decoder`) and with the low-pass as well.

Run: .venv/bin/python docs/word_motion_sweep.py --corpus build/train-corpus MODEL [MODEL ...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bopbot.data.corpus import Corpus
from bopbot.data.motion import smooth
from bopbot.data.pose_sequence import CORPUS_FPS
from bopbot.evaluation import metrics
from bopbot.evaluation.bootstrap import RowScores, summarise
from bopbot.evaluation.settings import EvalSettings
from bopbot.evaluation.stretches import cut_stretches, held_out_views, training_pool
from bopbot.models.decoder import WordMover, load_decoder
from bopbot.vocabulary.vocabulary import PoseVocabulary

HOLDOUT = Path(__file__).resolve().parents[1] / "training" / "holdout_inputs.txt"


def ratio(moved: np.ndarray, real: np.ndarray, order: int) -> float:
    """Mean joint speed (order 1) or acceleration (2) of `moved` over `real`'s, on present joints."""
    seen = real[:, :, 2] > 0
    for _ in range(order):
        seen = seen[1:] & seen[:-1]
    step = [np.linalg.norm(np.diff(p[:, :, :2], n=order, axis=0), axis=2)[seen].mean() for p in (moved, real)]
    return float(step[0] / max(step[1], 1e-12))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="model folders with a word decoder, over one vocabulary")
    parser.add_argument("--corpus", required=True, help="the corpus the models were trained on (the pool)")
    parser.add_argument("--yaws", default="330,0,30")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    settings = EvalSettings(yaws=tuple(float(y) for y in args.yaws.split(",")), follow=True, seconds=args.seconds)
    vocabulary = PoseVocabulary.load(args.models[0])
    tests = cut_stretches(held_out_views([str(HOLDOUT)], settings), settings)
    pool, _ = training_pool(Corpus(args.corpus), vocabulary, settings)
    movers = {"word_motion": (WordMover(vocabulary), False), "word_motion, low-passed": (WordMover(vocabulary), True)}
    for folder in args.models:
        decoder = load_decoder(folder, vocabulary)
        movers[f"decoder {folder}"] = (WordMover(vocabulary, decoder), False)
        movers[f"decoder {folder}, low-passed"] = (WordMover(vocabulary, decoder), True)
    stretch = np.array([t.stretch for t in tests.tests])
    dances = {"real": [t.continuation for t in tests.tests]}
    for name, (mover, low_pass) in movers.items():
        moved = [mover.move(vocabulary.encode(t.continuation), before=vocabulary.encode(t.context)) for t in tests.tests]
        dances[name] = [smooth(m) if low_pass else m for m in moved]
    rows = {}
    for name, made in dances.items():
        row = RowScores(name, "held-out", stretch, np.stack([metrics.kinetic_features(d, CORPUS_FPS) for d in made]),
                        np.stack([metrics.geometric_features(d, CORPUS_FPS) for d in made]))
        row.per_dance["speed_ratio"] = np.array([ratio(d, t.continuation, 1) for d, t in zip(made, tests.tests)])
        row.per_dance["acceleration_ratio"] = np.array([ratio(d, t.continuation, 2) for d, t in zip(made, tests.tests)])
        rows[name] = row
    pool_kinetic = np.stack([metrics.kinetic_features(d, CORPUS_FPS) for d in pool])
    pool_geometric = np.stack([metrics.geometric_features(d, CORPUS_FPS) for d in pool])
    table, _ = summarise(rows, {"held-out": tests.stretches}, pool_kinetic, pool_geometric, args.resamples)

    def cell(figure: dict, fmt: str) -> str:
        return f"{fmt.format(figure['value'])} [{fmt.format(figure['low'])}, {fmt.format(figure['high'])}]"

    print(f"{len(tests.tests)} tests, {tests.stretches} stretches of {args.seconds:g} s; pool of {len(pool)}")
    print("| | FID_k | Div_k | joint speed / real | acceleration / real |\n|---|---:|---:|---:|---:|")
    for name, row in table.items():
        print(f"| {name} | {cell(row['FID_k'], '{:.1f}')} | {cell(row['Div_k'], '{:.2f}')} | "
              f"{cell(row['speed_ratio'], '{:.2f}')} | {cell(row['acceleration_ratio'], '{:.2f}')} |")


if __name__ == "__main__":
    main()
