"""`bopbot dance` wall time on a 10 s clip against the clip's own duration, stage by stage.

The first 10 s of ../shared/data/videos/hybrik_taiji.mp4 (1280x720, with audio) are cut into a
temporary file; the embedded default model then continues it for 10 s (`--layout continue`), and
the time of each stage is printed beside the clip's duration.

Run: .venv/bin/python benchmarks/dance.py [--seconds N] [--model DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av

from bopbot.choreograph import Sampling
from bopbot.dance import choreograph, layout_frames, read_user_dance
from bopbot.model_folder import Choreographer
from bopbot.pose_sequence import CORPUS_FPS
from bopbot.render import write_mp4

CLIP = Path(__file__).resolve().parents[2] / "shared" / "data" / "videos" / "hybrik_taiji.mp4"


def cut(source: Path, seconds: float, out: Path) -> None:
    """Copy the first `seconds` of `source` (video and audio packets, no re-encoding)."""
    with av.open(str(source)) as reader, av.open(str(out), "w") as writer:
        streams = {s.index: writer.add_stream_from_template(s) for s in reader.streams if s.type in ("video", "audio")}
        for packet in reader.demux(*[reader.streams[i] for i in streams]):
            if packet.dts is None:
                continue
            if packet.pts is not None and packet.pts * packet.time_base > seconds:
                continue
            packet.stream = streams[packet.stream.index]
            writer.mux(packet)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "clip.mp4"
        cut(CLIP, args.seconds, clip)
        stages = {}
        start = time.perf_counter()
        choreographer = Choreographer.load(args.model)
        stages["load the model"] = time.perf_counter() - start
        mark = time.perf_counter()
        user = read_user_dance(clip)
        stages["extract the dance (MediaPipe)"] = time.perf_counter() - mark
        mark = time.perf_counter()
        _, _, keypoints = choreograph(choreographer, user, args.seconds, Sampling(seed=0))
        stages["write the continuation (GPT-2)"] = time.perf_counter() - mark
        mark = time.perf_counter()
        frames, _ = layout_frames("continue", user, keypoints)
        count = write_mp4(frames, Path(folder) / "out.mp4", CORPUS_FPS, audio=user.audio)
        stages["render and encode the MP4"] = time.perf_counter() - mark
        total = time.perf_counter() - start
    duration = len(user.sequence) / CORPUS_FPS
    print(f"clip: {duration:.1f} s; continuation: {args.seconds:.0f} s; output: {count} frames")
    print(f"{'':36}{'seconds':>10}")
    for name, seconds in stages.items():
        print(f"{name:36}{seconds:10.1f}")
    print(f"{'bopbot dance, total':36}{total:10.1f}")
    print(f"{'the clip itself (real time)':36}{duration:10.1f}")
    print(f"wall time / clip duration: {total / duration:.2f}x")


if __name__ == "__main__":
    main()
