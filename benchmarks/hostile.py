"""The hostile inputs that once cost minutes or gigabytes, timed and weighed against an ordinary run.

Each case runs as a user starts it (a new process, from its start to its exit), and the memory is
the peak of the whole process tree (the model's worker included), summed from /proc every 20 ms.
The baseline, measured in the same run: `bopbot dance` of an ordinary 4 s dance with 2 s of new
dance by the n-gram generator, and the same with a 3 s song. The goal for every case: a refusal
in one line, or the work done, in under a minute and under 3 GB.

The cases (the inputs are made here, in a temporary folder):
  * a 7.9 MB `.npz` holding 10 million valid frames;
  * a 1 KB `.npy` whose header declares (1e12, 17, 3);
  * a model whose config.json says n_layer=100000, and one that says n_embd=2048 over 16 layers;
  * a 4-hour silent song (8 kHz WAV, 230 MB) with `--seconds 2`;
  * a 5 s clip with a 10-hour gap in its timestamps (`extract`);
  * a 60 s MKV whose header says 5 s, and a raw `.h264` stream of 60 s, read with the page's limit
    of 10 s (`read_user_dance(..., max_seconds=10)`, what the page calls);
  * from the third round: a pose sequence `.npz` whose `size` says 60000x60000, danced in the
    skeleton layout (was 5.9 GB, then a crash); a `.npz` of 300,000 arrays (was 63 s); a list of
    20,000 inputs none of which exists (was over 120 s).

Each case runs `--repeat` times (default 3): the median time with its range, and the highest peak.

Run: .venv/bin/python benchmarks/hostile.py [--repeat N]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BOPBOT = [sys.executable, "-m", "bopbot"]
DEFAULT_MODEL = ROOT / "src" / "bopbot" / "default_model"
#: A COCO-17 dancer standing, in pixels.
STANDING = np.array([[50, 10], [48, 8], [52, 8], [46, 9], [54, 9], [42, 20], [58, 20], [38, 32], [62, 32],
                     [36, 44], [64, 44], [45, 48], [55, 48], [45, 66], [55, 66], [45, 84], [55, 84]], float)


def _tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and every process under it."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/statm") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(child) for child in children.read().split())
        except (OSError, ValueError):
            continue
    return total


def measure(argv: list[str]) -> tuple[float, float, int, str]:
    """(seconds, peak GB of the process tree, exit code, last stderr line) of one command."""
    started = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    while process.poll() is None:
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(0.02)
    seconds = time.monotonic() - started
    said = [line for line in process.stderr.read().splitlines() if line.strip()]
    return seconds, peak / 1e9, process.returncode, (said[-1] if said else "")


def _dancer(path: Path, frames: int = 80) -> Path:
    keypoints = np.ones((frames, 17, 3))
    keypoints[:, :, :2] = STANDING
    keypoints[:, 7:11, 1] -= 8 * np.sin(np.arange(frames) / 4)[:, None]
    np.save(path, keypoints)
    return path


def _wav(path: Path, seconds: float, rate: int = 8000, clicks: bool = True) -> Path:
    """A mono WAV of `seconds` (clicks twice a second, or silence), written a minute at a time."""
    with av.open(str(path), "w", format="wav") as output:
        stream = output.add_stream("pcm_s16le", rate=rate)
        stream.layout = "mono"
        total, step = round(seconds * rate), 60 * rate
        for start in range(0, total, step):
            samples = np.zeros(min(step, total - start), np.int16)
            if clicks:
                samples[(-start) % (rate // 2)::rate // 2] = 20000
            frame = av.AudioFrame.from_ndarray(samples[None], format="s16", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            output.mux(stream.encode(frame))
        output.mux(stream.encode())
    return path


def _video(path: Path, seconds: float, pts=None, container: str | None = None, fps: int = 20) -> Path:
    with av.open(str(path), "w", format=container) as output:
        stream = output.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for number in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), number % 200, np.uint8), format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts(number), Fraction(1, fps)
            output.mux(stream.encode(frame))
        output.mux(stream.encode())
    return path


def _sequence(path: Path, take: Path) -> Path:
    """The dancer of `take` as a BopBot pose sequence `.npz`."""
    from bopbot.data.pose_sequence import PoseSequence

    PoseSequence(np.load(take), 30.0, (100, 100), "swaying").save(path)
    return path


def _model(folder: Path, **config) -> Path:
    shutil.copytree(DEFAULT_MODEL, folder, ignore=shutil.ignore_patterns("music", "checkpoint*"))
    path = folder / "config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **config}))
    return folder


def cases(work: Path) -> dict[str, list[str]]:
    """The commands, by what they try (see the module docs)."""
    take = _dancer(work / "take.npy")
    many = np.zeros((10_000_000, 17, 3), np.float32)
    many[:, :, 2] = 1
    np.savez_compressed(work / "many.npz", keypoints=many)
    del many
    with open(work / "huge.npy", "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False,
                                                      "shape": (10**12, 17, 3)})
        handle.write(b"\0" * 600)
    _wav(work / "song.wav", 3)
    _wav(work / "silent.wav", 4 * 3600, clicks=False)
    _video(work / "gap.mkv", 5, pts=lambda i: i if i < 50 else i + 10 * 3600 * 20)
    lying = _video(work / "lying.mkv", 60)
    data = bytearray(lying.read_bytes())
    at = data.index(b"\x44\x89\x88")
    data[at + 3:at + 11] = struct.pack(">d", 5000.0)
    lying.write_bytes(bytes(data))
    _video(work / "raw.h264", 60, container="h264")
    arrays = dict(np.load(_sequence(work / "sequence.npz", take)))
    np.savez(work / "wide.npz", **{**arrays, "size": np.array([60000, 60000], np.int32)})
    with zipfile.ZipFile(work / "members.npz", "w") as archive:
        one = io.BytesIO()
        np.save(one, np.zeros(1))
        archive.writestr("keypoints.npy", (work / "take.npy").read_bytes())
        for number in range(300_000):
            archive.writestr(f"a{number}.npy", one.getvalue())
    (work / "missing.txt").write_text("".join(f"/nowhere/{number}.mp4\n" for number in range(20_000)))
    dance = BOPBOT + ["dance", str(take), "--generator", "ngram", "--seconds", "2"]
    page = [sys.executable, "-c", "import sys\nfrom bopbot.choreography.user_dance import read_user_dance\n"
            "try: read_user_dance(sys.argv[1], max_seconds=10)\nexcept Exception as e: print(e, file=sys.stderr); "
            "sys.exit(1)"]
    return {
        "baseline: an ordinary dance": dance + ["-o", str(work / "base.mp4")],
        "baseline: the same with a 3 s song": dance + ["-o", str(work / "song.mp4"), "--music", str(work / "song.wav")],
        "10M frames in a 7.9 MB .npz": BOPBOT + ["dance", str(work / "many.npz"), "-o", str(work / "a.mp4")],
        "1 KB .npy declaring 1e12 frames": BOPBOT + ["dance", str(work / "huge.npy"), "-o", str(work / "b.mp4")],
        "config n_layer=100000": BOPBOT + ["demo", "--model", str(_model(work / "deep", n_layer=100000)),
                                          "--seconds", "1", "-o", str(work / "deep-demo")],
        "config n_embd=2048 x 16 layers": BOPBOT + ["demo", "--model",
                                                   str(_model(work / "wide", n_layer=16, n_embd=2048)),
                                                   "--seconds", "1", "-o", str(work / "wide-demo")],
        "4-hour silent song, --seconds 2": dance + ["-o", str(work / "c.mp4"), "--music", str(work / "silent.wav")],
        "5 s clip, 10-hour gap (extract)": BOPBOT + ["extract", str(work / "gap.mkv"), "-o", str(work / "gap.npz")],
        "60 s MKV saying 5 s, limit 10 s": page + [str(lying)],
        "60 s raw .h264, limit 10 s": page + [str(work / "raw.h264")],
        "size 60000x60000 .npz, skeleton layout": BOPBOT + ["dance", str(work / "wide.npz"), "-o",
                                                            str(work / "e.mp4"), "--layout", "skeleton"],
        "a .npz of 300,000 arrays": BOPBOT + ["dance", str(work / "members.npz"), "-o", str(work / "f.mp4")],
        "20,000 inputs, none there (extract)": BOPBOT + ["extract", str(work / "missing.txt"), "-o",
                                                         str(work / "nothing"), "-q"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        commands = cases(Path(folder))
        print(f"{'case':<40}{'seconds, median [range]':>26}{'peak GB':>9}{'exit':>6}  said")
        for name, argv in commands.items():
            runs = [measure(argv) for _ in range(args.repeat)]
            times = [run[0] for run in runs]
            spread = f"{statistics.median(times):.1f} [{min(times):.1f}, {max(times):.1f}]"
            print(f"{name:<40}{spread:>26}{max(run[1] for run in runs):>9.2f}{runs[-1][2]:>6}  {runs[-1][3][:100]}")
    print("goal: every case under 60 s and 3 GB, in one line or done")


if __name__ == "__main__":
    main()
