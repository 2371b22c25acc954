"""What `--music SONG` costs `bopbot dance`, with an interval: the goal is at most 0.5 s over the same
dance without music.

`benchmarks/dance.py` times each of its commands a few times among others and gives the music's
cost as a median and a range of 3 to 5 rounds; on this machine the range (2 to 4 s wide) is wider
than the cost. Here only the two commands run, as a user runs them (a new process each, from its
start to its exit), on `dance.py`'s 12 s 1080x1920 phone clip without its sound, 10 s of new dance:

  * the baseline: `bopbot dance silent-clip.mp4 -o quiet.mp4 --seconds 10`;
  * the same with `--music SONG` (the whole 3.7-minute song of the Tang take DANCE_C_2).

They run in pairs, in the order A B, B A, A B, ... (so neither always follows the other), and the
cost is each pair's difference. Printed: both commands' median and range, and the median cost with
its distribution-free 95% interval (the sign test's: the order statistics of the paired costs that
hold the median with at least 95% confidence, whatever the noise's shape).

Run: .venv/bin/python benchmarks/music_cost.py [--pairs 16]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from math import comb
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dance import BOPBOT, SONG, make_clip, silent_copy, spread, timed  # noqa: E402

GOAL = 0.5


def median_interval(values: list[float], confidence: float = 0.95) -> tuple[float, float]:
    """The sign test's interval for the median of `values`: the k-th smallest and k-th largest, k
    the largest with P(Binomial(n, 1/2) < k) at most (1 - confidence) / 2."""
    n, ordered = len(values), sorted(values)
    k, below = 0, 0.0
    while below + comb(n, k) / 2**n <= (1 - confidence) / 2:
        below += comb(n, k) / 2**n
        k += 1
    if k == 0:
        raise SystemExit(f"{n} pairs are too few for a {confidence:.0%} interval: give --pairs 6 or more")
    return ordered[k - 1], ordered[n - k]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=16, help="pairs of runs (default 16: about 6 minutes)")
    args = parser.parse_args()
    if not SONG.exists():
        raise SystemExit(f"{SONG}: the benchmark's song is missing (../shared/data)")
    silent = silent_copy(make_clip())
    quiet = BOPBOT + ["dance", str(silent), "-o", "quiet.mp4", "--seconds", "10"]
    song = BOPBOT + ["dance", str(silent), "-o", "song.mp4", "--seconds", "10", "--music", str(SONG)]
    times: dict[str, list[float]] = {"quiet": [], "song": []}
    with tempfile.TemporaryDirectory() as folder:
        for pair in range(args.pairs):
            order = ("quiet", "song") if pair % 2 == 0 else ("song", "quiet")
            for name in order:
                times[name] += timed(quiet if name == "quiet" else song, 1, Path(folder))
    costs = [s - q for s, q in zip(times["song"], times["quiet"])]
    low, high = median_interval(costs)
    print(f"{silent.name}, 10 s of new dance; {args.pairs} pairs, each command once a pair, in turn first; "
          f"median [range]")
    print(f"{'bopbot dance silent-clip.mp4 --seconds 10':52}{spread(times['quiet'])}")
    print(f"{'bopbot dance silent-clip.mp4 ... --music SONG':52}{spread(times['song'])}")
    print(f"{'cost of --music (paired)':52}{statistics.median(costs):+8.2f} s  95% interval [{low:+.2f}, {high:+.2f}]"
          f"  (range [{min(costs):+.2f}, {max(costs):+.2f}]; goal: at most +{GOAL:.2f} s)")
    print(f"faster with --music in {sum(c < 0 for c in costs)} of {len(costs)} pairs; "
          + ("the goal holds: the interval is below it" if high <= GOAL else
             "the goal is missed: the interval is above it" if low > GOAL else
             "the interval straddles the goal: not shown either way"))


if __name__ == "__main__":
    main()
