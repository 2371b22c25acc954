"""Intervals for the evaluation's table: a bootstrap over independent stretches.

A row's dances come in clusters: one stretch of a held-out take, seen by several cameras and
sampled with several seeds. Those dances are not independent, so resampling dances would make
intervals far too narrow. Each resample instead draws as many stretches as there are, with
replacement, and every dance counts as often as its stretch was drawn (weights: nothing is
copied). Every figure of the row is recomputed on each resample; the 95% interval is the 2.5th
to 97.5th percentile (the percentile bootstrap).

Rows scored on the same stretches (the generators, the oracle and the real held-out row) use the
same resamples, so the difference between two of them is resampled as a pair: a difference whose
interval excludes 0 is one the data can show; otherwise the two cannot be told apart.

The Fréchet distances are biased upwards by their sample size: fitted on N samples, a Gaussian's
covariance is off by about 1/N, and FID grows by about c/N (Chong & Forsyth, "Effectively Unbiased
FID", 2020); with a few dozen stretches that bias is larger than most gaps between rows. A
resample holds fewer distinct stretches than the data, so its FID is larger again, and percentile
intervals then lie wholly above the figure (measured: 11.4 from 33 stretches, resamples 13.4 to
18.3, the large-sample value 5.2). So the FIDs, and their differences, are reported bias-corrected
with the basic bootstrap: value 2F - mean(F*), interval 2F - (97.5th, 2.5th percentile of F*),
floored at 0 (on the same example: 7.2 [4.4, 9.3]). The plain figure is kept as `plug_in`. Every
other figure is a mean over dances or pairs, unbiased, with its percentile interval.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from ..evaluation import metrics

#: The table's figures, in column order.
METRICS = ("FID_k", "FID_g", "Div_k", "Div_g", "BAS", "BAS_null", "perplexity", "unique_words_15s",
           "copy_seconds", "jitter", "join", "side_on", "view_shift", "hip_excursion", "root_speed", "inside_frame",
           "user_words", "speed_ratio", "acceleration_ratio", "R_normalised", "R_hip_relative", "R_canvas", "R_wrists",
           "R_ankles", "R_acceleration", "R_chance", "energy_r", "energy_null", "phrase_8", "phrase_other")
#: Figures compared pair by pair between rows on the same stretches (where both rows have them).
COMPARED = ("FID_k", "FID_g", "Div_k", "Div_g", "perplexity")
#: Figures biased by their sample size: reported bias-corrected (see the module docs).
BIASED = ("FID_k", "FID_g")
#: The interval's coverage.
CONFIDENCE = 0.95


@dataclass
class RowScores:
    """Per-dance figures of one row of the table.

    `stretch[i]` numbers the stretch of `test_set` that dance i continues (its cluster). `per_dance` holds figures
    averaged over dances (NaN where a dance has none, e.g. no music). `log_loss` and `words` are
    the summed negative log-likelihood and word count of the real continuation of each test, for
    rows with a word model, with `loss_stretch` their stretches.
    """

    name: str
    test_set: str
    stretch: np.ndarray
    kinetic: np.ndarray
    geometric: np.ndarray
    per_dance: dict[str, np.ndarray] = field(default_factory=dict)
    log_loss: np.ndarray | None = None
    words: np.ndarray | None = None
    loss_stretch: np.ndarray | None = None


def keep_stretches(row: RowScores, stretches: np.ndarray) -> RowScores:
    """The row's dances of the given stretches only, renumbered 0..len(stretches)-1."""
    number = {int(old): new for new, old in enumerate(stretches)}
    kept = np.isin(row.stretch, stretches)
    subset = RowScores(row.name, row.test_set, np.array([number[int(s)] for s in row.stretch[kept]]),
                       row.kinetic[kept], row.geometric[kept], {k: v[kept] for k, v in row.per_dance.items()})
    if row.log_loss is not None:
        scored = np.isin(row.loss_stretch, stretches)
        subset.log_loss, subset.words = row.log_loss[scored], row.words[scored]
        subset.loss_stretch = np.array([number[int(s)] for s in row.loss_stretch[scored]])
    return subset


class _Prepared:
    """What every resample of a row reuses: the pairwise feature distances."""

    def __init__(self, row: RowScores, pool_kinetic: np.ndarray, pool_geometric: np.ndarray):
        self.row = row
        self.pool = {"k": pool_kinetic, "g": pool_geometric}
        self.features = {"k": row.kinetic, "g": row.geometric}
        self.distances = {key: metrics.pairwise_distances(self.features[key], self.pool[key]) for key in self.features}

    def values(self, drawn: np.ndarray) -> dict[str, float | None]:
        """Every figure of the row with stretch s counted `drawn[s]` times."""
        row, weights = self.row, drawn[self.row.stretch]
        figures: dict[str, float | None] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # `evaluate` says once when there are too few stretches
            for key in ("k", "g"):
                figures[f"FID_{key}"] = metrics.frechet_distance(self.pool[key], self.features[key], weights)
                figures[f"Div_{key}"] = metrics.mean_distance(self.distances[key], weights)
        for name in METRICS:
            if name in row.per_dance:
                values = row.per_dance[name]
                scored = ~np.isnan(values) & (weights > 0)
                figures[name] = float(np.average(values[scored], weights=weights[scored])) if scored.any() else None
        if row.log_loss is not None:
            counts = drawn[row.loss_stretch]
            figures["perplexity"] = math.exp((counts * row.log_loss).sum() / max((counts * row.words).sum(), 1))
        return figures


def _interval(point: float | None, draws: list[float | None], corrected: bool = False,
              floor: float | None = None) -> dict | None:
    """The figure and its 95% interval from its resamples: percentile, or with `corrected` the
    bias-corrected figure and basic-bootstrap interval (kept at or above `floor`)."""
    if point is None:
        return None
    kept = np.array([d for d in draws if d is not None], dtype=np.float64)
    if not kept.size:
        return {"value": point, "low": None, "high": None}
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(kept, [tail, 100 - tail])
    if not corrected:
        return {"value": point, "low": float(low), "high": float(high)}
    value, low, high = 2 * point - kept.mean(), 2 * point - high, 2 * point - low
    if floor is not None:
        value, low, high = max(value, floor), max(low, floor), max(high, floor)
    return {"value": float(value), "low": float(low), "high": float(high), "plug_in": point}


def summarise(rows: dict[str, RowScores], stretches: dict[str, int], pool_kinetic: np.ndarray,
              pool_geometric: np.ndarray, resamples: int, seed: int = 0) -> tuple[dict, dict]:
    """The table (each figure with its interval) and, by row, every resample's figures followed by
    the figures on the data itself.

    `stretches[test_set]` is how many stretches a test set has; the rows of one test set share
    their resamples.
    """
    draws_of: dict[str, np.ndarray] = {}
    for number, (test_set, count) in enumerate(sorted(stretches.items())):
        rng = np.random.default_rng([seed, number])
        draws_of[test_set] = np.stack([np.bincount(rng.integers(0, count, count), minlength=count)
                                       for _ in range(resamples)])
    table, draws = {}, {}
    for name, row in rows.items():
        prepared = _Prepared(row, pool_kinetic, pool_geometric)
        count = stretches[row.test_set]
        point = prepared.values(np.ones(count, dtype=np.int64))
        draws[name] = [prepared.values(drawn) for drawn in draws_of[row.test_set]]
        table[name] = {metric: _interval(point.get(metric), [d.get(metric) for d in draws[name]],
                                         corrected=metric in BIASED, floor=0.0) for metric in METRICS}
        draws[name].append(point)  # the last entry: the figures on the data itself
        table[name].update(dances=len(row.stretch), stretches=count)
    return table, draws


def compare_rows(draws: dict[str, list[dict]], names: list[str]) -> list[dict]:
    """Each pair of `names` (rows scored on the same stretches): the difference of each compared
    figure (first minus second) with its interval, and whether the interval excludes 0."""
    comparisons = []
    for first, second in combinations(names, 2):
        for metric in COMPARED:
            if draws[first][-1].get(metric) is None or draws[second][-1].get(metric) is None:
                continue
            *resampled, point = [a[metric] - b[metric] for a, b in zip(draws[first], draws[second])]
            difference = _interval(point, resampled, corrected=metric in BIASED)
            comparisons.append({"first": first, "second": second, "metric": metric, **difference,
                                "separated": bool(difference["low"] > 0 or difference["high"] < 0)})
    return comparisons


def cluster_mean(values: np.ndarray, clusters: np.ndarray, resamples: int, seed: int = 0) -> dict:
    """The mean of (N, S) `values` over rows (NaN skipped), with a 95% interval per column from
    resampling the clusters the rows belong to."""
    numbers = np.unique(clusters, return_inverse=True)[1]
    count = numbers.max() + 1
    scored = ~np.isnan(values)
    sums = np.stack([np.where(scored, values, 0.0)[numbers == c].sum(axis=0) for c in range(count)])
    counts = np.stack([scored[numbers == c].sum(axis=0) for c in range(count)])
    rng = np.random.default_rng(seed)
    drawn = np.stack([np.bincount(rng.integers(0, count, count), minlength=count) for _ in range(resamples)])
    means = (drawn @ sums) / np.maximum(drawn @ counts, 1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail], axis=0)
    return {"mean": (sums.sum(axis=0) / np.maximum(counts.sum(axis=0), 1)).tolist(), "low": low.tolist(),
            "high": high.tolist()}
