"""Vocabulary fit: BopBot's streamed faiss k-means against scikit-learn's MiniBatchKMeans.

Both cluster the same 1,000,000 normalised frames into K = 8,192 words, each in a fresh child
process so its peak memory (max RSS) is its own. The frames are the corpus made by `make corpus`
(../shared/data, 8 yaws, mirrored: 848,120 frames, every joint present); when it holds fewer
than asked, the rest are its frames drawn again with 0.01 torso lengths of jitter, and the first
line says how many are real. scikit-learn's MiniBatchKMeans was the original system's library.
The clock covers fitting alone: each library is imported before it starts, and the quantisation
error (mean joint distance to the word pose, in torso lengths) is computed after it stops, the
same way for both (BopBot's own fit also reports it from its assignment pass). Then the
extrapolated cost of 35M frames x 52,000 words.

Run: .venv/bin/python benchmarks/vocabulary.py [--frames N] [-k K] [--corpus DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bopbot.vocabulary.vocabulary import FRAMES_PER_CENTROID

ROOT = Path(__file__).resolve().parents[1]


def make_frames(corpus: Path, count: int, out: Path) -> int:
    """`count` frames with every joint present as a (count, 17, 3) .npy file: the corpus's real
    frames, then as many of them again, with jitter, as it falls short. Returns how many are real."""
    from bopbot.data.corpus import Corpus

    frames = np.concatenate(list(Corpus(corpus).frame_chunks()))
    frames = frames[(frames[:, :, 2] > 0).all(axis=1)]
    real = min(count, len(frames))
    rng = np.random.default_rng(0)
    extra = frames[rng.integers(0, len(frames), count - real)].copy()
    extra[:, :, :2] += rng.normal(0, 0.01, size=extra[:, :, :2].shape).astype(np.float32)
    np.save(out, np.concatenate([frames[:real], extra]))
    return real


def _peak_mib() -> float:
    """This process's peak memory so far (max RSS), MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(method: str, frames_path: Path, k: int) -> None:
    """Run one method in this process and print its figures as JSON."""
    frames = np.load(frames_path, mmap_mode="r")
    if method == "bopbot":
        from bopbot.vocabulary.vocabulary import PoseVocabulary

        start = time.perf_counter()
        vocabulary = PoseVocabulary(k=k, niter=20, seed=0)
        chunks = lambda: (np.asarray(frames[i:i + 65536]) for i in range(0, len(frames), 65536))  # noqa: E731
        report = vocabulary.fit(chunks)
        seconds, peak = time.perf_counter() - start, _peak_mib()
        centres, labels = vocabulary.centroids_, np.concatenate([vocabulary.encode(c) for c in chunks()])
        split = {"kmeans_seconds": report.kmeans_seconds, "assign_seconds": report.assign_seconds,
                 "training_frames": report.training_frames}
    else:
        from sklearn.cluster import MiniBatchKMeans

        start = time.perf_counter()
        x = np.asarray(frames[:, :, :2]).reshape(len(frames), -1)
        model = MiniBatchKMeans(n_clusters=k, batch_size=4096, init_size=3 * k, n_init=1, max_iter=20,
                                random_state=0).fit(x)
        seconds, peak = time.perf_counter() - start, _peak_mib()
        centres, labels = model.cluster_centers_.reshape(k, 17, 2), model.labels_
        split = {}
    error = float(np.linalg.norm(np.asarray(frames[:, :, :2]) - centres[labels], axis=2).mean())
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "error": error, **split}))


def run(method: str, frames_path: Path, k: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", method, "--frames-file", str(frames_path), "-k", str(k)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("-k", type=int, default=8192)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus", help="corpus folder (default: ./corpus from make corpus)")
    parser.add_argument("--child", choices=("bopbot", "sklearn"), help=argparse.SUPPRESS)
    parser.add_argument("--frames-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.frames_file, args.k)
        return
    if not (args.corpus / "shards").is_dir():
        raise SystemExit(f"{args.corpus}: no corpus; run `make corpus` first")
    with tempfile.TemporaryDirectory() as folder:
        frames_path = Path(folder) / "frames.npy"
        real = make_frames(args.corpus, args.frames, frames_path)
        results = {name: run(name, frames_path, args.k) for name in ("bopbot", "sklearn")}
    print(f"{args.frames:,} frames x K={args.k:,}: {real:,} real corpus frames"
          + (f", {args.frames - real:,} of them drawn again with jitter" if real < args.frames else ""))
    print(f"{'':40}{'seconds':>10}{'peak MiB':>10}{'error (torso)':>15}")
    labels = {"bopbot": "BopBot vocab (faiss, streamed)", "sklearn": "scikit-learn MiniBatchKMeans"}
    for name, figures in results.items():
        print(f"{labels[name]:40}{figures['seconds']:10.1f}{figures['peak_mib']:10.0f}{figures['error']:15.3f}")
    ours = results["bopbot"]["seconds"]
    print(f"speed-up: {results['sklearn']['seconds'] / ours:.1f}x")
    extrapolate(results["bopbot"], args.frames, args.k)


def extrapolate(ours: dict, frames: int, k: int, big_frames: int = 35_000_000, big_k: int = 52_000) -> None:
    """Scale this run's two phases to the original system's size (cost grows with frames x words)."""
    big_sample = min(FRAMES_PER_CENTROID * big_k, big_frames)
    kmeans = ours["kmeans_seconds"] * (big_sample * big_k) / (ours["training_frames"] * k)
    assign = ours["assign_seconds"] * (big_frames * big_k) / (frames * k)
    print(f"this run: k-means {ours['kmeans_seconds']:.1f} s on {ours['training_frames']:,} frames, "
          f"assignment {ours['assign_seconds']:.1f} s over {frames:,}")
    print(f"extrapolated to {big_frames / 1e6:.0f}M frames x {big_k:,} words on this machine: k-means on a "
          f"{big_sample / 1e6:.1f}M-frame sample ~{kmeans / 3600:.1f} h, assignment ~{assign / 3600:.1f} h, "
          f"total ~{(kmeans + assign) / 3600:.1f} h (memory: the sample, {big_sample * 34 * 4 / 2**30:.1f} GiB)")

if __name__ == "__main__":
    main()
