"""Makes docs/bopbot-dance.png, the README's picture: a held-out phone clip's last two frames, then the bopbot
dancer carrying on, one frame every 0.8 s, all made by `bopbot dance` with the embedded model.

Run: .venv/bin/python docs/dance_figure.py   (needs ../shared/data)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT.parent / "shared" / "data" / "dance_videos" / "xdyna_driving_4.mp4"  # held out from training
COMMAND = ["dance", str(CLIP), "--seconds", "6", "--seed", "3"]
FPS = 20
HEIGHT = 320


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "uni.mp4"
        subprocess.run([sys.executable, "-m", "bopbot", *COMMAND, "-o", str(video)], check=True)
        with av.open(str(video)) as container:
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    new = int(6 * FPS)
    clip_end = len(frames) - new
    picks = [clip_end - 12, clip_end - 1] + list(range(clip_end + 8, len(frames), int(0.8 * FPS)))[:6]
    cells = []
    for index in picks:
        picture = Image.fromarray(frames[index])
        cells.append(np.asarray(picture.resize((round(picture.width * HEIGHT / picture.height), HEIGHT))))
    Image.fromarray(np.concatenate(cells, axis=1)).save(ROOT / "docs" / "bopbot-dance.png")


if __name__ == "__main__":
    main()
