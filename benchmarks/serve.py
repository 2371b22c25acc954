"""The web page against `bopbot dance` and the floor: the same clip and settings, timed side by side.

The clip is `benchmarks/dance.py`'s (a 12 s 1080x1920 phone clip, made once in build/benchmarks/).
Round by round (`--repeat` rounds; the median and the range of each figure):
  * `bopbot dance clip.mp4 -o out.mp4 --seconds 10`, as a user runs it (a new process), and the
    same with `--gif`;
  * the page: `bopbot serve` on a free local port, and a `gradio_client` upload of the same clip with
    the same settings, from the upload to the video on this side, and to the GIF after it (its own
    step, `/gif`, which the page chains after the video);
  * the floor of the dance (`benchmarks/dance.py`'s: bare decoding, MediaPipe and x264 encoding of
    the output's frames, one after another).
The page's first dance, sent the moment the page is up while it still loads its model, is timed
on its own before the rounds. Goal: the page's video at most 1 s over the floor, the first too.

Run: .venv/bin/python benchmarks/serve.py [--repeat N]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from dance import BOPBOT, floor_stages, make_clip  # noqa: E402


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _summary(times: list[float]) -> str:
    return f"{statistics.median(times):.1f} s [{min(times):.1f}, {max(times):.1f}]"


def page_dance(client, clip: Path, seed: int) -> tuple[float, float]:
    """Seconds from sending `clip` to the page to its video, and to its GIF after it (the next step,
    `/gif`, as the page's button chains it)."""
    from gradio_client import handle_file

    started = time.monotonic()
    client.predict(handle_file(str(clip)), 10, "gpt2", 1.0, seed, "continue", None, api_name="/dance")
    video = time.monotonic() - started
    client.predict(api_name="/gif")
    return video, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    clip = make_clip()
    out = Path(tempfile.mkdtemp(prefix="bopbot-bench-serve-"))

    from gradio_client import Client

    from bopbot.app.serve import serve

    running = serve(port=_free_port(), block=False)
    client = Client(running.url, verbose=False)
    first_video, first_gif = page_dance(client, clip, 0)
    times: dict[str, list[float]] = {name: [] for name in ("cli", "cli gif", "page video", "page gif", "floor")}
    for run in range(args.repeat):
        for name, extra in (("cli", []), ("cli gif", ["--gif"])):
            started = time.monotonic()
            subprocess.run(BOPBOT + ["dance", str(clip), "-o", str(out / f"{name}{run}.mp4".replace(" ", "_")),
                                     "--seconds", "10", "--seed", str(run)] + extra, check=True, capture_output=True)
            times[name].append(time.monotonic() - started)
        video, gif = page_dance(client, clip, run + 1)
        times["page video"].append(video)
        times["page gif"].append(gif)
        stages = floor_stages(clip, out / f"cli{run}.mp4", 1)
        times["floor"].append(stages["decode"] + stages["MediaPipe"] + stages["encode"])
    running.close()
    shutil.rmtree(out, ignore_errors=True)  # the dances written; the figures are all that is kept
    print(f"{'':<52}{'median [range]':>24}")
    for label, name in (("the floor (bare decode, MediaPipe, x264)", "floor"), ("bopbot dance (a new process each)", "cli"),
                        ("bopbot dance --gif", "cli gif"), ("the page: its video", "page video"),
                        ("the page: its GIF after it", "page gif")):
        print(f"{label:<52}{_summary(times[name]):>24}")
    print(f"{'the page, first dance (model still loading): video':<52}{first_video:>21.1f} s")
    print(f"{'the page, first dance: its GIF':<52}{first_gif:>21.1f} s")
    over = [video - floor for video, floor in zip(times["page video"], times["floor"])]
    floor = statistics.median(times["floor"])
    print(f"page's video - the floor, same round: {statistics.median(over):+.1f} s [{min(over):+.1f}, {max(over):+.1f}] "
          f"(goal: at most +1 s); first dance: {first_video - floor:+.1f} s over the rounds' median floor")


if __name__ == "__main__":
    main()
