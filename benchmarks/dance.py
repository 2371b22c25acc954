"""`bopbot dance` as a user runs it, on a 12 s 1080x1920 phone clip, against the floor of its stages.

The clip is made for the benchmark (and kept in build/benchmarks/): the real phone-style dance
../shared/data/dance_videos/animatex_dance_1.mp4 (512x758, 24 fps, with its music) looped to 12 s,
scaled to 1080 wide and padded to 1080x1920 portrait, and encoded as a phone does (H.264 at 24 fps,
about 10 Mbit/s, AAC sound).

Timed, each `--repeat` times (the median, and the range), as a user starts them (a new process,
from its start to its exit):
  * `bopbot --help` and `bopbot dance --help` (goal: under 1 s);
  * `bopbot demo` (goal: under 5 s);
  * `bopbot dance clip.mp4 -o out.mp4 --seconds 10` (goal: under 10 s), three ways: the clip
    without its sound (no music: the same video, its sound left out), the clip with its music (the
    dance on the clip's beat), and the silent clip with `--music SONG` (a whole 3.7-minute song,
    the Tang take DANCE_C_2's; goal: at most 0.5 s over the dance without music).
The commands run round by round (each once a round, then the floors), so that a machine that
speeds up or slows down over the run's minutes weighs on every figure alike; each ratio and each
cost of music is taken within a round. The floor of a dance: the bare stages one after another in
this process: decoding the clip to RGB at the size the detector is given, keeping the frames on
the 20 fps grid; bare MediaPipe Pose (BopBot's settings) on those frames, already decoded; and
x264 encoding the frames of the dance's output, at its size, with the output's settings (goal:
at most 1.1x). The demo's floor: x264 encoding the demo's own output frames. Last, the
extraction's throughput (`extract_video`, decoding included) against bare MediaPipe on the same
frames already decoded (goal: at least 0.9x).

Run: .venv/bin/python benchmarks/dance.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared" / "data" / "dance_videos" / "animatex_dance_1.mp4"
CLIP = ROOT / "build" / "benchmarks" / "phone_1080x1920_12s.mp4"
SONG = ROOT.parent / "shared" / "data" / "mocap" / "tang2018" / "DANCE_C_2" / "audio.mp3"
SECONDS, SIZE, FPS = 12.0, (1080, 1920), 24
BOPBOT = [sys.executable, "-m", "bopbot"]


def silent_copy(clip: Path) -> Path:
    """The clip's video stream alone, copied without re-encoding (made once)."""
    from bopbot.files import atomic_path

    out = clip.with_name(clip.stem + "_silent.mp4")
    if out.exists():
        return out
    with av.open(str(clip)) as source, atomic_path(out) as tmp, av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                container.mux(packet)
    return out


def make_clip(source: Path = SOURCE, out: Path = CLIP) -> Path:
    """The benchmark clip (see the module docs), made once."""
    from bopbot.files import atomic_path
    from bopbot.ingest.video import decode_frames
    from bopbot.music.audio import read_audio

    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    frames = [image for _, image in decode_frames(source)]
    width, height = SIZE
    scaled_height = round(frames[0].shape[0] * width / frames[0].shape[1]) // 2 * 2
    top = (height - scaled_height) // 2
    music = read_audio(source, channels=2)
    count = round(SECONDS * FPS)
    with atomic_path(out) as tmp, av.open(str(tmp), "w", format="mp4") as container:
        video = container.add_stream("libx264", rate=FPS)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.bit_rate = 10_000_000
        video.options = {"preset": "veryfast", "profile": "high"}
        sound = container.add_stream("aac", rate=music.rate)
        sound.layout = "stereo"
        canvas = np.zeros((height, width, 3), np.uint8)
        for t in range(count):
            small = av.VideoFrame.from_ndarray(frames[t % len(frames)], format="rgb24")
            canvas[top:top + scaled_height] = small.reformat(width, scaled_height).to_ndarray(format="rgb24")
            container.mux(video.encode(av.VideoFrame.from_ndarray(canvas, format="rgb24")))
        container.mux(video.encode())
        samples = np.tile(music.samples, (1, int(np.ceil(SECONDS / music.seconds))))[:, :round(SECONDS * music.rate)]
        for start in range(0, samples.shape[1], 1024):
            piece = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[:, start:start + 1024]), format="fltp",
                                               layout="stereo")
            piece.sample_rate, piece.pts, piece.time_base = music.rate, start, Fraction(1, music.rate)
            container.mux(sound.encode(piece))
        container.mux(sound.encode(None))
    return out


def bare_pose():
    """MediaPipe Pose as BopBot sets it up, alone: the baseline."""
    from mediapipe.python.solutions import pose as mp_pose

    from bopbot.ingest.pose_detector import MIN_DETECTION_CONFIDENCE

    return mp_pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                        min_detection_confidence=MIN_DETECTION_CONFIDENCE)


def timed(command: list[str], repeat: int, cwd: Path) -> list[float]:
    """Wall seconds of `command` as a new process, `repeat` times; stops on a failure."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return times


def floor_stages(clip: Path, written: Path, repeat: int) -> dict[str, float]:
    """Seconds of each bare stage (the fastest of `repeat`): decoding the clip at the detector's size
    on the 20 fps grid, MediaPipe on those frames already decoded, and encoding the frames of the
    video `bopbot dance` wrote (decoded into memory first) with the same writer and settings."""
    from bopbot.choreography.render import write_mp4
    from bopbot.ingest.pose_detector import detection_size
    from bopbot.ingest.video import decode_frames, probe

    info = probe(clip)
    size = detection_size(info.width, info.height)
    output = [image for _, image in decode_frames(written)]
    stages: dict[str, list[float]] = {"decode": [], "MediaPipe": [], "encode": []}
    frames: list[np.ndarray] = []
    for _ in range(repeat):
        start = time.perf_counter()
        frames = [image for _, image in decode_frames(clip, max(size), fps=20.0)]
        stages["decode"].append(time.perf_counter() - start)
        with bare_pose() as pose:
            start = time.perf_counter()
            for image in frames:
                pose.process(image)
            stages["MediaPipe"].append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as folder:
            start = time.perf_counter()
            write_mp4(output, Path(folder) / "floor.mp4", 20.0)
            stages["encode"].append(time.perf_counter() - start)
    return {name: min(times) for name, times in stages.items()} | {"frames": len(frames), "output": len(output)}


def extraction_ratio(clip: Path, repeat: int) -> tuple[float, float]:
    """Frames/s of `extract_video` (decoding included) and of bare MediaPipe on its frames, decoded."""
    from bopbot.ingest.pose_detector import detection_size, extract_video
    from bopbot.ingest.video import decode_frames, probe

    info = probe(clip)
    frames = [image for _, image in decode_frames(clip, max(detection_size(info.width, info.height)), fps=20.0)]
    bare, ours = [], []
    for _ in range(repeat):
        with bare_pose() as pose:
            start = time.perf_counter()
            for image in frames:
                pose.process(image)
            bare.append(time.perf_counter() - start)
        start = time.perf_counter()
        extract_video(clip)
        ours.append(time.perf_counter() - start)
    return len(frames) / min(ours), len(frames) / min(bare)


def spread(times: list[float]) -> str:
    return f"{statistics.median(times):8.2f} s  [{min(times):.2f}, {max(times):.2f}]"


def encode_seconds(video: Path) -> float:
    """Seconds to encode the frames of `video` (decoded into memory first) with `bopbot dance`'s writer."""
    from bopbot.choreography.render import write_mp4
    from bopbot.ingest.video import decode_frames

    frames = [image for _, image in decode_frames(video)]
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        write_mp4(frames, Path(folder) / "floor.mp4", 20.0)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    clip = make_clip()
    silent = silent_copy(clip)
    dances = {"bopbot demo": (BOPBOT + ["demo", "-o", "demo"], 5),
              "bopbot dance silent-clip.mp4 --seconds 10": (
                  BOPBOT + ["dance", str(silent), "-o", "quiet.mp4", "--seconds", "10"], 10),
              "bopbot dance clip.mp4 --seconds 10": (BOPBOT + ["dance", str(clip), "-o", "out.mp4", "--seconds", "10"], 10)}
    if SONG.exists():
        dances["bopbot dance silent-clip.mp4 ... --music SONG"] = (
            BOPBOT + ["dance", str(silent), "-o", "song.mp4", "--seconds", "10", "--music", str(SONG)], 10)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        help_top = timed(BOPBOT + ["--help"], args.repeat, work)
        help_dance = timed(BOPBOT + ["dance", "--help"], args.repeat, work)
        # round by round, each command once and then the floor, so that a machine speeding up or
        # slowing down over the minutes of the run weighs on every figure alike
        times: dict[str, list[float]] = {name: [] for name in dances}
        floors: list[dict[str, float]] = []
        for _ in range(args.repeat):
            for name, (command, _) in dances.items():
                times[name] += timed(command, 1, work)
            floors.append(floor_stages(clip, work / "out.mp4", 1) | {"demo": encode_seconds(work / "demo" / "bopbot-demo.mp4")})
        with av.open(str(work / "out.mp4")) as written:
            output_size = (written.streams.video[0].width, written.streams.video[0].height)
        size_mb = os.path.getsize(work / "out.mp4") / 1e6
    ours, bare = extraction_ratio(clip, args.repeat)
    floor = {stage: [round_[stage] for round_ in floors] for stage in ("decode", "MediaPipe", "encode", "demo")}
    dance_floor = [d + m + e for d, m, e in zip(floor["decode"], floor["MediaPipe"], floor["encode"])]

    print(f"clip: {clip.name}, {SIZE[0]}x{SIZE[1]}, {SECONDS:g} s at {FPS} fps with music; "
          f"output {output_size[0]}x{output_size[1]}, {floors[0]['output']} frames, {size_mb:.1f} MB; "
          f"{args.repeat} rounds, each command once a round then the floor; median [range]")
    for name, runs in (("bopbot --help", help_top), ("bopbot dance --help", help_dance)):
        print(f"{name:48}{spread(runs):>22}   goal 1 s")
    print(f"\n{'':48}{'wall time':>22}{'its floor':>22}{'ratio':>22}{'goal':>8}")
    for name, (_, goal) in dances.items():
        own_floor = floor["demo"] if name == "bopbot demo" else dance_floor
        ratios = [t / f for t, f in zip(times[name], own_floor)]
        print(f"{name:48}{spread(times[name]):>22}{spread(own_floor):>22}"
              f"{statistics.median(ratios):8.2f}x [{min(ratios):.2f}, {max(ratios):.2f}]{goal:>6} s")
    quiet = times["bopbot dance silent-clip.mp4 --seconds 10"]
    for name, label in (("bopbot dance clip.mp4 --seconds 10", "the clip's own music"),
                        ("bopbot dance silent-clip.mp4 ... --music SONG", "--music SONG")):
        if name in times:
            costs = [t - q for t, q in zip(times[name], quiet)]
            print(f"{'  cost of ' + label + ' (over the silent clip, same round)':60}"
                  f"{statistics.median(costs):+8.2f} s [{min(costs):+.2f}, {max(costs):+.2f}]   (goal: at most +0.50 s)")
    print("\nthe floors, bare stages one after another (each round's; median [range]):")
    decoded = f"decode to RGB at the detector size ({floors[0]['frames']} frames)"
    print(f"{decoded:60}{spread(floor['decode'])}")
    print(f"{'bare MediaPipe on those frames':60}{spread(floor['MediaPipe'])}")
    print(f"{'x264 encode of the ' + str(floors[0]['output']) + ' output frames':60}{spread(floor['encode'])}")
    print(f"{'a dance: the sum of the three':60}{spread(dance_floor)}")
    print(f"{'the demo: x264 encode of its output frames':60}{spread(floor['demo'])}")
    print(f"\nextraction: extract_video {ours:.1f} frames/s (decoding included), bare MediaPipe on the "
          f"decoded frames {bare:.1f} frames/s: {ours / bare:.2f}x (goal: at least 0.90x)")


if __name__ == "__main__":
    main()
