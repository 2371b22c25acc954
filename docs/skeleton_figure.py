"""Makes docs/skeleton.png: how BopBot's skeletons compare with OpenPose's on a real dance frame.

Top row, one frame of `openpose/tsnet/00110` (1920x1080, OpenPose's own keypoints beside it): the
frame; OpenPose's BODY_25 keypoints for it, drawn in the convention; the keypoints BopBot's detector
finds on the same frame, exported as OpenPose JSON and drawn the same way. Bottom row: the skeleton
video `bopbot dance --layout skeleton` makes of a phone clip, its last frame of the user and then
the new dance every 1.5 s.

Run: .venv/bin/python docs/skeleton_figure.py   (needs ../shared/data)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image, ImageDraw

from bopbot.choreography.export import draw_skeleton
from bopbot.ingest.extract import ExtractOptions, extract
from bopbot.ingest.pose_detector import detect_images

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
OPENPOSE = DATA / "openpose" / "tsnet" / "00110"
FRAME = 15
CLIP = DATA / "dance_videos" / "animatex_dance_2.mp4"
TILE_HEIGHT = 300


def _tile(image: np.ndarray, label: str) -> Image.Image:
    tile = Image.fromarray(image).convert("RGB")
    tile = tile.resize((round(tile.width * TILE_HEIGHT / tile.height), TILE_HEIGHT), Image.LANCZOS)
    ImageDraw.Draw(tile).text((8, 6), label, fill=(255, 255, 255))
    return tile


def _row(tiles: list[Image.Image]) -> Image.Image:
    row = Image.new("RGB", (sum(t.width for t in tiles) + 6 * (len(tiles) - 1), TILE_HEIGHT))
    x = 0
    for tile in tiles:
        row.paste(tile, (x, 0))
        x += tile.width + 6
    return row


def main() -> None:
    image_path = sorted((OPENPOSE / "images").iterdir())[FRAME]
    frame = cv2.cvtColor(cv2.imread(str(image_path)), cv2.COLOR_BGR2RGB)
    height, width = frame.shape[:2]
    theirs = extract(OPENPOSE, ExtractOptions(source_fps=20.0))[0].keypoints[FRAME]
    ours = detect_images([image_path])[0]
    black = np.zeros((height, width, 3), dtype=np.uint8)
    top = _row([_tile(frame, "frame"), _tile(draw_skeleton(black.copy(), theirs), "OpenPose's keypoints"),
                _tile(draw_skeleton(black.copy(), ours), "BopBot's keypoints")])
    with tempfile.TemporaryDirectory() as folder:
        video = Path(folder) / "skeleton.mp4"
        subprocess.run([sys.executable, "-m", "bopbot", "dance", str(CLIP), "-o", str(video), "--seconds", "6",
                        "--seed", "0", "--layout", "skeleton"], check=True)
        with av.open(str(video)) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    user_frames = len(extract(CLIP)[0].keypoints)
    picks = [user_frames - 1] + [user_frames + round(20 * s) for s in (1.5, 3.0, 4.5)]
    bottom = _row([_tile(frames[i], "the user" if i < user_frames else f"new, +{(i - user_frames) / 20:.1f} s")
                   for i in picks])
    figure = Image.new("RGB", (max(top.width, bottom.width), 2 * TILE_HEIGHT + 6))
    figure.paste(top, (0, 0))
    figure.paste(bottom, (0, TILE_HEIGHT + 6))
    figure.save(ROOT / "docs" / "skeleton.png", optimize=True)
    print(f"wrote {ROOT / 'docs' / 'skeleton.png'}")


if __name__ == "__main__":
    main()
