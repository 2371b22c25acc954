"""Pose extraction speed: BopBot's `extract_video` against bare MediaPipe, on the same frames in one run.

Three timings of one real clip, each the best of `--repeat` runs, all on the frames BopBot's
detector sees (those nearest the 20 fps grid, the long side at most `DETECT_MAX_SIDE`):
  * bare MediaPipe: those frames decoded to RGB in memory first, then `Pose.process` alone;
  * bare decode + process: decoding and `Pose.process` frame by frame, one after the other;
  * BopBot: `extract_video` end to end (decode ahead in a thread, detect, follow the dancer, map to
    COCO-17, resample).
Then the throughput of a multi-video batch (`bopbot extract VIDEOS -o CORPUS`, every clip in
../shared/data/videos) with one process against one per core, in detected frames per second.
Run: .venv/bin/python benchmarks/extract.py [--clip NAME_OR_PATH] [--repeat N] [--no-batch]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from mediapipe.python.solutions import pose as mp_pose

from bopbot.data.corpus import Corpus
from bopbot.data.pose_sequence import CORPUS_FPS
from bopbot.ingest.build_corpus import build_corpus
from bopbot.ingest.pose_detector import MIN_DETECTION_CONFIDENCE, _quiet_native_logs, detection_size, extract_video
from bopbot.ingest.video import decode_frames, probe

VIDEOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos"
#: Overhead of BopBot over bare decode + process that the pipeline aims to stay under.
GOAL_OVERHEAD = 0.10


def bare_pose() -> mp_pose.Pose:
    """MediaPipe Pose with the settings BopBot uses, for the baselines."""
    return mp_pose.Pose(
        static_image_mode=False,
        model_complexity=1,
        smooth_landmarks=True,
        min_detection_confidence=MIN_DETECTION_CONFIDENCE,
    )


def time_process_only(frames: list) -> float:
    """Seconds for bare MediaPipe to process frames already decoded to RGB in memory."""
    with _quiet_native_logs():
        pose = bare_pose()
        start = time.perf_counter()
        for image in frames:
            pose.process(image)
        elapsed = time.perf_counter() - start
        pose.close()
    return elapsed


def detector_frames(clip: Path) -> Iterator[tuple[float, np.ndarray]]:
    """The clip's frames as BopBot's detector is given them."""
    info = probe(clip)
    return decode_frames(clip, max(detection_size(info.width, info.height)), fps=CORPUS_FPS)


def time_decode_and_process(clip: Path) -> float:
    """Seconds to decode the detector's frames and run bare MediaPipe on each as it comes."""
    with _quiet_native_logs():
        pose = bare_pose()
        start = time.perf_counter()
        for _, image in detector_frames(clip):
            pose.process(image)
        elapsed = time.perf_counter() - start
        pose.close()
    return elapsed


def time_extract_video(clip: Path) -> float:
    """Seconds for BopBot's `extract_video` on the clip, end to end."""
    start = time.perf_counter()
    extract_video(clip)
    return time.perf_counter() - start


def time_batch(videos: list[Path], jobs: int) -> tuple[float, int]:
    """Seconds to extract every video into a fresh corpus with `jobs` processes, and frames detected."""
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        report = build_corpus(videos, folder, jobs=jobs, progress=False)
        elapsed = time.perf_counter() - start
        if report.failed:
            raise SystemExit(f"batch failed: {report.failed}")
        frames = sum(s["meta"]["frames_detected"] for info, _ in Corpus(folder).infos() for s in info["sequences"])
    return elapsed, frames


def print_batch() -> None:
    """The batch throughput with one process and with one per core, side by side."""
    videos = sorted(VIDEOS.glob("*.mp4"))
    cores = os.cpu_count() or 1
    print(f"\nbatch of {len(videos)} clips from {VIDEOS}:")
    print(f"{'':38}{'seconds':>10}{'frames/s':>10}")
    timings = {}
    for jobs in sorted({1, cores}):
        elapsed, frames = time_batch(videos, jobs)
        timings[jobs] = elapsed
        print(f"{f'{jobs} process(es)':38}{elapsed:10.1f}{frames / elapsed:10.1f}")
    if cores > 1:
        print(f"speed-up with {cores} processes: {timings[1] / timings[cores]:.2f}x")


def best_of(repeat: int, run: Callable[[], float]) -> float:
    """The shortest of `repeat` timings (the least disturbed by other work on the machine)."""
    return min(run() for _ in range(repeat))


def resolve_clip(name: str) -> Path:
    """A clip given as a path, or as a file name in ../shared/data/videos."""
    path = Path(name)
    return path if path.exists() else VIDEOS / name


def main(argv: list[str] | None = None) -> None:
    """Time the three ways of extracting poses from one clip and print them side by side."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--clip", default="hybrik_taiji.mp4", help="clip path, or file name in ../shared/data/videos"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each timing; the best counts")
    parser.add_argument("--no-batch", action="store_true", help="skip the multi-video batch timing")
    args = parser.parse_args(argv)

    clip = resolve_clip(args.clip)
    info = probe(clip)
    frames = [image for _, image in detector_frames(clip)]
    count = len(frames)
    process_only = min(time_process_only(frames) for _ in range(args.repeat))
    del frames
    decode_process = best_of(args.repeat, lambda: time_decode_and_process(clip))
    bopbot = best_of(args.repeat, lambda: time_extract_video(clip))

    print(f"{clip.name}: {count} frames, {info.width}x{info.height}, best of {args.repeat}")
    print(f"{'':38}{'frames/s':>10}")
    print(f"{'bare MediaPipe (process only)':38}{count / process_only:10.1f}")
    print(f"{'bare decode + process':38}{count / decode_process:10.1f}")
    print(f"{'BopBot extract_video (end to end)':38}{count / bopbot:10.1f}")
    fair = bopbot / decode_process - 1
    print(f"overhead vs bare decode + process: {fair:+.1%} (goal: under {GOAL_OVERHEAD:.0%})")
    print(f"overhead vs process only:          {bopbot / process_only - 1:+.1%} (ours includes decoding)")
    if not args.no_batch:
        print_batch()


if __name__ == "__main__":
    main()
