"""How many held-out stretches would it take to tell two rows of the evaluation apart on FID_k?

`bopbot evaluate` writes every dance's features beside its report (`features.npz`). This script
takes two rows scored on the same stretches (by default the GPT-2 and the n-gram, and, as the best
any generator could do, the real continuations against the n-gram), draws subsets of the stretches
of several sizes, and on each subset computes the paired difference of FID_k with its 95% interval
exactly as the evaluation's table does (`bopbot.evaluation.bootstrap`: stretches resampled, the
difference bias-corrected). It prints, by subset size, the interval's median half-width and how
often it excludes 0, fits the half-width as `c / sqrt(n)` and says how many stretches would make
the half-width as small as the gap measured on all of them: fewer stretches than that, and the
gap, even where it is real, is inside the noise.

Run:
    bopbot evaluate training/holdout_inputs.txt --corpus build/train-corpus --follow --yaws 330,0,30 \\
        --generators gpt2,ngram -o build/power-eval
    .venv/bin/python docs/evaluation_power.py build/power-eval
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bopbot.evaluation.bootstrap import RowScores, compare_rows, keep_stretches, summarise
from bopbot.evaluation.report import read_features

REAL = "real (held-out)"


def paired_difference(rows: dict[str, RowScores], first: str, second: str, stretches: np.ndarray,
                      pool: tuple[np.ndarray, np.ndarray], resamples: int, seed: int, metric: str) -> dict:
    """`first` − `second` on `metric` over the given stretches only, with its interval."""
    kept = {name: keep_stretches(rows[name], stretches) for name in (first, second)}
    _, draws = summarise(kept, {"held-out": len(stretches)}, *pool, resamples, seed)
    return next(c for c in compare_rows(draws, [first, second]) if c["metric"] == metric)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="an evaluation's report folder, with features.npz")
    parser.add_argument("--pairs", default="gpt2:ngram,real (held-out):ngram",
                        help="comma-separated first:second rows (default: %(default)s)")
    parser.add_argument("--metric", default="FID_k")
    parser.add_argument("--sizes", default="12,18,24,30,38", help="subset sizes, besides all the stretches")
    parser.add_argument("--subsets", type=int, default=12, help="subsets drawn of each size")
    parser.add_argument("--resamples", type=int, default=300, help="bootstrap resamples of each subset")
    args = parser.parse_args()
    rows, *pool = read_features(args.folder / "features.npz")
    total = int(rows[REAL].stretch.max()) + 1
    sizes = [int(s) for s in args.sizes.split(",") if int(s) < total] + [total]
    rng = np.random.default_rng(0)
    for pair in args.pairs.split(","):
        first, second = pair.split(":")
        whole = paired_difference(rows, first, second, np.arange(total), pool, 1000, 0, args.metric)
        print(f"\n{first} − {second}, {args.metric}, all {total} stretches: {whole['value']:+.2f} "
              f"[{whole['low']:+.2f}, {whole['high']:+.2f}]")
        print("| stretches | median half-width of the 95% interval | subsets whose interval excludes 0 |")
        print("|---:|---:|---:|")
        half_widths = []
        for size in sizes:
            draws = 1 if size == total else args.subsets
            found = [paired_difference(rows, first, second, np.sort(rng.choice(total, size, replace=False)), pool,
                                       args.resamples, index, args.metric) for index in range(draws)]
            widths = [(c["high"] - c["low"]) / 2 for c in found]
            half_widths.append(float(np.median(widths)))
            print(f"| {size} | {half_widths[-1]:.2f} | {sum(c['separated'] for c in found)} of {draws} |")
        # half-width = c / sqrt(n): c from a least-squares fit in log space with the slope fixed at -1/2
        scale = float(np.exp(np.mean(np.log(half_widths) + 0.5 * np.log(sizes))))
        slope = float(np.polyfit(np.log(sizes), np.log(half_widths), 1)[0])
        gap = abs(whole["value"])
        needed = (scale / gap) ** 2 if gap > 0 else float("inf")
        print(f"half-width ≈ {scale:.1f} / sqrt(n) (free fit's slope {slope:+.2f}); a half-width of the gap "
              f"measured, {gap:.2f}, needs about {needed:,.0f} stretches ({needed / total:.0f}x these {total})")


if __name__ == "__main__":
    main()
